"""``kayentaCanary`` and ``runCanaryIntervals``: Orca's canary stage around Kayenta's ``runCanary``.

``kayentaCanary`` (its settings under ``canaryConfig``, :mod:`.settings`) plans one before-stage,
``Run Canary Intervals``, then aggregates: its task ``aggregateCanaryResults`` takes the last
interval's score against ``scoreThresholds`` with Orca's messages. ``runCanaryIntervals`` has no
task of its own: its before-stages are the waits and the ``Run Canary #i`` steps of
:mod:`.intervals`, planned when it starts (its start is "now" for the windows). Each ``runCanary``
is Kayenta's (``orca.RunExternalTask``) and fails at or below the marginal threshold, which fails
the intervals stage and so the canary stage at once, without waiting for the other intervals —
unless the stage says ``continuePipeline: true`` (then that interval is FAILED_CONTINUE, the
next ones run and the final score decides). Cancelling the pipeline cancels whatever step runs.
With ``deployments`` the stage deploys its own baseline and canary first and removes them after,
pass or fail (:mod:`.deployments`).
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import StageDefinition, TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.stages.canary import deployments, intervals, settings
from workers.orca.engine.status import ExecutionStatus

KAYENTA_CANARY = "kayentaCanary"
RUN_CANARY_INTERVALS = "runCanaryIntervals"


def _number(stage: Stage) -> int:
    tail = stage.name.rsplit("#", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def interval_stages(execution: Execution, canary: Stage) -> list[Stage]:
    """The ``Run Canary #i`` steps of a ``kayentaCanary`` stage, by interval."""
    runs = [
        step
        for parent in execution.children(canary, "before")
        if parent.type == RUN_CANARY_INTERVALS
        for step in execution.children(parent, "before")
        if step.type == intervals.RUN_CANARY
    ]
    return sorted(runs, key=_number)


def _score(stage: Stage) -> float | None:
    value = stage.outputs.get("canaryScore", stage.context.get("canaryScore"))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def aggregate(scores: list[float], thresholds: Json) -> tuple[bool, str]:
    """Orca's verdict on the last score: whether the canary passed, and its ``canaryScoreMessage``."""
    final = scores[-1]
    marginal, passing = thresholds.get("marginal"), thresholds.get("pass")
    if marginal is None and passing is None:
        return True, "No score thresholds were specified."
    if marginal is not None and final <= float(marginal):
        return False, f"Final canary score {final} is not above the marginal score threshold."
    if passing is None:
        return True, "No pass score threshold was specified."
    if final < float(passing):
        return False, f"Final canary score {final} is below the pass score threshold."
    return True, f"Final canary score {final} met or exceeded the pass score threshold."


class AggregateCanaryResultsTask:
    """Orca's ``AggregateCanaryResultsTask``: the intervals' scores and the verdict on the last."""

    name = "aggregateCanaryResults"

    def run(self, run: TaskRun) -> TaskResult:
        scores = [score for step in interval_stages(run.execution, run.stage) if (score := _score(step)) is not None]
        if not scores:
            return TaskResult.terminal("No canary interval produced a score.", context={"canaryScores": []})
        config = run.stage.context.get("canaryConfig") or {}
        thresholds = config.get("scoreThresholds") if isinstance(config, dict) else None
        if not isinstance(thresholds, dict):
            thresholds = {"pass": 75, "marginal": 50}
        passed, message = aggregate(scores, thresholds)
        found: Json = {"canaryScores": scores, "canaryScore": scores[-1], "canaryScoreMessage": message}
        if passed:
            return TaskResult.succeeded(outputs=found, context=found)
        return TaskResult(ExecutionStatus.TERMINAL, context=found, outputs=found, error=message)


class KayentaCanaryStage:
    """``kayentaCanary``: ``Run Canary Intervals`` before, ``aggregateCanaryResults`` after."""

    type = KAYENTA_CANARY

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (AggregateCanaryResultsTask(),)

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        settings.read(stage.context)  # fail fast, as Orca does, before anything runs
        steps: list[Json] = []
        if deployments.has_deployments(stage.context):
            deployments.server_group_pairs(stage.context)
            steps.append({"type": deployments.DEPLOY_CANARY_SERVER_GROUPS, "name": "Deploy Canary Server Groups"})
        step: Json = {
            "type": RUN_CANARY_INTERVALS,
            "name": "Run Canary Intervals",
            "canaryConfig": stage.context["canaryConfig"],
        }
        if stage.context.get("continuePipeline") is not None:
            step["continuePipeline"] = stage.context["continuePipeline"]
        return [*steps, step]

    def after_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        if not deployments.has_deployments(stage.context):
            return []
        return [{"type": deployments.CLEANUP_CANARY_CLUSTERS, "name": "Cleanup Canary Clusters"}]

    def failure_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        return self.after_stages(stage, execution)

    def cleans_up_on_failure(self, stage: Stage) -> bool:
        """Its failure stages run on any failure, as Orca's ``onFailureStages`` do (no ``rollback`` needed)."""
        return deployments.has_deployments(stage.context)


class RunCanaryIntervalsStage:
    """``runCanaryIntervals``: the waits and ``Run Canary #i`` steps, planned at its start."""

    type = RUN_CANARY_INTERVALS

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return ()

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        now = stage.start_time
        assert now is not None  # the engine sets it before planning
        deployed = deployments.deployed_scopes(stage, execution)
        return intervals.plan(settings.read(stage.context), now, stage.context.get("continuePipeline"), deployed)


def canary_stage_types() -> list[StageDefinition]:
    """The canary stage types Orca composes itself (``runCanary`` is Kayenta's)."""
    return [
        KayentaCanaryStage(),
        RunCanaryIntervalsStage(),
        deployments.DeployCanaryServerGroupsStage(),
        deployments.CleanupCanaryClustersStage(),
    ]
