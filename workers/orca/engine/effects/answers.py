"""The transitions of a task's call: claiming it before doing it, and recording its answer (then
running the task again to judge it).

A command finding its attempt claimed but unanswered (:attr:`Claim.TAKEN`) is most often a
redelivery: the worker that claimed it died, or its handler failed, before the answer was stored.
The caller decides what that means for its call: one that can be made again safely makes it again;
one that cannot runs the task again (:func:`rerun`), whose deadline for a claimed call is then the
request's own timeout rather than the longer one of a command still waiting in a queue.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Protocol

from schemas.json_types import Json
from workers.orca.engine.model import Execution
from workers.orca.engine.outgoing import Outgoing, start_task
from workers.orca.engine.stages import calls
from workers.orca.engine.status import ExecutionStatus

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


class Claim(Enum):
    """What claiming an attempt found."""

    WON = "won"
    """This handler claimed it: make the call."""
    TAKEN = "taken"
    """Another handler claimed it and has stored no answer (it died, failed, or is still at it)."""
    DONE = "done"
    """Answered, given up on, or no longer awaited (canceled, timed out): do nothing."""


async def claim(commit: Commit, command: CallCommand, key: str, context: MessageContext) -> Claim:
    """Claim ``command``'s attempt in one stored write, unless it is taken or done already."""
    claimed: list[Claim] = [Claim.DONE]
    await commit.apply(
        command.execution_id,
        lambda ex, at: claim_call(ex, command.stage_id, command.task_id, command.attempt, key, claimed, at),
        context.bus,
        caused_by=context.envelope,
    )
    return claimed[0]


async def rerun(commit: Commit, command: CallCommand, key: str, context: MessageContext) -> None:
    """Run the task of ``command``'s attempt again now, if it still awaits that attempt's answer."""
    await commit.apply(
        command.execution_id,
        lambda ex, at: rerun_task(ex, command.stage_id, command.task_id, command.attempt, key, at),
        context.bus,
        caused_by=context.envelope,
    )


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
    execution: Execution, stage_id: str, task_id: str, attempt: int, key: str, claimed: list[Claim], now: int
) -> list[Outgoing]:
    """Mark ``attempt`` as being done, so only one handler does it; ``claimed[0]`` says what was found."""
    found = calls.awaited(execution, stage_id, task_id, attempt, key)
    if found is None:
        claimed[:] = [Claim.DONE]
        return []
    stage, _ = found
    if stage.context[key].get("claimedAt") is not None:
        claimed[:] = [Claim.TAKEN]
        return []
    claimed[:] = [Claim.WON]
    stage.context[key] = {**stage.context[key], "claimedAt": now}
    return []


def rerun_task(execution: Execution, stage_id: str, task_id: str, attempt: int, key: str, now: int) -> list[Outgoing]:
    """Run the task awaiting ``attempt``'s answer again now (a RUNNING one; a PAUSED one runs on resume)."""
    found = calls.awaited(execution, stage_id, task_id, attempt, key)
    if found is None:
        return []
    stage, task = found
    if task.status is not ExecutionStatus.RUNNING or execution.status is not ExecutionStatus.RUNNING:
        return []
    return [start_task(execution, stage, task, task.start_time or now)]
