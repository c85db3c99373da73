"""Commands Orca sends itself to do the I/O of its own stage types outside a state transition.

A task is a pure function of its stage, so a stage type that must talk to the world (an HTTP call,
a question to Front50) records what it is about to do in the stage's context and, in the same
write, sends one of these commands to Orca (``to="orca"``). Its handler does the I/O once per
``attempt`` and records the answer in the stage's context, then runs the task again; an answer
for an attempt the task no longer awaits is ignored. Delivery is at-least-once, so the I/O of one
attempt may happen twice if a worker dies between doing it and recording it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority, upcast_user_to_authority
from schemas.base import Command
from schemas.json_types import Json
from schemas.registry import message, registry


@message
class CallWebhook(Command):
    """Make attempt ``attempt`` of a ``webhook`` stage's HTTP request and record the response.

    ``idempotency_key`` goes out as the ``Idempotency-Key`` header (unless ``headers`` set one):
    the same on every attempt of the same request of the same stage attempt (derived from the
    execution, stage, task, the task's run and which request it is), so the endpoint can drop a
    repeat. ``retry_reason`` says why an attempt after the first is made (what the last one got).
    """

    message_type: ClassVar[str] = "orca.CallWebhook"
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    method: str = "POST"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    payload: Any = None
    timeout_seconds: float = Field(30.0, ge=0.1)
    idempotency_key: str | None = Field(None, min_length=1, max_length=255)
    retry_reason: str | None = None


@message
class StartChildPipeline(Command):
    """Fetch pipeline config ``pipeline_config_id`` from Front50 and start it as execution
    ``child_execution_id`` (derived from the parent stage, so a repeat starts nothing new)."""

    message_type: ClassVar[str] = "orca.StartChildPipeline"
    message_version: ClassVar[int] = 2
    execution_id: str = Field(min_length=1)
    stage_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    child_execution_id: str = Field(min_length=1)
    application: str | None = None
    pipeline_config_id: str = Field(min_length=1)
    trigger: Json = Field(default_factory=dict)
    authority: Authority = Field(description=ACTS_FOR)


registry.upcaster(StartChildPipeline.message_type, 1)(upcast_user_to_authority)
