"""The transitions of a task's call: claiming it before doing it, and recording its answer (then
running the task again to judge it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from workers.orca.engine.model import Execution, Json
from workers.orca.engine.stages import calls
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.transitions import Outgoing, start_task

if TYPE_CHECKING:
    from bus import MessageContext
    from workers.orca.engine.commit import Commit


class CallCommand(Protocol):
    """What every command that makes a task's call carries: which attempt of which task."""

    @property
    def execution_id(self) -> str: ...
    @property
    def stage_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def attempt(self) -> int: ...


async def claim(commit: Commit, command: CallCommand, key: str, context: MessageContext) -> bool:
    """Claim ``command``'s attempt in one stored write; False when it is done, being done or no
    longer awaited (canceled, timed out), and the caller must then do nothing."""
    claimed: list[bool] = [False]
    await commit.apply(
        command.execution_id,
        lambda ex, at: claim_call(ex, command.stage_id, command.task_id, command.attempt, key, claimed, at),
        context.bus,
        caused_by=context.envelope,
    )
    return claimed[0]


async def answer(
    commit: Commit, command: CallCommand, key: str, result: Json, context: MessageContext
) -> Execution | None:
    """Store the call's ``result`` for its attempt and run the task again to judge it."""
    return await commit.apply(
        command.execution_id,
        lambda ex, at: record_answer(ex, command.stage_id, command.task_id, command.attempt, key, result, at),
        context.bus,
        caused_by=context.envelope,
    )


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
