"""Orca's rules as pure functions of a stored execution: final statuses, task retries, rollbacks.

:class:`~workers.orca.engine.transitions.Transitions` applies them; they read an execution and
change nothing, so each reads (and is tested) on its own. The statuses follow Orca's
``CompleteStageHandler``, ``CompleteExecutionHandler`` and ``StageExecution.failureStatus``.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.json_types import Json
from workers.orca.engine import graph
from workers.orca.engine.model import Execution, Stage, Task
from workers.orca.engine.stages.base import positive_int
from workers.orca.engine.status import ExecutionStatus as S


def final_status(execution: Execution) -> S | None:
    """The execution's final status from its top-level stages, or ``None`` while it cannot be
    decided yet (Orca's ``CompleteExecutionHandler.determineFinalStatus``)."""
    statuses = [stage.status for stage in execution.top_level_stages]
    if all(status in (S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE) for status in statuses):
        return S.SUCCEEDED
    if S.TERMINAL in statuses:
        return S.TERMINAL
    if S.CANCELED in statuses:
        return S.CANCELED
    if S.STOPPED in statuses and not graph.other_branches_incomplete(execution):
        fail = any(
            stage.status is S.STOPPED and stage.context.get("completeOtherBranchesThenFail") is True
            for stage in execution.stages
        )
        return S.TERMINAL if fail else S.SUCCEEDED
    return None


def stage_status(execution: Execution, stage: Stage) -> S:
    """A stage's status from its tasks and its before and after stages (Orca's
    ``CompleteStageHandler.determineStatus``); failure and compensation stages do not change it."""
    if stage.context.get("beforeStagePlanningFailed"):
        return stage.failure_status()
    statuses = [task.status for task in stage.tasks] + [
        child.status for child in execution.children(stage) if child.synthetic_role in ("before", "after")
    ]
    if S.TERMINAL in statuses:
        return stage.failure_status()
    for status in (S.STOPPED, S.CANCELED, S.FAILED_CONTINUE):
        if status in statuses:
            return status
    if all(status in (S.SUCCEEDED, S.SKIPPED) for status in statuses):
        return S.SUCCEEDED
    return S.TERMINAL


def group_status(stages: Sequence[Stage]) -> str:
    """SUCCEEDED when every stage of a rollback succeeded or was skipped, else TERMINAL."""
    return "SUCCEEDED" if all(stage.status in (S.SUCCEEDED, S.SKIPPED) for stage in stages) else "TERMINAL"


def rollback_settings(stage: Stage) -> Json:
    """The author's ``rollback`` settings of ``stage`` (without the engine's progress keys)."""
    value = stage.context.get("rollback")
    if not isinstance(value, dict):
        return {}
    return {key: item for key, item in value.items() if key not in ("status", "startTime", "endTime")}


def cleans_up_on_failure(definition: object, stage: Stage) -> bool:
    """The stage type runs its failure stages on any failure (Orca's ``onFailureStages``), without
    ``rollback.onFailure``: a ``kayentaCanary`` removing the server groups it deployed."""
    method = getattr(definition, "cleans_up_on_failure", None)
    return callable(method) and method(stage) is True


def rolls_back(stage: Stage) -> bool:
    """``rollback.onFailure: true`` on the stage (Spinnaker's deploy option, for any stage here)."""
    return rollback_settings(stage).get("onFailure") is True


def pipeline_rolls_back(execution: Execution) -> bool:
    """The pipeline asks for the saga: ``rollback.onFailure: true`` in its JSON, not run yet."""
    rollback = execution.rollback
    return rollback is not None and rollback.get("onFailure") is True and "status" not in rollback


def external_retry_ms(stage: Stage, task: Task) -> int | None:
    """How long before the next attempt of a failed external task, or ``None`` when the stage's
    ``taskRetries`` (default 0) are used up. Backoff doubles from ``taskRetryBackoffMs`` (1 s)."""
    retries = positive_int(stage.context.get("taskRetries")) or 0
    if task.attempt > retries:
        return None
    base = positive_int(stage.context.get("taskRetryBackoffMs")) or 1_000
    return int(min(base * 2 ** max(task.attempt - 1, 0), 300_000))


def timeout_ms(stage: Stage) -> int | None:
    """The stage's ``stageTimeoutMs``, if it sets a positive one."""
    return positive_int(stage.context.get("stageTimeoutMs"))
