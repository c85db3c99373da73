"""What a stage type is to the engine: a list of tasks, each a function of the stage that says
how it went (Orca's ``StageDefinitionBuilder`` and ``Task``).

A task never waits: it returns RUNNING with ``backoff_ms`` to be run again later through a durable
timer, or with ``backoff_ms=None`` to be run again when something happens to its stage (a
judgment, an answer from another service, a context update).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.base import Command
from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage, Task
from workers.orca.engine.status import ExecutionStatus


@dataclass(frozen=True)
class TaskRun:
    """One run of a task: the execution, its stage and task as stored, and the time."""

    execution: Execution
    stage: Stage
    task: Task
    now: int


@dataclass(frozen=True)
class Outbound:
    """A command a task sends to another service (``to``); ``envelope_id``, when given, is the id
    its envelope carries, so the task can tell the answer to it (``causationid``) from any other."""

    command: Command
    to: str
    envelope_id: str | None = None


@dataclass(frozen=True)
class TaskResult:
    """How a run went. ``context`` is merged into the stage's context, ``outputs`` into its outputs.

    ``status`` RUNNING means "not yet"; any other is the task's final status (TERMINAL becomes what
    the stage's failure options say). ``error`` is recorded as the stage's ``exception``.
    """

    status: ExecutionStatus
    context: Json = field(default_factory=dict)
    outputs: Json = field(default_factory=dict)
    backoff_ms: int | None = None
    error: str | None = None
    send: Sequence[Outbound] = ()
    attempt: int | None = None

    @classmethod
    def running(
        cls, backoff_ms: int | None = None, *, send: Sequence[Outbound] = (), attempt: int | None = None
    ) -> TaskResult:
        return cls(ExecutionStatus.RUNNING, backoff_ms=backoff_ms, send=send, attempt=attempt)

    @classmethod
    def succeeded(cls, outputs: Json | None = None, context: Json | None = None) -> TaskResult:
        return cls(ExecutionStatus.SUCCEEDED, context=context or {}, outputs=outputs or {})

    @classmethod
    def terminal(cls, error: str, context: Json | None = None) -> TaskResult:
        return cls(ExecutionStatus.TERMINAL, context=context or {}, error=error)


class TaskDefinition(Protocol):
    """One kind of task: ``name`` as shown in the execution, ``run`` as a pure function of the run."""

    @property
    def name(self) -> str: ...

    def run(self, run: TaskRun) -> TaskResult: ...


class StageDefinition(Protocol):
    """One stage type: its ``type`` as pipelines spell it and the tasks a stage of it runs, in order."""

    @property
    def type(self) -> str: ...

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]: ...


def positive_int(value: Any) -> int | None:
    """A stage setting that must be a positive number (``stageTimeoutMs``, ``taskRetries``…), as an
    int; ``None`` when absent or not one (booleans included), so the default applies."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value)
