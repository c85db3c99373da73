"""The handlers doing the I/O of Orca's own stage types (see :mod:`schemas.orca_stages`), wired by
:func:`workers.orca.engine.build_engine` next to the engine's own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bus import Bus, Handler
from gennaker.outbound import OutboundClient
from schemas.orca_engine import ExecutionCompleted, StageCompleted
from schemas.orca_stages import CallWebhook, StartChildPipeline
from schemas.outbound import OutboundSettings
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.commit import Commit
from workers.orca.engine.effects.pipeline_io import ChildPipelines
from workers.orca.engine.effects.webhook_http import WebhookCalls
from workers.orca.engine.store import ExecutionStore


@dataclass(frozen=True)
class StageIO:
    """Command and event handlers, and background loops, to add to Orca's endpoints."""

    commands: dict[str, Handler] = field(default_factory=dict)
    events: dict[str, Handler] = field(default_factory=dict)
    background: list[Callable[[Bus], Awaitable[None]]] = field(default_factory=list)


EVENT_PATTERNS = (ExecutionCompleted.message_type, StageCompleted.message_type)
"""Orca's own events its stage types follow (a child pipeline finishing, a parent stage ending)."""


def stage_io(
    store: ExecutionStore,
    commit: Commit,
    access: AccessPolicy | None = None,
    outbound: OutboundSettings | None = None,
) -> StageIO:
    webhooks = WebhookCalls(commit, OutboundClient(outbound or OutboundSettings()))
    children = ChildPipelines(store, commit, access)
    return StageIO(
        commands={
            CallWebhook.message_type: webhooks.call_webhook,
            StartChildPipeline.message_type: children.start_child_pipeline,
        },
        events={
            ExecutionCompleted.message_type: children.execution_completed,
            StageCompleted.message_type: children.stage_completed,
        },
        background=[webhooks.run, children.run],
    )
