"""Gate's v2 pipeline template routes (``V2PipelineTemplatesController``): ``/v2/pipelineTemplates``.

Paths, query parameters and bodies are Gate's, so ``spin pipeline-templates`` and Deck work
unchanged: list (``?scopes=``), ``/versions``, ``/create?tag=``, ``/update/{id}?tag=``, ``GET`` and
``DELETE /{id}?tag=|digest=``, ``/{id}/dependents`` (and Front50's ``/{id}/dependentPipelines``) and
``/plan``. Gate files creates, updates and deletes as Orca tasks and answers with the finished task;
here each is one Front50 command and the answer is the finished task's gist (``status: SUCCEEDED``
and what was stored). Who may read or change a template is Front50's decision
(:mod:`schemas.pipeline_templates`), so refusals keep its status: 400 naming the field, 403, 404,
409 for a version created twice. ``/plan`` asks Orca to render a ``templatedPipeline`` config as it
would start it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from aiohttp import web
from pydantic import Field, RootModel

from gateway.access import readable_application_names
from gateway.api_model import ApiModel
from gateway.auth.middleware import authority_of
from gateway.command_results import ask, send_command
from gateway.gate_api import GateError, SpinnakerJson, gate_json, gate_operation, gate_route, not_found
from gateway.routing import Response, read_document, read_query
from schemas.json_types import Json
from schemas.pipeline_templates import (
    SCHEMA,
    DeletePipelineTemplate,
    GetPipelineTemplate,
    ListPipelineTemplates,
    ListTemplateDependents,
    PipelineTemplateFound,
    PipelineTemplateList,
    PlanTemplatedPipeline,
    SavePipelineTemplate,
    TemplateDependents,
    TemplatedPipelinePlan,
    owning_application,
)

TAG = "v2 pipeline templates"


class Variable(SpinnakerJson):
    """A template variable: its name, type (int, float, bool, string, list, object) and default."""

    name: str = Field(min_length=1, max_length=128)
    type: str | None = None
    default_value: Any = None
    nullable: bool | None = None


class PipelineTemplate(SpinnakerJson):
    """A v2 pipeline template: ``schema: v2``, ``id``, ``metadata``, ``variables`` and a ``pipeline``."""

    id: str = Field(min_length=1, max_length=128, examples=["deploy-service"])
    schema_: str | None = Field(default=None, alias="schema", examples=["v2"])
    metadata: SpinnakerJson | None = None
    variables: list[Variable] | None = None
    pipeline: SpinnakerJson | None = None


class PipelineTemplates(RootModel[list[PipelineTemplate]]):
    """Stored template versions, each with its ``tag`` and ``digest``."""


class Versions(RootModel[dict[str, list[PipelineTemplate]]]):
    """Each template id's stored versions."""


class Dependent(ApiModel):
    """A pipeline config that uses a template (Gate's ``PipelineTemplateDependent``)."""

    application: str
    pipeline_config_id: str
    pipeline_name: str


class Dependents(RootModel[list[Dependent]]):
    """The pipeline configs that use a template."""


class DependentPipelines(RootModel[list[SpinnakerJson]]):
    """The whole pipeline configs that use a template."""


class TemplatedConfig(SpinnakerJson):
    """A ``templatedPipeline`` config: ``schema: v2``, ``application``, ``name``, ``template: {reference}``,
    ``variables``, ``exclude``/``inherit`` and ``stages`` overrides."""

    type: str = Field(examples=["templatedPipeline"])
    application: str = Field(min_length=1)
    template: SpinnakerJson | None = None
    variables: SpinnakerJson | None = None


class TaskResult(SpinnakerJson):
    """The gist of Gate's finished task: its status, and the template stored (``pipelineTemplate``)."""

    status: str = Field(examples=["SUCCEEDED"])


class ScopesQuery(ApiModel):
    """Front50's ``scopes`` filter: templates whose ``metadata.scopes`` names one of these."""

    scopes: str | None = Field(default=None, description="Comma-separated scopes (applications)")


class TagQuery(ApiModel):
    """The version saved: one of latest, stable, unstable, experimental, test, canary."""

    tag: str | None = Field(default=None, max_length=64)
    skip_plan_dependents: bool = False


class VersionQuery(ApiModel):
    """One version: by ``tag`` or by ``digest`` (not both)."""

    tag: str | None = Field(default=None, max_length=64)
    digest: str | None = Field(default=None, max_length=64)
    application: str | None = Field(default=None, max_length=256, description="Gate files the delete task here")


def _scopes(query: ScopesQuery) -> list[str]:
    return [scope.strip() for scope in (query.scopes or "").split(",") if scope.strip()][:100]


def _shown(template: Json) -> Json:
    """A template as Front50's ``GET`` returns it: without its accounting (``digest``, ``tag``)."""
    return {key: value for key, value in template.items() if key not in ("digest", "tag")}


async def _listed(request: web.Request) -> PipelineTemplateList:
    scopes = _scopes(read_query(request, ScopesQuery))
    return await ask(
        request, ListPipelineTemplates(scopes=scopes, authority=authority_of(request)), PipelineTemplateList
    )


@gate_route
async def list_templates(request: web.Request) -> web.Response:
    """Every stored template version the caller may read."""
    scopes = _scopes(read_query(request, ScopesQuery))
    listed = await ask(
        request, ListPipelineTemplates(scopes=scopes, authority=authority_of(request)), PipelineTemplateList
    )
    return gate_json(listed.templates)


@gate_route
async def list_versions(request: web.Request) -> web.Response:
    """Each v2 template id's stored versions."""
    scopes = _scopes(read_query(request, ScopesQuery))
    listed = await ask(
        request, ListPipelineTemplates(scopes=scopes, authority=authority_of(request)), PipelineTemplateList
    )
    grouped: dict[str, list[Json]] = defaultdict(list)
    for template in listed.templates:
        if template.get("schema") == SCHEMA:
            grouped[str(template.get("id"))].append(template)
    return gate_json(dict(grouped))


async def _save(request: web.Request, update_id: str | None) -> web.Response:
    query = read_query(request, TagQuery)
    _, template = await read_document(request, PipelineTemplate)
    if not isinstance(template, dict):
        raise GateError(400, "the request body must be a pipeline template (a JSON object)", field="body")
    command = SavePipelineTemplate(
        template=template, tag=query.tag, update_id=update_id, authority=authority_of(request)
    )
    saved = (await send_command(request, command)).data.get("template") or {}
    verb = "Update" if update_id else "Create"
    name = (saved.get("metadata") or {}).get("name") or saved.get("id")
    return gate_json(
        {
            "status": "SUCCEEDED",
            "name": f"{verb} pipeline template '{name}'",
            "application": owning_application(saved),
            "pipelineTemplate": saved,
        }
    )


@gate_route
async def create_template(request: web.Request) -> web.Response:
    """Create a template version; 409 if that version exists."""
    return await _save(request, None)


@gate_route
async def update_template(request: web.Request) -> web.Response:
    """Update (or create) the version of template ``id`` under ``tag``."""
    return await _save(request, request.match_info["id"])


@gate_route
async def get_template(request: web.Request) -> web.Response:
    """One template version, by ``tag`` or ``digest``; without either, the untagged save, else ``latest``."""
    query = read_query(request, VersionQuery)
    if query.tag and query.digest:
        raise GateError(400, "Cannot query pipeline by 'tag' and 'digest' simultaneously", field="digest")
    template_id = request.match_info["id"]
    asked = GetPipelineTemplate(id=template_id, tag=query.tag, digest=query.digest, authority=authority_of(request))
    found = await ask(request, asked, PipelineTemplateFound)
    if found.refused is not None:
        raise GateError(403, found.refused)
    if found.template is None:
        raise not_found(f"Pipeline template not found (id: {template_id})")
    return gate_json(_shown(found.template))


@gate_route
async def delete_template(request: web.Request) -> web.Response:
    """Delete a template version (``tag`` or ``digest``), or all of them; 400 while a pipeline uses it."""
    query = read_query(request, VersionQuery)
    template_id = request.match_info["id"]
    command = DeletePipelineTemplate(
        id=template_id, tag=query.tag, digest=query.digest, authority=authority_of(request)
    )
    deleted = (await send_command(request, command)).data
    return gate_json({"status": "SUCCEEDED", "name": f"Delete pipeline template '{template_id}'", **deleted})


@gate_route
async def list_dependents(request: web.Request) -> web.Response:
    """The pipeline configs using template ``id`` that the caller may READ."""
    found = await ask(request, ListTemplateDependents(id=request.match_info["id"]), TemplateDependents)
    allowed = await readable_application_names(request, (p.get("application") for p in found.pipelines))
    return gate_json(
        [
            {"application": p.get("application"), "pipelineConfigId": p.get("id"), "pipelineName": p.get("name")}
            for p in found.pipelines
            if str(p.get("application") or "").lower() in allowed
        ]
    )


@gate_route
async def list_dependent_pipelines(request: web.Request) -> web.Response:
    """Front50's ``/{id}/dependentPipelines``: the whole configs using template ``id`` that the caller may READ."""
    found = await ask(request, ListTemplateDependents(id=request.match_info["id"]), TemplateDependents)
    allowed = await readable_application_names(request, (p.get("application") for p in found.pipelines))
    return gate_json([p for p in found.pipelines if str(p.get("application") or "").lower() in allowed])


@gate_route
async def plan(request: web.Request) -> web.Response:
    """The pipeline a ``templatedPipeline`` config renders to, as Orca would start it."""
    _, config = await read_document(request, TemplatedConfig)
    trigger = config.get("trigger") if isinstance(config.get("trigger"), dict) else {}
    asked = PlanTemplatedPipeline(pipeline=config, trigger=trigger, authority=authority_of(request))
    planned = await ask(request, asked, TemplatedPipelinePlan)
    if planned.pipeline is None:
        raise GateError(
            planned.status, planned.reason or "the templated pipeline cannot be rendered", field=planned.field
        )
    return gate_json(planned.pipeline)


_WRITE = (400, 403, 404, 409, 504)
_READ = (400, 403, 404, 504)
_route = functools.partial(gate_operation, TAG)

ROUTES = (
    _route(
        "GET",
        "/v2/pipelineTemplates",
        list_templates,
        "(ALPHA) List pipeline templates.",
        Response("Template versions", PipelineTemplates),
        400,
        504,
        query=ScopesQuery,
    ),
    _route(
        "GET",
        "/v2/pipelineTemplates/versions",
        list_versions,
        "List pipeline templates with versions",
        Response("Versions by template id", Versions),
        400,
        504,
        query=ScopesQuery,
    ),
    _route(
        "POST",
        "/v2/pipelineTemplates/plan",
        plan,
        "(ALPHA) Plan a pipeline template configuration.",
        Response("The rendered pipeline", SpinnakerJson),
        *_READ,
        body=TemplatedConfig,
    ),
    _route(
        "POST",
        "/v2/pipelineTemplates/create",
        create_template,
        "(ALPHA) Create a pipeline template.",
        Response("Stored", TaskResult),
        *_WRITE,
        body=PipelineTemplate,
        query=TagQuery,
    ),
    _route(
        "POST",
        "/v2/pipelineTemplates/update/{id}",
        update_template,
        "(ALPHA) Update a pipeline template.",
        Response("Stored", TaskResult),
        *_WRITE,
        body=PipelineTemplate,
        query=TagQuery,
    ),
    _route(
        "GET",
        "/v2/pipelineTemplates/{id}",
        get_template,
        "(ALPHA) Get a pipeline template.",
        Response("The template", PipelineTemplate),
        *_READ,
        query=VersionQuery,
    ),
    _route(
        "DELETE",
        "/v2/pipelineTemplates/{id}",
        delete_template,
        "Delete a pipeline template.",
        Response("Deleted", TaskResult),
        *_WRITE,
        query=VersionQuery,
    ),
    _route(
        "GET",
        "/v2/pipelineTemplates/{id}/dependents",
        list_dependents,
        "(ALPHA) List all pipelines that implement a pipeline template",
        Response("Dependent pipeline configs", Dependents),
        504,
    ),
    _route(
        "GET",
        "/v2/pipelineTemplates/{id}/dependentPipelines",
        list_dependent_pipelines,
        "List the pipeline configs that use a pipeline template (Front50's shape)",
        Response("Dependent pipeline configs", DependentPipelines),
        504,
    ),
)
