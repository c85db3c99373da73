"""Cancelling a canary run Orca no longer waits for (Orca's ``RunCanaryPipelineStage.cancel``).

Kayenta follows ``orca.stage.completed``: once a ``runCanary`` stage has ended — cancelled with its
pipeline, timed out, skipped — every run of that stage still in progress is stored as cancelled
(``status: canceled``, ``executionStatus: CANCELED``, "Canary execution was canceled."), and a run
in progress in this process stops fetching at once. The run's own handler then finds it cancelled,
stores nothing over it and announces it (``kayenta.canary.completed`` with status ``canceled``); a
run in another process finds it so when it finishes its fetch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import structlog

from bus.context import MessageContext
from schemas.json_types import Json
from schemas.orca_engine import StageCompleted
from workers.kayenta.store import KayentaStore

CANCELED_MESSAGE = "Canary execution was canceled."
RUN_CANARY = "runCanary"
log = structlog.get_logger("gennaker.kayenta")


class Canceled(Exception):
    """The run was cancelled while it fetched or judged."""


class RunningCanaries:
    """The runs in progress in this process, so a cancel can stop them."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def run[T](self, execution_id: str, work: Coroutine[Any, Any, T]) -> T:
        """Do ``work`` for ``execution_id``; raises :class:`Canceled` when :meth:`cancel` stopped it."""
        task = asyncio.create_task(work, name=f"canary run {execution_id}")
        self._tasks[execution_id] = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the handler itself is being stopped
            raise Canceled(execution_id) from None
        finally:
            self._tasks.pop(execution_id, None)

    def cancel(self, execution_id: str) -> bool:
        """Stop the run ``execution_id`` if it is in progress here."""
        task = self._tasks.get(execution_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True


def canceled(execution: Json, now_ms: int) -> Json:
    """``execution`` as a cancelled one."""
    return {
        **execution,
        "status": "canceled",
        "executionStatus": "CANCELED",
        "complete": True,
        "exception": {"message": CANCELED_MESSAGE},
        "endTimeMillis": now_ms,
    }


class StageCancellation:
    """``orca.stage.completed``'s handler: cancel the runs of a ``runCanary`` stage that has ended."""

    def __init__(self, store: KayentaStore, running: RunningCanaries) -> None:
        self.store = store
        self.running = running

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        """Cancel what still runs for the stage (nothing, once Kayenta has answered)."""
        if event.stage_type != RUN_CANARY:
            return
        for execution in await self.store.running_of_stage(event.execution_id, event.stage_id):
            if await self.store.finish_execution(canceled(execution, int(time.time() * 1000))):
                stopped = self.running.cancel(str(execution["id"]))
                log.info("kayenta.canary_canceled", execution_id=execution["id"], status=event.status, here=stopped)
