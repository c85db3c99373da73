"""Stopping a Terraform run Orca no longer waits for.

Terraformer follows ``orca.stage.completed``: once a ``terraform`` stage has ended (cancelled with
its pipeline, timed out, skipped) its runs still RUNNING are marked ``cancel_requested`` in the
store. Whichever Terraformer runs one sees the mark at its next heartbeat and stops Terraform the
way Terraform wants to be stopped (SIGINT, then SIGKILL after the grace), so the state lock is
released; the run answers CANCELED.
"""

from __future__ import annotations

import structlog

from bus.context import MessageContext
from schemas.orca_engine import StageCompleted
from workers.terraformer.store import TerraformerStore

STAGE_TYPE = "terraform"
log = structlog.get_logger("gennaker.terraformer")


class StageCancellation:
    """``orca.stage.completed``'s handler: ask the runs of a ``terraform`` stage that ended to stop."""

    def __init__(self, store: TerraformerStore) -> None:
        self.store = store

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        """Mark what still runs for the stage (nothing, once Terraformer has answered)."""
        if event.stage_type != STAGE_TYPE:
            return
        asked = await self.store.request_cancel(event.execution_id, event.stage_id)
        if asked:
            log.info("terraformer.cancel_requested", execution_id=event.execution_id, stage_id=event.stage_id)
