"""One table: the transition each of Orca's own messages applies, every entry of one signature.

Each entry is ``(transitions, execution, message, now) -> outgoing``: it unpacks what the message
carries (a stage id, the acting user, a judgment) into the call of its
:class:`~workers.orca.engine.transitions.Transitions` method. The handlers
(:mod:`workers.orca.engine.handlers`) and the in-commit settling of quick steps
(:mod:`workers.orca.engine.settle`) both take the transition from here, so a message is applied
alike whichever way it arrives. ``StartExecution`` is not here: its handler creates the execution
first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.base import Message
from schemas.orca_engine import (
    CancelExecution,
    CompleteExecution,
    CompleteStage,
    CompleteTask,
    ContinueRollback,
    ExternalTaskCompleted,
    ExternalTaskHeartbeat,
    JudgeStage,
    PauseExecution,
    RestartStage,
    ResumeExecution,
    RunTask,
    SkipStage,
    StartStage,
    UpdateStage,
)
from workers.orca.engine.model import Execution
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.transitions import Transitions

Entry = Callable[[Transitions, Execution, Any, int], list[Outgoing]]
"""``entry(transitions, execution, message, now)``: the transition ``message`` applies."""
Step = Callable[[Execution, int], list[Outgoing]]
"""``step(execution, now)``: one transition with its message bound (what :class:`Commit` applies)."""


def _judgment(message: JudgeStage) -> dict[str, Any]:
    return {"judgmentStatus": message.judgment_status, "judgmentInput": message.input}


TRANSITIONS: dict[type[Message], Entry] = {
    StartStage: lambda t, ex, m, at: t.start_stage(ex, m.stage_id, at),
    RunTask: lambda t, ex, m, at: t.run_task(ex, m, at),
    CompleteTask: lambda t, ex, m, at: t.complete_task(ex, m, at),
    CompleteStage: lambda t, ex, m, at: t.complete_stage(ex, m.stage_id, at),
    CompleteExecution: lambda t, ex, m, at: t.complete_execution(ex, at),
    ContinueRollback: lambda t, ex, m, at: t.continue_rollback(ex, at),
    CancelExecution: lambda t, ex, m, at: t.cancel_execution(ex, m.authority.user, m.reason, at),
    PauseExecution: lambda t, ex, m, at: t.pause_execution(ex, m.authority.user, at),
    ResumeExecution: lambda t, ex, m, at: t.resume_execution(ex, m.authority.user, at),
    SkipStage: lambda t, ex, m, at: t.skip_stage(ex, m.stage_id, at),
    RestartStage: lambda t, ex, m, at: t.restart_stage(ex, m.stage_id, m.authority.user, at),
    JudgeStage: lambda t, ex, m, at: t.judge_stage(ex, m.stage_id, _judgment(m), m.authority.user, at),
    UpdateStage: lambda t, ex, m, at: t.update_stage(ex, m.stage_id, m.context, m.authority.user, at),
    ExternalTaskCompleted: lambda t, ex, m, at: t.external_task_completed(ex, m, at),
    ExternalTaskHeartbeat: lambda t, ex, m, at: t.external_task_heartbeat(ex, m, at),
}
"""Keyed by message class; a subclass (each service's ``*.task.completed`` event) uses its base's entry."""


def step_of(transitions: Transitions, message: Message) -> Step | None:
    """The transition ``message`` applies, bound to it; ``None`` for a message not in the table."""
    entry = next((TRANSITIONS[kind] for kind in type(message).__mro__ if kind in TRANSITIONS), None)
    if entry is None:
        return None
    found: Entry = entry
    return lambda execution, now: found(transitions, execution, message, now)
