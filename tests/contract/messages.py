"""Messages that exist only for the bus contract suite, registered in the process-wide registry."""

from __future__ import annotations

from typing import Any, ClassVar

from schemas import Command, Event, ExternalEvent, Query, Reply, message, registry


@message
class DoWork(Command):
    """A command the suite sends to a throwaway service."""

    message_type: ClassVar[str] = "contract.DoWork"
    job: str
    fail_times: int = 0


@message
class Answer(Reply):
    """The reply to :class:`AskSomething`."""

    message_type: ClassVar[str] = "contract.Answer"
    text: str


@message
class AskSomething(Query):
    """A query the suite's throwaway service answers (or sleeps on, to test deadlines)."""

    message_type: ClassVar[str] = "contract.AskSomething"
    reply_model: ClassVar[type[Reply]] = Answer
    question: str
    delay: float = 0.0


@message
class Probe(Event):
    """An event with a one-word suffix: matched by ``contract.*``."""

    message_type: ClassVar[str] = "contract.probe"
    n: int


@message
class StageCompleted(Event):
    """An event with a two-word suffix: matched by ``contract.#`` but not by ``contract.*``."""

    message_type: ClassVar[str] = "contract.stage.completed"
    n: int


@message
class Noticed(ExternalEvent):
    """An event outsiders may publish: handled when it comes through the external path."""

    message_type: ClassVar[str] = "contract.outside.noticed"
    n: int
    fail_times: int = 0


@message
class Greet(Command):
    """Version 2 renamed ``name`` to ``full_name``; version 1 messages are upcast on receipt."""

    message_type: ClassVar[str] = "contract.Greet"
    message_version: ClassVar[int] = 2
    full_name: str


@registry.upcaster("contract.Greet", 1)
def _greet_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"full_name": data["name"]}
