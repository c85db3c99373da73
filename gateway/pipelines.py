"""Gate's pipeline-config routes: save, delete, rename and reorder pipelines, and read them back.

Paths and bodies are Gate's (``PipelineController``, ``PipelineConfigController``,
``ReorderPipelinesController``, ``ApplicationController``), so Deck and ``spin pipeline save``
work unchanged. Every write is one Front50 command answered synchronously: the gateway waits for
the event that names the command as its cause (:mod:`gateway.command_results`), as Gate waits for
its save task. A refusal keeps Front50's status — 400 naming the field (``stages[1].refId``), 404,
or 409 when ``staleCheck=true`` and the pipeline changed since the client read its ``updateTs``.

Authorisation (:mod:`gateway.access`): writes need WRITE on the application, and saving with the
``id`` of another application's pipeline needs WRITE on that one too; reads need READ, lists
leave out what the caller may not READ, and a deleted application's pipeline history stays
guarded by its last permissions.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, RootModel

from gateway.access import (
    application_for,
    last_known_application,
    readable_application_names,
    require_on,
)
from gateway.api_model import ApiModel
from gateway.auth.middleware import authority_of
from gateway.auth.model import Permission
from gateway.command_results import CommandRejected, ask, send_command
from gateway.gate_api import (
    GateError,
    SpinnakerJson,
    error_responses,
    gate_json,
    gate_route,
    not_found,
    read_spinnaker_json,
)
from gateway.relay import relayed_field
from gateway.route_context import RouteContext
from gateway.routing import Response, Route, read_query
from schemas.front50 import (
    DeletePipeline,
    GetPipelineConfig,
    GetPipelineHistory,
    GetProject,
    History,
    ListPipelineConfigs,
    PipelineFound,
    PipelineList,
    ProjectFound,
    RenamePipeline,
    ReorderPipelines,
    SavePipeline,
)
from schemas.json_types import Json
from schemas.orca_engine import ExecutionList, ListExecutions
from schemas.secrets import hidden_json

TAG = "pipelines"


class Stage(SpinnakerJson):
    """One stage; ``refId`` and ``requisiteStageRefIds`` make the stage graph."""

    type: str = Field(description="The stage type, e.g. 'wait', 'deployManifest'")
    name: str | None = None
    ref_id: str | None = Field(default=None, description="This stage's id in the graph", examples=["1"])
    requisite_stage_ref_ids: list[str] | None = Field(default=None, description="refIds this stage waits for")


class Trigger(SpinnakerJson):
    """A trigger (cron, jenkins, docker, pipeline, webhook...); its other fields depend on ``type``."""

    type: str
    enabled: bool | None = None


class Parameter(SpinnakerJson):
    """A pipeline parameter the trigger or the user fills in."""

    name: str
    default: Any = None
    required: bool | None = None


class PipelineConfig(SpinnakerJson):
    """A pipeline config as Spinnaker exports it; fields beyond these are stored as given."""

    application: str = Field(min_length=1, examples=["shop"])
    name: str = Field(min_length=1, examples=["deploy to prod"])
    id: str | None = Field(default=None, description="Set to update an existing pipeline; omit to create one")
    stages: list[Stage] | None = None
    triggers: list[Trigger] | None = None
    parameter_config: list[Parameter] | None = None
    notifications: list[SpinnakerJson] | None = None
    keep_waiting_pipelines: bool | None = None
    limit_concurrent: bool | None = None
    disabled: bool | None = None
    index: int | None = None
    update_ts: str | int | None = Field(default=None, description="The version the client read (for staleCheck)")
    last_modified_by: str | None = None


class PipelineConfigList(RootModel[list[PipelineConfig]]):
    """Pipeline configs, sorted by index then name."""


class PipelineHistory(RootModel[list[PipelineConfig]]):
    """Versions of a pipeline config, newest first."""


class Executions(RootModel[list[Json]]):
    """Pipeline executions (none until Orca runs pipelines)."""


class Done(SpinnakerJson):
    """An empty object: the change is stored."""


class SaveQuery(ApiModel):
    """Gate's ``staleCheck``: refuse (409) to overwrite a version other than the ``updateTs`` sent."""

    stale_check: bool = False


class RenameCommand(ApiModel):
    """Gate's ``POST /pipelines/move`` body."""

    application: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1, description="The pipeline's current name")
    to: str = Field(min_length=1, description="Its new name")


class ReorderCommand(ApiModel):
    """Gate's ``POST /actions/pipelines/reorder`` body: each pipeline id's new index."""

    application: str = Field(min_length=1)
    ids_to_indices: dict[str, int]
    is_strategy: bool = False


class HistoryQuery(ApiModel):
    """How many versions to return."""

    limit: int = Field(default=20, ge=1, le=1000)


class ExecutionsQuery(ApiModel):
    """Gate's execution filters."""

    limit: int = Field(default=5, ge=1, le=1000)
    statuses: str | None = Field(default=None, description="Comma-separated statuses, e.g. 'RUNNING,TERMINAL'")


GATE_FIELDS = {"from_name": "from", "to_name": "to", "ids_to_indices": "idsToIndices"}
"""Front50 names the fields of its commands; the client knows them by Gate's body names."""


def _rejected_in_gate_terms(error: CommandRejected) -> CommandRejected:
    error.field = GATE_FIELDS.get(error.field or "", error.field)
    return error


async def _send(
    request: web.Request, command: SavePipeline | DeletePipeline | RenamePipeline | ReorderPipelines
) -> Json:
    try:
        return (await send_command(request, command)).data
    except CommandRejected as error:
        raise _rejected_in_gate_terms(error) from None


def _listing(pipelines: list[Json]) -> web.Response:
    """Like :func:`gate_json`, serialised in one pass by pydantic-core: a list may be large (100 pipelines
    are ~90 KB), and this is Deck's most frequent read."""
    return web.Response(body=hidden_json(pipelines), content_type="application/json", charset="utf-8")


def _application_key(pipeline: Json) -> str:
    return str(pipeline.get("application") or "").strip().lower()


async def _may_replace(request: web.Request, pipeline: PipelineConfig) -> None:
    """403 unless the caller may WRITE the application that holds the pipeline ``pipeline.id`` now.

    Saving with an ``id`` replaces that pipeline wherever it is, so WRITE on the application named
    in the body is not enough when the id belongs to another application's pipeline. The refusal
    names the pipeline, not the application the caller may not know.
    """
    if not pipeline.id:
        return
    current = (await ask(request, GetPipelineConfig(id=pipeline.id), PipelineFound)).pipeline
    if current is None or _application_key(current) == pipeline.application.strip().lower():
        return
    application = await last_known_application(request, _application_key(current))
    require_on(request, application, Permission.WRITE, kind="pipeline", name=pipeline.id)


@gate_route
async def save_pipeline(request: web.Request) -> web.Response:
    """Save a pipeline definition; answers once Front50 has stored it, with what it stored."""
    query = read_query(request, SaveQuery)
    checked, pipeline = await read_spinnaker_json(request, PipelineConfig)
    await application_for(request, checked.application, Permission.WRITE)
    await _may_replace(request, checked)
    expected = str(checked.update_ts) if query.stale_check and checked.update_ts is not None else None
    authority = authority_of(request)
    saved = await _send(request, SavePipeline(pipeline=pipeline, authority=authority, expected_update_ts=expected))
    return gate_json(saved.get("pipeline", {}))


@gate_route
async def delete_pipeline(request: web.Request) -> web.Response:
    """Delete a pipeline definition."""
    application, name = request.match_info["application"], request.match_info["pipelineName"]
    await application_for(request, application, Permission.WRITE)
    await _send(request, DeletePipeline(application=application, name=name, authority=authority_of(request)))
    return gate_json({})


@gate_route
async def rename_pipeline(request: web.Request) -> web.Response:
    """Rename a pipeline definition; its id and history stay."""
    command, _ = await read_spinnaker_json(request, RenameCommand)
    await application_for(request, command.application, Permission.WRITE)
    authority = authority_of(request)
    await _send(
        request,
        RenamePipeline(
            application=command.application, from_name=command.from_, to_name=command.to, authority=authority
        ),
    )
    return gate_json({})


@gate_route
async def reorder_pipelines(request: web.Request) -> web.Response:
    """Give an application's pipelines new indices (Deck's drag and drop)."""
    command, _ = await read_spinnaker_json(request, ReorderCommand)
    if command.is_strategy:
        raise GateError(400, "reordering strategies is not supported yet; send isStrategy=false", field="isStrategy")
    await application_for(request, command.application, Permission.WRITE)
    authority = authority_of(request)
    await _send(
        request,
        ReorderPipelines(application=command.application, ids_to_indices=command.ids_to_indices, authority=authority),
    )
    return gate_json({})


@gate_route
async def get_pipeline_configs_for_application(request: web.Request) -> web.Response:
    """An application's pipeline configs."""
    application = request.match_info["application"]
    route = RouteContext.of(request)
    await application_for(route, application, Permission.READ)
    listed = await route.ask_raw(ListPipelineConfigs(application=application), PipelineList)
    return relayed_field(listed, "pipelines")


@gate_route
async def get_pipeline_config(request: web.Request) -> web.Response:
    """One pipeline config of an application, by name."""
    application, name = request.match_info["application"], request.match_info["pipelineName"]
    await application_for(request, application, Permission.READ)
    found = await ask(request, GetPipelineConfig(application=application, name=name), PipelineFound)
    if found.pipeline is None:
        raise not_found(f"Pipeline config not found (application: {application}, name: {name})")
    return gate_json(found.pipeline)


@gate_route
async def get_all_pipeline_configs(request: web.Request) -> web.Response:
    """Every pipeline config of every application the caller may READ."""
    listed = (await ask(request, ListPipelineConfigs(), PipelineList)).pipelines
    allowed = await readable_application_names(request, (pipeline.get("application") for pipeline in listed))
    return _listing([pipeline for pipeline in listed if _application_key(pipeline) in allowed])


@gate_route
async def get_pipeline_config_history(request: web.Request) -> web.Response:
    """Versions of one pipeline config, newest first (the current one first).

    Needs READ on every application the pipeline belonged to in the versions returned (a pipeline
    saved under another application's id carries that application's versions along).
    """
    query = read_query(request, HistoryQuery)
    pipeline_id = request.match_info["pipelineConfigId"]
    history = await ask(request, GetPipelineHistory(id=pipeline_id, limit=query.limit), History)
    current = (await ask(request, GetPipelineConfig(id=pipeline_id), PipelineFound)).pipeline
    latest = current or (history.versions[0] if history.versions else None)
    if latest is None:
        raise not_found(f"Pipeline config not found (id: {pipeline_id})")
    owners = {_application_key(version) for version in [latest, *history.versions]}
    if not owners <= await readable_application_names(request, owners):
        raise GateError(403, f"Access denied to pipeline config {pipeline_id} - required authorization: READ")
    return gate_json(history.versions)


@gate_route
async def get_project_pipelines(request: web.Request) -> web.Response:
    """The latest executions (``limit`` each) of the pipelines a project lists in
    ``config.pipelineConfigs``, newest first, of the applications the caller may READ."""
    query = read_query(request, ExecutionsQuery)
    project_id = request.match_info["id"]
    found = await ask(request, GetProject(id_or_name=project_id), ProjectFound)
    if found.project is None:
        raise not_found(f"Project not found (id: {project_id})")
    listed = (found.project.get("config") or {}).get("pipelineConfigs") or []
    config_ids = [
        str(item["pipelineConfigId"]) for item in listed if isinstance(item, dict) and item.get("pipelineConfigId")
    ]
    statuses = [status.strip().upper() for status in (query.statuses or "").split(",") if status.strip()]
    executions: list[Json] = []
    for config_id in dict.fromkeys(config_ids):
        asked = ListExecutions(pipeline_config_ids=[config_id], limit=query.limit, statuses=statuses)
        executions.extend((await ask(request, asked, ExecutionList)).executions)
    allowed = await readable_application_names(request, (execution.get("application") for execution in executions))
    shown = [execution for execution in executions if str(execution.get("application") or "").lower() in allowed]
    shown.sort(key=lambda execution: execution.get("buildTime") or 0, reverse=True)
    return gate_json(shown)


_WRITE_ERRORS = error_responses(400, 403, 404, 409, 504)
_READ_ERRORS = error_responses(403, 404, 504)

ROUTES = (
    Route(
        "POST",
        "/pipelines",
        save_pipeline,
        summary="Save a pipeline definition",
        description="Answers once Front50 has stored it, with the stored pipeline (its id and updateTs).",
        tag=TAG,
        body=PipelineConfig,
        query=SaveQuery,
        responses={200: Response("The stored pipeline", PipelineConfig), **_WRITE_ERRORS},
    ),
    Route(
        "DELETE",
        "/pipelines/{application}/{pipelineName}",
        delete_pipeline,
        summary="Delete a pipeline definition",
        tag=TAG,
        responses={200: Response("Deleted", Done), **_WRITE_ERRORS},
    ),
    Route(
        "POST",
        "/pipelines/move",
        rename_pipeline,
        summary="Rename a pipeline definition",
        tag=TAG,
        body=RenameCommand,
        responses={200: Response("Renamed", Done), **_WRITE_ERRORS},
    ),
    Route(
        "POST",
        "/actions/pipelines/reorder",
        reorder_pipelines,
        summary="Re-order pipelines",
        tag=TAG,
        body=ReorderCommand,
        responses={200: Response("Re-ordered", Done), **_WRITE_ERRORS},
    ),
    Route(
        "GET",
        "/applications/{application}/pipelineConfigs",
        get_pipeline_configs_for_application,
        summary="Retrieve a list of an application's pipeline configurations",
        tag=TAG,
        responses={200: Response("Pipeline configs", PipelineConfigList), **_READ_ERRORS},
    ),
    Route(
        "GET",
        "/applications/{application}/pipelineConfigs/{pipelineName}",
        get_pipeline_config,
        summary="Retrieve a pipeline configuration",
        tag=TAG,
        responses={200: Response("The pipeline config", PipelineConfig), **_READ_ERRORS},
    ),
    Route(
        "GET",
        "/pipelineConfigs",
        get_all_pipeline_configs,
        summary="Get all pipeline configs",
        tag=TAG,
        responses={200: Response("Pipeline configs the caller may READ", PipelineConfigList), 504: _READ_ERRORS[504]},
    ),
    Route(
        "GET",
        "/pipelineConfigs/{pipelineConfigId}/history",
        get_pipeline_config_history,
        summary="Get pipeline config history",
        tag=TAG,
        query=HistoryQuery,
        responses={200: Response("Versions, newest first", PipelineHistory), **error_responses(400, 403, 404, 504)},
    ),
    Route(
        "GET",
        "/projects/{id}/pipelines",
        get_project_pipelines,
        summary="Get a project's pipeline executions",
        tag="projects",
        query=ExecutionsQuery,
        responses={200: Response("Executions, newest first", Executions), **error_responses(400, 404, 504)},
    ),
)
