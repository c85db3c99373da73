"""Spinnaker's execution-aware helpers: find stages, judgments and deployments in the running execution.

Ports of Orca's ``StageExpressionFunctionProvider``, ``DeployedServerGroupsExpressionFunctionProvider``
and ``ArtifactExpressionFunctionProvider`` over the execution as JSON. Where Orca
passes ``#root.execution`` implicitly, these read it from the root through
:class:`HelperContext`; the messages copy Orca's so operators recognise them.
"""

from __future__ import annotations

from .errors import ExpressionError
from .helpers import Helper, HelperContext, arity, string_arg
from .values import Value

_DEPLOY_STAGE_TYPES = ("deploy", "createServerGroup", "cloneServerGroup", "rollingPush")


def stage_view(stage: dict[str, Value]) -> dict[str, Value]:
    """A stage as an expression sees it: the stored stage plus Orca's ``hasSucceeded``/``hasFailed``."""
    view = dict(stage)
    view.setdefault("context", {})
    view.setdefault("outputs", {})
    view["hasSucceeded"] = stage.get("status") == "SUCCEEDED"
    view["hasFailed"] = stage.get("status") == "TERMINAL"
    return view


def _execution_id(context: HelperContext, function: str) -> str:
    return str(context.execution(function).get("id"))


def stage(context: HelperContext, args: list[Value]) -> Value:
    arity("stage", args, 1)
    wanted = string_arg("stage", args[0])
    for candidate in context.stages("stage"):
        if wanted in (candidate.get("name"), candidate.get("id")):
            return stage_view(candidate)
    raise ExpressionError(
        f"Unable to locate [{wanted}] using #stage({wanted}) in execution {_execution_id(context, 'stage')}"
    )


def stage_exists(context: HelperContext, args: list[Value]) -> Value:
    arity("stageExists", args, 1)
    wanted = string_arg("stageExists", args[0])
    return any(wanted in (s.get("name"), s.get("id")) for s in context.stages("stageExists"))


def stage_by_ref_id(context: HelperContext, args: list[Value]) -> Value:
    arity("stageByRefId", args, 1)
    ref_id = string_arg("stageByRefId", args[0])
    for candidate in context.stages("stageByRefId"):
        if candidate.get("refId") == ref_id:
            return stage_view(candidate)
    raise ExpressionError(
        f"Unable to locate [{ref_id}] using #stageByRefId({ref_id}) in execution "
        f"{_execution_id(context, 'stageByRefId')}"
    )


def current_stage(context: HelperContext, args: list[Value]) -> Value:
    arity("currentStage", args, 0)
    if context.current_stage_id is None:
        raise ExpressionError("#currentStage() needs the id of the stage being evaluated, and none was given")
    for candidate in context.stages("currentStage"):
        stage_id = candidate.get("id")
        if isinstance(stage_id, str) and stage_id.lower() == context.current_stage_id.lower():
            return stage_view(candidate)
    raise ExpressionError(f"No stage found with id '{context.current_stage_id}'")


def current_user(context: HelperContext, args: list[Value]) -> Value:
    """Who the execution runs for (``execution.authentication.user``), else ``anonymous``, as in Orca."""
    arity("currentUser", args, 0)
    execution = context.root.get("execution")
    authentication = execution.get("authentication") if isinstance(execution, dict) else None
    user = authentication.get("user") if isinstance(authentication, dict) else None
    return user if isinstance(user, str) and user else "anonymous"


def judgment(context: HelperContext, args: list[Value]) -> Value:
    """The input chosen in the named Manual Judgment stage (``context.judgmentInput``)."""
    arity("judgment", args, 1)
    wanted = string_arg("judgment", args[0])
    for candidate in context.stages("judgment"):
        stage_context = candidate.get("context")
        if (
            candidate.get("name") == wanted
            and candidate.get("type") == "manualJudgment"
            and isinstance(stage_context, dict)
            and stage_context.get("judgmentInput") is not None
        ):
            return stage_context["judgmentInput"]
    raise ExpressionError(
        f"Unable to locate manual Judgment stage [{wanted}] using #judgment({wanted}) in execution "
        f"{_execution_id(context, 'judgment')}. Stage doesn't exist or doesn't contain judgmentInput in its context"
    )


def deployed_server_groups(context: HelperContext, args: list[Value]) -> Value:
    """Server groups deployed by succeeded deploy stages, optionally only those named or id'd in ``args``."""
    wanted = {string_arg("deployedServerGroups", a) for a in args}
    result: list[Value] = []
    for candidate in context.stages("deployedServerGroups"):
        stage_context = candidate.get("context")
        if (
            candidate.get("type") not in _DEPLOY_STAGE_TYPES
            or candidate.get("status") != "SUCCEEDED"
            or not isinstance(stage_context, dict)
            or "deploy.server.groups" not in stage_context
            or (wanted and not wanted & {candidate.get("name"), candidate.get("id")})
        ):
            continue
        details = _deploy_details(stage_context)
        if details is not None:
            result.append(details)
    return result


def _deploy_details(stage_context: dict[str, Value]) -> dict[str, Value] | None:
    region = stage_context.get("region")
    zones = stage_context.get("availabilityZones")
    if region is None and isinstance(zones, dict) and zones:
        region = next(iter(zones))
    if not isinstance(region, str):
        return None
    details: dict[str, Value] = {
        "account": stage_context.get("account"),
        "capacity": stage_context.get("capacity"),
        "parentStage": stage_context.get("parentStage"),
        "region": region,
    }
    for existing in _dicts(stage_context.get("deploymentDetails")):
        if existing.get("region") == region:
            details.update(existing)
    groups = stage_context.get("deploy.server.groups")
    server_groups = groups.get(region) if isinstance(groups, dict) else None
    if isinstance(server_groups, list) and server_groups:
        details["serverGroup"] = server_groups[0]
    deployments: list[Value] = []
    for task in _dicts(stage_context.get("kato.tasks")):
        for result_object in _dicts(task.get("resultObjects")):
            value = result_object.get("deployments")
            if isinstance(value, list):
                deployments.extend(value)
    details["deployments"] = deployments
    return details


def _dicts(value: Value) -> list[dict[str, Value]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _resolved_artifacts(context: HelperContext, function: str) -> list[dict[str, Value]]:
    trigger = context.root.get("trigger")
    if not isinstance(trigger, dict):
        raise ExpressionError(f"#{function} needs the trigger, but the expression root has none")
    return _dicts(trigger.get("resolvedArtifacts"))


def trigger_resolved_artifact(context: HelperContext, args: list[Value]) -> Value:
    arity("triggerResolvedArtifact", args, 1)
    name = string_arg("triggerResolvedArtifact", args[0])
    for artifact in _resolved_artifacts(context, "triggerResolvedArtifact"):
        if artifact.get("name") == name:
            return artifact
    raise ExpressionError(f"Unable to locate resolved artifact with name [{name}] in the trigger")


def trigger_resolved_artifact_by_type(context: HelperContext, args: list[Value]) -> Value:
    arity("triggerResolvedArtifactByType", args, 1)
    kind = string_arg("triggerResolvedArtifactByType", args[0])
    for artifact in _resolved_artifacts(context, "triggerResolvedArtifactByType"):
        if artifact.get("type") == kind:
            return artifact
    raise ExpressionError(f"Unable to locate resolved artifact with type [{kind}] in the trigger")


STAGE_FUNCTIONS: dict[str, Helper] = {
    "stage": stage,
    "stageExists": stage_exists,
    "stageByRefId": stage_by_ref_id,
    "currentStage": current_stage,
    "currentUser": current_user,
    "judgment": judgment,
    "judgement": judgment,
    "deployedServerGroups": deployed_server_groups,
    "triggerResolvedArtifact": trigger_resolved_artifact,
    "triggerResolvedArtifactByType": trigger_resolved_artifact_by_type,
}
