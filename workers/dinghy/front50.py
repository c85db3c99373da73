"""Front50 as Dinghy uses it: reads by query, writes by command, each write awaited to its answer.

Front50 answers every command with one event whose ``causationid`` is the command's id (saved,
deleted, or ``front50.command.rejected``). Dinghy's private event subscription (``front50.#``)
resolves a future per command id; the future is registered before the command is sent, so no
answer goes unseen. Should this process die while it waits, the push command it handles is not
acknowledged and is handled again from the start: every write is an upsert by id (new pipelines
get an id derived from application and name), so doing it twice changes nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from bus import Envelope, MessageContext
from bus.context import Sender
from schemas.authority import Authority
from schemas.base import Command, Event
from schemas.front50 import (
    ApplicationFound,
    CommandRejected,
    DeletePipeline,
    GetApplication,
    ListPipelineConfigs,
    PipelineList,
    SaveApplication,
    SaveNotifications,
    SavePipeline,
)

ANSWER_TIMEOUT = 30.0
_PIPELINE_IDS = uuid.UUID("5c1b1f0e-6d1a-4f57-9d55-1d1e8a5b2c9d")


class Front50Refused(Exception):
    """Front50 rejected a write (``status`` as HTTP: 400, 403, 404, 409)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"Front50 refused ({status}): {reason}")
        self.status = status


def pipeline_id(application: str, name: str) -> str:
    """The id Dinghy gives a pipeline it creates: the same on every retry of the same push."""
    return str(uuid.uuid5(_PIPELINE_IDS, f"{application.lower()}/{name}"))


@dataclass
class Answers:
    """Futures of the commands this process waits on, resolved by the ``front50.#`` subscription."""

    waiting: dict[str, asyncio.Future[Event]] = field(default_factory=dict)

    async def on_event(self, event: Event, context: MessageContext) -> None:
        future = self.waiting.get(context.envelope.causationid or "")
        if future is not None and not future.done():
            future.set_result(event)

    async def call(self, bus: Sender, command: Command, caused_by: Envelope, timeout: float = ANSWER_TIMEOUT) -> Event:
        envelope = bus.envelope(command, caused_by=caused_by)
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self.waiting[envelope.id] = future
        try:
            await bus.send_envelope(envelope, to="front50")
            answer = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"Front50 did not answer {type(command).__name__} within {timeout:.0f} s") from None
        finally:
            self.waiting.pop(envelope.id, None)
        if isinstance(answer, CommandRejected):
            raise Front50Refused(answer.status, answer.reason)
        return answer


@dataclass
class Front50:
    """Front50's reads and writes on behalf of one handled message, acting as ``authority``."""

    context: MessageContext
    answers: Answers
    authority: Authority
    query_timeout: float = 5.0

    async def application(self, name: str) -> dict[str, Any] | None:
        reply = await self.context.ask(GetApplication(name=name), timeout=self.query_timeout)
        assert isinstance(reply, ApplicationFound)
        return reply.application

    async def pipelines(self, application: str) -> list[dict[str, Any]]:
        reply = await self.context.ask(ListPipelineConfigs(application=application), timeout=self.query_timeout)
        assert isinstance(reply, PipelineList)
        return list(reply.pipelines)

    async def save_application(self, application: dict[str, Any]) -> None:
        await self.answers.call(
            self.context.bus, SaveApplication(application=application, authority=self.authority), self.context.envelope
        )

    async def save_pipeline(self, pipeline: dict[str, Any]) -> None:
        await self.answers.call(
            self.context.bus, SavePipeline(pipeline=pipeline, authority=self.authority), self.context.envelope
        )

    async def save_notifications(self, application: str, notifications: dict[str, Any]) -> None:
        command = SaveNotifications(application=application, notifications=notifications, authority=self.authority)
        await self.answers.call(self.context.bus, command, self.context.envelope)

    async def delete_pipeline(self, application: str, name: str) -> None:
        command = DeletePipeline(application=application, name=name, authority=self.authority)
        await self.answers.call(self.context.bus, command, self.context.envelope)
