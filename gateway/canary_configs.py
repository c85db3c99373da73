"""Gate's ``/v2/canaryConfig``: Kayenta's canary configs, stored by Front50.

Shapes are Kayenta's, as Gate relays them: the list is summaries (``id``, ``name``,
``updatedTimestamp``, ``updatedTimestampIso``, ``applications``), filterable by ``application``;
one config is its whole JSON; POST and PUT answer ``{"canaryConfigId": id}`` once Front50 has
stored it; DELETE answers 204. A caller sees a config when it may READ one of the applications
it lists; Front50 judges writes (WRITE on every listed application) and validates the config as
Kayenta does, and its refusal (400 naming the field, 403, 404) is the answer.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, RootModel

from gateway.access import find_application, permissions_of
from gateway.api_model import ApiModel
from gateway.auth.access import readable
from gateway.auth.middleware import authority_of, principal_of
from gateway.command_results import ask, send_command
from gateway.gate_api import SpinnakerJson, error_responses, gate_json, gate_route, not_found, read_spinnaker_json
from gateway.routing import Response, Route, read_query
from schemas.authority import Permission, can
from schemas.canary_configs import (
    CanaryConfigFound,
    CanaryConfigList,
    DeleteCanaryConfig,
    GetCanaryConfig,
    ListCanaryConfigs,
    SaveCanaryConfig,
)
from schemas.json_types import Json

TAG = "canary configs"


class CanaryConfig(SpinnakerJson):
    """Kayenta's canary config; every field is kept as sent and Front50 validates it."""

    name: str | None = Field(default=None, examples=["latency"])
    applications: list[str] | None = Field(default=None, examples=[["shop"]])
    metrics: list[Json] | None = None
    classifier: Json | None = None
    judge: Json | None = None


class CanaryConfigSummary(ApiModel):
    """One entry of the list."""

    id: str
    name: str
    updated_timestamp: int | None = None
    updated_timestamp_iso: str | None = None
    applications: list[str] = []


class CanaryConfigSummaries(RootModel[list[CanaryConfigSummary]]):
    """The canary configs the caller may READ."""


class CanaryConfigUpdate(ApiModel):
    """Kayenta's ``CanaryConfigUpdateResponse``."""

    canary_config_id: str


class ListQuery(ApiModel):
    """Gate's filter."""

    application: str | None = Field(default=None, max_length=256, description="Only configs of this application")


async def may_read(request: web.Request, config: Json) -> bool:
    """Whether the caller may READ one of the applications ``config`` lists."""
    principal = principal_of(request)
    for name in config.get("applications") or []:
        application = await find_application(request, str(name))
        if can(principal, permissions_of(application), Permission.READ):
            return True
    return False


def summary(config: Json) -> Json:
    """Kayenta's summary of a canary config."""
    return {
        "id": config.get("id"),
        "name": config.get("name"),
        "updatedTimestamp": config.get("updatedTimestamp"),
        "updatedTimestampIso": config.get("updatedTimestampIso"),
        "applications": config.get("applications") or [],
    }


async def readable_config(request: web.Request, config_id: str) -> Json:
    """The config ``config_id``; 404 when it is missing or the caller may not READ it (nothing leaks)."""
    found = (await ask(request, GetCanaryConfig(config_id=config_id), CanaryConfigFound)).canary_config
    if found is None or not await may_read(request, found):
        raise not_found(f"Canary config with id '{config_id}' not found")
    return found


@gate_route
async def list_canary_configs(request: web.Request) -> web.Response:
    """Summaries of the canary configs the caller may READ."""
    query = read_query(request, ListQuery)
    configs = (await ask(request, ListCanaryConfigs(application=query.application), CanaryConfigList)).canary_configs
    applications = {str(a).lower() for config in configs for a in config.get("applications") or []}
    found = {name: await find_application(request, name) for name in sorted(applications)}
    principal = principal_of(request)
    allowed = {name for name in readable(principal, found, lambda n: permissions_of(found[n]))}
    shown = [c for c in configs if any(str(a).lower() in allowed for a in c.get("applications") or [])]
    return gate_json([summary(config) for config in shown])


@gate_route
async def get_canary_config(request: web.Request) -> web.Response:
    """One canary config."""
    return gate_json(await readable_config(request, request.match_info["id"]))


async def _save(request: web.Request, config_id: str | None) -> web.Response:
    _, body = await read_spinnaker_json(request, CanaryConfig)
    command = SaveCanaryConfig(
        canary_config=body, config_id=config_id, create=config_id is None, authority=authority_of(request)
    )
    saved = (await send_command(request, command)).data
    return gate_json({"canaryConfigId": saved["canary_config"]["id"]})


@gate_route
async def create_canary_config(request: web.Request) -> web.Response:
    """Store a new canary config (an ``id`` in the body is kept; else one is made)."""
    return await _save(request, None)


@gate_route
async def update_canary_config(request: web.Request) -> web.Response:
    """Replace canary config ``id``."""
    return await _save(request, request.match_info["id"])


@gate_route
async def delete_canary_config(request: web.Request) -> web.Response:
    """Delete canary config ``id``."""
    await send_command(request, DeleteCanaryConfig(config_id=request.match_info["id"], authority=authority_of(request)))
    return web.Response(status=204)


ROUTES = (
    Route(
        "GET",
        "/v2/canaryConfig",
        list_canary_configs,
        summary="Retrieve a list of canary configurations",
        tag=TAG,
        query=ListQuery,
        responses={200: Response("Summaries", CanaryConfigSummaries), **error_responses(400, 504)},
    ),
    Route(
        "GET",
        "/v2/canaryConfig/{id}",
        get_canary_config,
        summary="Retrieve a canary configuration by id",
        tag=TAG,
        responses={200: Response("The canary config", CanaryConfig), **error_responses(404, 504)},
    ),
    Route(
        "POST",
        "/v2/canaryConfig",
        create_canary_config,
        summary="Create a canary configuration",
        tag=TAG,
        body=CanaryConfig,
        responses={200: Response("Its id", CanaryConfigUpdate), **error_responses(400, 403, 503, 504)},
    ),
    Route(
        "PUT",
        "/v2/canaryConfig/{id}",
        update_canary_config,
        summary="Update a canary configuration",
        tag=TAG,
        body=CanaryConfig,
        responses={200: Response("Its id", CanaryConfigUpdate), **error_responses(400, 403, 404, 503, 504)},
    ),
    Route(
        "DELETE",
        "/v2/canaryConfig/{id}",
        delete_canary_config,
        summary="Delete a canary configuration",
        tag=TAG,
        responses={204: Response("Deleted", media_type=""), **error_responses(403, 404, 503, 504)},
    ),
)
