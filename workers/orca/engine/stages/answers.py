"""The transitions of a task's call: claiming it before doing it, and recording its answer (then
running the task again to judge it)."""

from __future__ import annotations

from workers.orca.engine.model import Execution, Json
from workers.orca.engine.stages import calls
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.transitions import Outgoing, start_task


def record_answer(
    execution: Execution, stage_id: str, task_id: str, attempt: int, key: str, answer: Json, now: int
) -> list[Outgoing]:
    """Store ``answer`` for ``attempt`` if the task still awaits it; a RUNNING task runs again now
    (a PAUSED one when resumed). Idempotent: a second answer to the same attempt changes nothing."""
    found = calls.awaited(execution, stage_id, task_id, attempt, key)
    if found is None:
        return []
    stage, task = found
    stage.context[key] = {**stage.context[key], "answer": answer}
    if task.status is not ExecutionStatus.RUNNING or execution.status is not ExecutionStatus.RUNNING:
        return []
    return [start_task(execution, stage, task, task.start_time or now)]


def claim_call(
    execution: Execution, stage_id: str, task_id: str, attempt: int, key: str, claimed: list[bool], now: int
) -> list[Outgoing]:
    """Mark ``attempt`` as being done, so only one handler does it; ``claimed[0]`` says if this one won."""
    claimed[:] = [calls.claimable(execution, stage_id, task_id, attempt, key)]
    if claimed[0]:
        stage = execution.stage(stage_id)
        assert stage is not None
        stage.context[key] = {**stage.context[key], "claimedAt": now}
    return []
