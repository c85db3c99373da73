"""A task's call to the outside world, kept in its stage's context so a task stays a pure function.

The task records the call (``attempt``, when it was sent) in the same write that sends the command
doing it (:mod:`schemas.orca_stages`); the command's handler records the ``answer`` and runs the
task again (:func:`workers.orca.engine.effects.answers.record_answer`). The record names the task
run it belongs to (task id and start time), so a restarted stage never reads an old answer.

    {"taskId": "1", "taskStart": 1700000000000, "attempt": 2, "sentAt": …, "failures": 1,
     "claimedAt": … (when a handler took the call on), "answer": {…} | None,
     "request": 1 (which request of the run; retries repeat it), "idempotencyKey": …,
     "nextAt": … (when the next attempt is due, once the answer is judged)}

A handler claims the call (a stored write) before doing it, so a redelivered command does nothing;
if the claimer dies, the task's own deadline gives up on the attempt and makes the next one.
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage, Task
from workers.orca.engine.status import ExecutionStatus

WAITING = (ExecutionStatus.RUNNING, ExecutionStatus.PAUSED)


def current(stage: Stage, task: Task, key: str) -> Json | None:
    """The call of this run of ``task`` recorded under ``key``, if it made one."""
    call = stage.context.get(key)
    if not isinstance(call, dict):
        return None
    if call.get("taskId") != task.id or call.get("taskStart") != task.start_time:
        return None
    return call


def sent(task: Task, attempt: int, now: int, failures: int = 0, **details: object) -> Json:
    """The record of attempt ``attempt`` of ``task``'s call, sent at ``now``, not yet answered."""
    return {
        "taskId": task.id,
        "taskStart": task.start_time,
        "attempt": attempt,
        "sentAt": now,
        "failures": failures,
        "answer": None,
        **details,
    }


def awaited(execution: Execution, stage_id: str, task_id: str, attempt: int, key: str) -> tuple[Stage, Task] | None:
    """The stage and task still waiting for the answer to ``attempt``, or ``None`` when nothing is
    (the execution finished or was canceled, the attempt was answered or given up on)."""
    if execution.status.complete:
        return None
    stage = execution.stage(stage_id)
    task = stage.task(task_id) if stage else None
    if stage is None or task is None or task.status not in WAITING or stage.status not in WAITING:
        return None
    call = current(stage, task, key)
    if call is None or call.get("attempt") != attempt or call.get("answer") is not None:
        return None
    return stage, task
