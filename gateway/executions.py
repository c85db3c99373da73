"""Gate's pipeline execution routes: trigger a pipeline, follow it, steer it, search its history.

Paths and shapes are Gate's (``PipelineController``, ``ExecutionsController``,
``ApplicationController``), so Deck and ``spin pipeline execute`` work unchanged. A trigger is
answered once Orca has started the execution (the ``orca.execution.started`` event it caused), so
``GET`` on the returned ``ref`` works at once. A cancel and a judgment are answered once Orca
took them, and refused (409, Orca's reason) when the execution had finished or the stage was
judged already; the other operator commands (pause, resume, restart, context updates) are
accepted once sent: follow the execution to see their effect.

Authorisation (:mod:`gateway.access`): reading needs READ on the execution's application; running,
cancelling, pausing, resuming, judging and restarting need EXECUTE; deleting needs WRITE. An
unknown execution id is a 404.
"""

from __future__ import annotations

from aiohttp import web
from ulid import ULID

from gateway.access import application_for, last_known_application, readable_application_names, require_on
from gateway.auth.model import Permission
from gateway.errors import CommandTimeout
from gateway.execution_models import (
    Accepted,
    ApplicationExecutionsQuery,
    CancelQuery,
    ExecutionListing,
    ExecutionRef,
    ExecutionsByConfigQuery,
    ExecutionSearchQuery,
    ExpressionQuery,
    ExpressionResult,
    PipelineExecution,
    PipelineToStart,
    StagePatch,
    TriggerRequest,
)
from gateway.gate_api import (
    GateError,
    SpinnakerError,
    error_responses,
    gate_json,
    gate_route,
    not_found,
    read_spinnaker_json,
)
from gateway.idempotency import DOCUMENTED as IDEMPOTENCY_HEADER
from gateway.idempotency import client_key
from gateway.parameters import resolve_parameters
from gateway.route_context import RouteContext
from gateway.routing import Response, Route, read_query, read_raw
from schemas.base import Command
from schemas.front50 import GetPipelineConfig, PipelineFound
from schemas.json_types import Json
from schemas.orca_engine import (
    CancelExecution,
    DeleteExecution,
    EvaluateExpression,
    ExecutionCommandRepeated,
    ExecutionFound,
    ExecutionList,
    ExpressionEvaluated,
    GetExecution,
    JudgeStage,
    ListExecutions,
    PauseExecution,
    RestartStage,
    ResumeExecution,
    StartExecution,
    UpdateStage,
)

TAG = "pipelines"
MAX_CONFIG_IDS = 100
SEARCH_WINDOW = 1000
"""How many of an application's newest executions a search looks through."""


def _statuses(text: str | None) -> list[str]:
    return [status.strip().upper() for status in (text or "").split(",") if status.strip()]


def _listed(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _condensed(execution: Json) -> Json:
    """Gate's ``expand=false``: stages without their context, outputs and tasks (Deck's list view)."""
    stages = [
        {key: value for key, value in stage.items() if key not in ("context", "outputs", "tasks")}
        for stage in execution.get("stages") or []
    ]
    return {**execution, "stages": stages}


# --- triggering --------------------------------------------------------------------------------


async def _start(route: RouteContext, pipeline: Json, trigger: Json, body: Json) -> web.Response:
    """Start ``pipeline`` with ``trigger`` and answer once Orca has started it, or stored it to wait its
    turn (202, Gate's ``ref``); a request sent again with its ``Idempotency-Key`` answers the first one's."""
    execution_id = str(ULID())
    authority = route.authority
    key = client_key(route.request, body, scope=authority.user)
    trigger = {**trigger, "type": trigger.get("type") or "manual", "user": authority.user}
    trigger["parameters"] = resolve_parameters(pipeline, trigger.get("parameters"))
    command = StartExecution(
        execution_id=execution_id, pipeline=pipeline, trigger=trigger, authority=authority, client_key=key
    )
    try:
        # the first event the command causes: orca.execution.started, .buffered (it waits for another
        # execution of its pipeline), orca.command.repeated (its key's first request made it) or a refusal
        answer = await route.send(command, subject=execution_id)
        if answer.event_type == ExecutionCommandRepeated.message_type:
            execution_id = str(answer.data["execution_id"])
    except CommandTimeout:
        # stored but not started yet (e.g. waiting for a concurrent execution): the ref is readable
        if (await route.ask(GetExecution(id=execution_id), ExecutionFound)).execution is None:
            raise
    return gate_json({"ref": f"/pipelines/{execution_id}"}, status=202)


async def _trigger_body(request: web.Request) -> Json:
    """The trigger as sent; Gate's body is optional."""
    if not (await read_raw(request)).strip():
        return {}
    _, body = await read_spinnaker_json(request, TriggerRequest)
    return body


async def _pipeline_config(route: RouteContext, application: str, name_or_id: str) -> Json:
    """The pipeline config of ``application`` named (or with the id) ``name_or_id``; 404 when none."""
    found = await route.ask(GetPipelineConfig(application=application, name=name_or_id), PipelineFound)
    pipeline = found.pipeline
    if pipeline is None:
        by_id = (await route.ask(GetPipelineConfig(id=name_or_id), PipelineFound)).pipeline
        if by_id is not None and str(by_id.get("application") or "").lower() == application.lower():
            pipeline = by_id
    if pipeline is None:
        raise not_found(f"Pipeline config not found (application: {application}, name or id: {name_or_id})")
    return pipeline


@gate_route
async def trigger_pipeline(request: web.Request) -> web.Response:
    """Run an application's pipeline config with the trigger in the body (parameters included)."""
    route = RouteContext.of(request)
    application, name_or_id = request.match_info["application"], request.match_info["pipelineNameOrId"]
    await application_for(route, application, Permission.EXECUTE)
    trigger = await _trigger_body(request)
    pipeline = await _pipeline_config(route, application, name_or_id)
    if pipeline.get("disabled") is True:
        raise GateError(400, f"pipeline {pipeline.get('name')!r} is disabled; enable it to run it", field="disabled")
    return await _start(route, pipeline, trigger, trigger)


@gate_route
async def start_pipeline(request: web.Request) -> web.Response:
    """Run the pipeline JSON in the body as given (an ad-hoc pipeline, or a config read earlier)."""
    route = RouteContext.of(request)
    checked, body = await read_spinnaker_json(request, PipelineToStart)
    application = await application_for(route, checked.application, Permission.EXECUTE)
    pipeline = {**body, "application": application.get("name") or checked.application}
    trigger = pipeline.pop("trigger", None) or {}
    return await _start(route, pipeline, trigger, body)


# --- reading -----------------------------------------------------------------------------------


async def _execution(route: RouteContext, permission: Permission) -> Json:
    """The execution in the path if the caller may ``permission`` its application: 404 / 403 otherwise."""
    execution_id = route.request.match_info["id"]
    execution = (await route.ask(GetExecution(id=execution_id), ExecutionFound)).execution
    if execution is None:
        raise not_found(f"Execution not found (id: {execution_id})")
    name = str(execution.get("application") or "")
    application = await last_known_application(route, name)
    require_on(route, application, permission, kind="application", name=name)
    return execution


@gate_route
async def get_execution(request: web.Request) -> web.Response:
    """One execution: its status, trigger and stages."""
    return gate_json(await _execution(RouteContext.of(request), Permission.READ))


@gate_route
async def get_application_executions(request: web.Request) -> web.Response:
    """An application's executions, newest first, optionally only those in some statuses."""
    query = read_query(request, ApplicationExecutionsQuery)
    route = RouteContext.of(request)
    application = request.match_info["application"]
    await application_for(route, application, Permission.READ)
    listed = ListExecutions(application=application, limit=query.limit, statuses=_statuses(query.statuses))
    executions = (await route.ask(listed, ExecutionList)).executions
    return gate_json(executions if query.expand else [_condensed(execution) for execution in executions])


@gate_route
async def get_executions(request: web.Request) -> web.Response:
    """The latest executions of some pipeline configs (``limit`` each), or some executions by id."""
    query = read_query(request, ExecutionsByConfigQuery)
    route = RouteContext.of(request)
    config_ids, execution_ids = _listed(query.pipeline_config_ids), _listed(query.execution_ids)
    if not config_ids and not execution_ids:
        raise GateError(400, "name at least one pipelineConfigIds or executionIds", field="pipelineConfigIds")
    if len(config_ids) + len(execution_ids) > MAX_CONFIG_IDS:
        raise GateError(400, f"name at most {MAX_CONFIG_IDS} ids", field="pipelineConfigIds")
    statuses = _statuses(query.statuses)
    executions: list[Json] = []
    for config_id in dict.fromkeys(config_ids):
        listed = ListExecutions(pipeline_config_ids=[config_id], limit=query.limit, statuses=statuses)
        executions.extend((await route.ask(listed, ExecutionList)).executions)
    for execution_id in dict.fromkeys(execution_ids):
        found = (await route.ask(GetExecution(id=execution_id), ExecutionFound)).execution
        if found is not None and (not statuses or found.get("status") in statuses):
            executions.append(found)
    allowed = await readable_application_names(route, (execution.get("application") for execution in executions))
    shown = [execution for execution in executions if str(execution.get("application") or "").lower() in allowed]
    shown.sort(key=lambda execution: execution.get("buildTime") or 0, reverse=True)
    return gate_json(shown if query.expand else [_condensed(execution) for execution in shown])


def _matches(execution: Json, query: ExecutionSearchQuery) -> bool:
    trigger = execution.get("trigger") or {}
    build_time = int(execution.get("buildTime") or 0)
    trigger_types = {kind.lower() for kind in _listed(query.trigger_types)}
    return (
        (not trigger_types or str(trigger.get("type") or "").lower() in trigger_types)
        and (query.pipeline_name is None or execution.get("name") == query.pipeline_name)
        and (query.event_id is None or trigger.get("eventId") == query.event_id)
        and build_time >= query.trigger_time_start_boundary
        and (query.trigger_time_end_boundary is None or build_time <= query.trigger_time_end_boundary)
    )


@gate_route
async def search_executions(request: web.Request) -> web.Response:
    """Search an application's newest executions by trigger type, pipeline name, event id, status and time."""
    query = read_query(request, ExecutionSearchQuery)
    route = RouteContext.of(request)
    application = request.match_info["application"]
    await application_for(route, application, Permission.READ)
    listed = ListExecutions(
        application=application,
        limit=SEARCH_WINDOW,
        statuses=_statuses(query.statuses),
        trigger_event_id=query.event_id,
    )
    found = [
        execution for execution in (await route.ask(listed, ExecutionList)).executions if _matches(execution, query)
    ]
    if query.reverse:
        found.reverse()
    page = found[query.start_index : query.start_index + query.size]
    return gate_json(page if query.expand else [_condensed(execution) for execution in page])


@gate_route
async def evaluate_expression(request: web.Request) -> web.Response:
    """Evaluate an expression (``${trigger.parameters.env}``) against the execution."""
    query = read_query(request, ExpressionQuery)
    route = RouteContext.of(request)
    execution = await _execution(route, Permission.READ)
    asked = EvaluateExpression(execution_id=str(execution["id"]), expression=query.expression)
    evaluated = await route.ask(asked, ExpressionEvaluated)
    if not evaluated.found:
        raise not_found(f"Execution not found (id: {execution['id']})")
    return gate_json({"result": evaluated.result, "detail": evaluated.detail})


# --- steering ----------------------------------------------------------------------------------


async def _accepted(route: RouteContext, command: Command, execution_id: str) -> web.Response:
    await route.bus.send(command, subject=execution_id)
    return gate_json({}, status=202)


@gate_route
async def cancel_execution(request: web.Request) -> web.Response:
    """Cancel an execution that has not finished; it and its running stages become CANCELED.
    Answers once Orca has cancelled it; one that had finished already is refused (409)."""
    query = read_query(request, CancelQuery)
    route = RouteContext.of(request)
    execution_id = str((await _execution(route, Permission.EXECUTE))["id"])
    command = CancelExecution(execution_id=execution_id, authority=route.authority, reason=query.reason)
    await route.send(command, subject=execution_id)  # orca.execution.completed, or a refusal
    return gate_json({}, status=202)


@gate_route
async def pause_execution(request: web.Request) -> web.Response:
    """Pause a running execution: its running tasks stop until it is resumed."""
    route = RouteContext.of(request)
    execution_id = str((await _execution(route, Permission.EXECUTE))["id"])
    return await _accepted(route, PauseExecution(execution_id=execution_id, authority=route.authority), execution_id)


@gate_route
async def resume_execution(request: web.Request) -> web.Response:
    """Resume a paused execution."""
    route = RouteContext.of(request)
    execution_id = str((await _execution(route, Permission.EXECUTE))["id"])
    return await _accepted(route, ResumeExecution(execution_id=execution_id, authority=route.authority), execution_id)


def _stage_of(execution: Json, stage_id: str) -> Json:
    for stage in execution.get("stages") or []:
        if stage.get("id") == stage_id:
            return dict(stage)
    raise not_found(f"Stage not found (execution: {execution.get('id')}, stage: {stage_id})")


@gate_route
async def update_stage(request: web.Request) -> web.Response:
    """Judge a manualJudgment stage (``judgmentStatus``) or merge context into a running stage
    (e.g. ``skipRemainingWait``); answers with the execution as it was when the change was sent.
    A judgment is answered once Orca took it; a stage judged already, or finished, is refused (409)."""
    checked, body = await read_spinnaker_json(request, StagePatch)
    route = RouteContext.of(request)
    execution = await _execution(route, Permission.EXECUTE)
    execution_id, stage_id = str(execution["id"]), request.match_info["stageId"]
    _stage_of(execution, stage_id)
    command: Command
    if checked.judgment_status is not None:
        judgment_input = checked.judgment_input or body.get("input")
        command = JudgeStage(
            execution_id=execution_id,
            stage_id=stage_id,
            judgment_status=checked.judgment_status,
            input=None if judgment_input is None else str(judgment_input),
            authority=route.authority,
        )
    else:
        context = {key: value for key, value in body.items() if key not in ("judgmentStatus", "judgmentInput")}
        if not context:
            raise GateError(400, "send judgmentStatus, or context to merge such as skipRemainingWait", field="body")
        command = UpdateStage(execution_id=execution_id, stage_id=stage_id, context=context, authority=route.authority)
    if isinstance(command, JudgeStage):
        await route.send(command, subject=execution_id)  # orca.stage.judged, or a refusal (409)
    else:
        await route.bus.send(command, subject=execution_id)
    return gate_json(execution)


@gate_route
async def restart_stage(request: web.Request) -> web.Response:
    """Run a finished stage again, with every stage after it; answers with the execution as it was."""
    route = RouteContext.of(request)
    execution = await _execution(route, Permission.EXECUTE)
    execution_id, stage_id = str(execution["id"]), request.match_info["stageId"]
    _stage_of(execution, stage_id)
    await route.bus.send(
        RestartStage(execution_id=execution_id, stage_id=stage_id, authority=route.authority),
        subject=execution_id,
    )
    return gate_json(execution)


@gate_route
async def delete_execution(request: web.Request) -> web.Response:
    """Delete a finished execution (a running one is refused with 400: cancel it first)."""
    route = RouteContext.of(request)
    execution_id = str((await _execution(route, Permission.WRITE))["id"])
    await route.send(DeleteExecution(execution_id=execution_id, authority=route.authority), subject=execution_id)
    return gate_json({})


_START_ERRORS = error_responses(400, 403, 404, 422, 504)
_READ_ERRORS = error_responses(403, 404, 504)
_QUERY_ERRORS = error_responses(400, 403, 404, 504)
_ACCEPTED = {202: Response("Accepted; follow the execution to see the effect", Accepted), **_READ_ERRORS}
_STAGE = {200: Response("The execution as it was when the change was sent", PipelineExecution), **_QUERY_ERRORS}
_JUDGED = {
    **_STAGE,
    409: Response(
        "The stage was judged already, or it or its execution has finished: nothing was done", SpinnakerError
    ),
}
_CANCELED = {
    202: Response("Cancelled", Accepted),
    **_QUERY_ERRORS,
    409: Response("The execution has finished already: nothing was cancelled", SpinnakerError),
}

ROUTES = (
    Route(
        "POST",
        "/pipelines/{application}/{pipelineNameOrId}",
        trigger_pipeline,
        summary="Trigger a pipeline execution",
        description=(
            "Answers once Orca has started it (or stored it BUFFERED, to wait for another execution of a "
            "limitConcurrent pipeline); parameters default from the pipeline's parameterConfig. With an "
            "Idempotency-Key header, the same request sent again within 24 h answers the first one's ref."
        ),
        tag=TAG,
        body=TriggerRequest,
        responses={202: Response("Started; follow the ref", ExecutionRef), **_START_ERRORS},
        headers=IDEMPOTENCY_HEADER,
    ),
    Route(
        "POST",
        "/pipelines/start",
        start_pipeline,
        summary="Start a pipeline execution from its JSON",
        tag=TAG,
        body=PipelineToStart,
        responses={202: Response("Started; follow the ref", ExecutionRef), **_START_ERRORS},
        headers=IDEMPOTENCY_HEADER,
    ),
    Route(
        "GET",
        "/pipelines/{id}",
        get_execution,
        summary="Retrieve a pipeline execution",
        tag=TAG,
        responses={200: Response("The execution", PipelineExecution), **_READ_ERRORS},
    ),
    Route(
        "GET",
        "/applications/{application}/pipelines",
        get_application_executions,
        summary="Retrieve a list of an application's pipeline executions",
        tag=TAG,
        query=ApplicationExecutionsQuery,
        responses={200: Response("Executions, newest first", ExecutionListing), **_QUERY_ERRORS},
    ),
    Route(
        "GET",
        "/executions",
        get_executions,
        summary="Retrieve the latest executions of pipeline configs",
        tag=TAG,
        query=ExecutionsByConfigQuery,
        responses={200: Response("Executions the caller may READ, newest first", ExecutionListing), **_QUERY_ERRORS},
    ),
    Route(
        "GET",
        "/applications/{application}/executions/search",
        search_executions,
        summary="Search an application's executions",
        tag=TAG,
        query=ExecutionSearchQuery,
        responses={200: Response("Matching executions, newest first", ExecutionListing), **_QUERY_ERRORS},
    ),
    Route(
        "PUT",
        "/pipelines/{id}/cancel",
        cancel_execution,
        summary="Cancel a pipeline execution",
        tag=TAG,
        query=CancelQuery,
        responses=_CANCELED,
    ),
    Route(
        "PUT",
        "/pipelines/{id}/pause",
        pause_execution,
        summary="Pause a pipeline execution",
        tag=TAG,
        responses=_ACCEPTED,
    ),
    Route(
        "PUT",
        "/pipelines/{id}/resume",
        resume_execution,
        summary="Resume a pipeline execution",
        tag=TAG,
        responses=_ACCEPTED,
    ),
    Route(
        "PATCH",
        "/pipelines/{id}/stages/{stageId}",
        update_stage,
        summary="Update a stage of a pipeline execution (manual judgment, skip remaining wait)",
        tag=TAG,
        body=StagePatch,
        responses=_JUDGED,
    ),
    Route(
        "PUT",
        "/pipelines/{id}/stages/{stageId}/restart",
        restart_stage,
        summary="Restart a stage of a pipeline execution",
        tag=TAG,
        responses=_STAGE,
    ),
    Route(
        "GET",
        "/pipelines/{id}/evaluateExpression",
        evaluate_expression,
        summary="Evaluate a pipeline expression against an execution",
        tag=TAG,
        query=ExpressionQuery,
        responses={200: Response("The value and the evaluation summary", ExpressionResult), **_QUERY_ERRORS},
    ),
    Route(
        "DELETE",
        "/pipelines/{id}",
        delete_execution,
        summary="Delete a finished pipeline execution",
        tag=TAG,
        responses={200: Response("Deleted", Accepted), **_QUERY_ERRORS},
    ),
)
