"""Kayenta's side of Orca's ``runCanary`` stage (one interval of a ``kayentaCanary``).

Orca sends ``orca.RunExternalTask`` with the stage's context in Spinnaker's shape —
``canaryConfigId`` (read from Front50), ``canaryConfigName`` (the one config of that name listing
the application, as Orca's ``ResolveKayentaConfigIdTask`` finds it) or an inline
``canaryConfig``, ``scopes`` (name → ``controlScope`` / ``experimentScope``), ``scoreThresholds``
(``pass``, ``marginal``), ``metricsAccountName``, ``sequential`` — and Kayenta runs the canary as
an execution of its own (its id derived from the task attempt, so a redelivered attempt runs it
once), then answers ``kayenta.task.completed``: SUCCEEDED with ``canaryScore``,
``canaryScoreMessage``, ``canaryPipelineExecutionId``, the judge result and Orca's ``warnings`` (a
metric with fewer than 50 baseline points, except on Datadog) when the score is above the
marginal threshold, TERMINAL otherwise (as Orca's canary monitor fails an interval at or below
marginal), or when the sequential test proved the canary bad, or when the run failed (its reason).
"""

from __future__ import annotations

import hashlib

from bus.context import MessageContext
from schemas.canary_configs import CanaryConfigFound, CanaryConfigList, GetCanaryConfig, ListCanaryConfigs
from schemas.json_types import Json
from schemas.kayenta import KayentaTaskCompleted, RunCanary
from schemas.orca_engine import RunExternalTask, TaskOutcome
from workers.kayenta.handlers import KayentaHandlers, Refused

STAGE_TYPE = "runCanary"
FEW_POINTS = 50
FEW_POINTS_WARNING = (
    "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score."
)


def execution_id_of(task: RunExternalTask) -> str:
    """The canary execution of one task attempt, the same on every redelivery."""
    identity = f"{task.execution_id}/{task.stage_id}/{task.task_id}/{task.attempt}"
    return hashlib.sha256(identity.encode()).hexdigest()[:26]


def verdict(execution: Json, marginal: float) -> tuple[TaskOutcome, str | None, Json]:
    """The task's status, error and outputs from a finished canary execution."""
    result = execution.get("result") or {}
    score = (result.get("judgeResult") or {}).get("score") or {}
    outputs: Json = {
        "canaryPipelineExecutionId": execution["id"],
        "canaryScore": score.get("score"),
        "canaryScoreMessage": score.get("classificationReason") or "",
        "lastUpdatedIso": execution.get("endTimeIso"),
        "judgeResult": result.get("judgeResult"),
    }
    results = (result.get("judgeResult") or {}).get("results") or []
    if execution.get("metricsAccountType") != "datadog" and any(
        int(((r.get("controlMetadata") or {}).get("stats") or {}).get("count") or 0) < FEW_POINTS for r in results
    ):
        outputs["warnings"] = [FEW_POINTS_WARNING]
    if execution.get("status") != "succeeded":
        return "TERMINAL", str((execution.get("exception") or {}).get("message") or "the canary run failed"), outputs
    sequential = result.get("sequentialResult") or {}
    if sequential.get("stop"):
        outputs["sequentialResult"] = sequential
        return "TERMINAL", str(sequential.get("reason")), outputs
    value = float(score.get("score") or 0.0)
    if value <= marginal:
        return "TERMINAL", f"Canary score {value:g} is not above the marginal score threshold {marginal:g}", outputs
    return "SUCCEEDED", None, outputs


class RunCanaryTask:
    """Runs Orca's ``runCanary`` tasks through :class:`KayentaHandlers`."""

    def __init__(self, handlers: KayentaHandlers, *, query_timeout: float = 5.0) -> None:
        self.handlers = handlers
        self.query_timeout = query_timeout

    async def _config(self, task: RunExternalTask, context: MessageContext) -> Json:
        stage = task.context
        if isinstance(stage.get("canaryConfig"), dict) and stage["canaryConfig"].get("metrics"):
            return dict(stage["canaryConfig"])
        config_id = str(stage.get("canaryConfigId") or (stage.get("canaryConfig") or {}).get("canaryConfigId") or "")
        if not config_id and stage.get("canaryConfigName"):
            return await self._config_named(str(stage["canaryConfigName"]), task.application, context)
        if not config_id:
            raise Refused(400, "Canary config must be specified as either UUID or name string", "canaryConfigId")
        found = await context.ask(GetCanaryConfig(config_id=config_id), timeout=self.query_timeout)
        if not isinstance(found, CanaryConfigFound) or found.canary_config is None:
            raise Refused(404, f"Canary config '{config_id}' does not exist.", "canaryConfigId")
        return found.canary_config

    async def _config_named(self, name: str, application: str, context: MessageContext) -> Json:
        """Orca's ``ResolveKayentaConfigIdTask``: the one config of that name listing the application."""
        listed = await context.ask(ListCanaryConfigs(application=application), timeout=self.query_timeout)
        configs = listed.canary_configs if isinstance(listed, CanaryConfigList) else []
        candidates = [
            config
            for config in configs
            if config.get("name") == name and application in (config.get("applications") or [])
        ]
        which = f"configName {name} and application {application}"
        if not candidates:
            raise Refused(404, f"Couldn't find a canary configId for {which}", "canaryConfigName")
        if len(candidates) > 1:
            raise Refused(400, f"Found more than one canary configId for {which}", "canaryConfigName")
        return candidates[0]

    async def run(self, task: RunExternalTask, context: MessageContext) -> None:
        """Run the interval's canary and answer Orca."""
        if task.stage_type != STAGE_TYPE:
            await self._answer(task, context, "TERMINAL", f"Kayenta provides no stage type {task.stage_type!r}", {})
            return
        stage = task.context
        thresholds = stage.get("scoreThresholds") or {}
        marginal = float(thresholds.get("marginal") or 0)
        try:
            config = await self._config(task, context)
        except Refused as refused:
            await self._answer(task, context, "TERMINAL", refused.reason, {})
            return
        command = RunCanary(
            execution_id=execution_id_of(task),
            application=task.application,
            canary_config=config,
            canary_config_id=stage.get("canaryConfigId") or config.get("id"),
            execution_request={"scopes": stage.get("scopes") or {}, "thresholds": thresholds},
            metrics_account_name=stage.get("metricsAccountName"),
            parent_pipeline_execution_id=task.execution_id,
            parent_stage_id=task.stage_id,
            sequential=bool(stage.get("sequential")),
            authority=task.authority,
        )
        refusal = await self.handlers.execute(command, context)
        if refusal is not None:
            await self._answer(task, context, "TERMINAL", refusal.reason, {})
            return
        execution = await self.handlers.store.execution(command.execution_id) or {}
        status, error, outputs = verdict(execution, marginal)
        await self._answer(task, context, status, error, outputs)

    async def _answer(
        self, task: RunExternalTask, context: MessageContext, status: str, error: str | None, outputs: Json
    ) -> None:
        answer = KayentaTaskCompleted(
            execution_id=task.execution_id,
            stage_id=task.stage_id,
            task_id=task.task_id,
            attempt=task.attempt,
            application=task.application,
            status=status,
            outputs=outputs,
            error=error,
        )
        await context.publish(answer, subject=task.execution_id)
