"""Turns a ``StartExecution`` (Spinnaker's pipeline JSON and a trigger) into a NOT_STARTED execution."""

from __future__ import annotations

from typing import Any

from bus import new_id
from schemas.json_types import Json
from schemas.orca_engine import StartExecution
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.artifacts import ArtifactError, bind_trigger
from workers.orca.engine.model import Execution, Stage


def new_execution(
    command: StartExecution, at: int, access: AccessPolicy | None = None, prior_artifacts: list[Json] | None = None
) -> Execution:
    """The execution ``command`` asks for: one stage per pipeline stage, parameters defaulted from
    ``parameterConfig`` where the trigger gives none, the pipeline's expected artifacts bound
    (:mod:`workers.orca.engine.artifacts`; ``prior_artifacts`` are those of the pipeline's previous
    execution), run with the command's authority. An expected artifact that binds to nothing leaves
    the execution's ``exception`` set: it fails as it starts."""
    pipeline = command.pipeline
    trigger: Json = {"type": "manual", "user": command.authority.user, **command.trigger}
    trigger["parameters"] = _parameters(pipeline, trigger.get("parameters") or {})
    sensitive = _sensitive(pipeline)
    if sensitive:
        trigger["sensitiveParameters"] = sensitive  # so every read hides their values (schemas.secrets)
    failure: Json | None = None
    try:
        trigger = bind_trigger(pipeline, trigger, prior_artifacts or [])
    except ArtifactError as unmatched:
        error = str(unmatched)
        failure = {
            "details": {"error": error, "errors": [error]},
            "exceptionType": "InvalidRequest",
            "shouldRetry": False,
            "timestamp": at,
        }
    return Execution(
        id=command.execution_id,
        application=str(pipeline.get("application") or ""),
        name=str(pipeline.get("name") or "unnamed"),
        pipeline_config_id=pipeline.get("id"),
        build_time=at,
        trigger=trigger,
        stages=[_stage(stage, index) for index, stage in enumerate(pipeline.get("stages") or [])],
        keep_waiting_pipelines=bool(pipeline.get("keepWaitingPipelines", False)),
        limit_concurrent=bool(pipeline.get("limitConcurrent", False)),
        authentication=(access or AccessPolicy()).authentication_of(command.authority),
        authority=command.authority,
        description=pipeline.get("description"),
        notifications=list(pipeline.get("notifications") or []),
        initial_config={},
        template_variables=_template_variables(pipeline),
        rollback=_rollback(pipeline),
        exception=failure,
    )


def _stage(stage: Json, index: int) -> Stage:
    context = {
        key: value for key, value in stage.items() if key not in ("refId", "requisiteStageRefIds", "type", "name")
    }
    stage_type = str(stage.get("type") or "")
    return Stage(
        id=new_id(),
        ref_id=str(stage.get("refId") or ""),
        type=stage_type,
        name=str(stage.get("name") or stage_type or f"stage {index + 1}"),
        context=context,
        requisite_stage_ref_ids=[str(ref) for ref in stage.get("requisiteStageRefIds") or []],
    )


def _template_variables(pipeline: Json) -> Json | None:
    """A rendered templated pipeline's ``templateVariables``, which its stages' expressions may read."""
    value = pipeline.get("templateVariables")
    return dict(value) if isinstance(value, dict) else None


def _rollback(pipeline: Json) -> Json | None:
    """The pipeline's saga setting, ``"rollback": {"onFailure": true}`` (``None`` when absent)."""
    value = pipeline.get("rollback")
    return {"onFailure": value.get("onFailure") is True} if isinstance(value, dict) else None


def _sensitive(pipeline: Json) -> list[str]:
    """The names of the pipeline's parameters marked ``sensitive: true``."""
    configs = pipeline.get("parameterConfig") or []
    return sorted(
        str(config["name"])
        for config in configs
        if isinstance(config, dict) and config.get("sensitive") is True and isinstance(config.get("name"), str)
    )


def _parameters(pipeline: Json, given: dict[str, Any]) -> Json:
    parameters = dict(given)
    for config in pipeline.get("parameterConfig") or []:
        name = config.get("name")
        if isinstance(name, str) and name not in parameters and "default" in config:
            parameters[name] = config["default"]
    return parameters
