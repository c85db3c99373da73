"""Rosco's bakery behind Gate: bake, read a bake's status, details and logs, cancel; the bake options.

Rosco's own paths, as Orca and scripts call them: ``POST /api/v1/{region}/bake`` (Rosco's
``BakeRequest`` in snake_case; ``?rebake=1`` bakes anew; ``?application=`` names the application
the bake is for, which needs EXECUTE) answers Rosco's ``BakeStatus`` — the earlier bake's when an
identical one was requested before. ``GET /api/v1/{region}/status/{statusId}``, ``/bake/{bakeId}``
(Rosco's ``Bake``: ``ami``, ``image_name``, ``artifact``) and ``/logs/{statusId}``
(``{"logsContent": …}``) need READ on the bake's application; ``POST
/api/v1/{region}/cancel/{statusId}`` needs EXECUTE (Rosco takes a GET; a write here is a POST so
no link or cross-site page can cancel a bake). Gate's own ``/bakery/options``,
``/bakery/options/{cloudProvider}`` and ``/bakery/logs/{region}/{statusId}`` relay the same. Rosco
checks the authority each command and query carries; the gateway's check is the first.
"""

from __future__ import annotations

import functools
from typing import Literal

from aiohttp import web
from pydantic import Field, RootModel
from ulid import ULID

from gateway.access import application_for
from gateway.api_model import ApiModel
from gateway.auth.middleware import authority_of
from gateway.command_results import ask, send_command
from gateway.gate_api import GateError, gate_json, gate_operation, gate_route, not_found
from gateway.idempotency import DOCUMENTED as IDEMPOTENCY_HEADER
from gateway.idempotency import client_key
from gateway.routing import Response, read_document, read_query
from schemas.authority import Permission
from schemas.idempotency import derive
from schemas.json_types import Json
from schemas.rosco import BakeFound, BakeOptionsFound, BakeRequestBody, CancelBake, CreateBake, GetBake, ListBakeOptions

TAG = "bakery"


class BakeQuery(ApiModel):
    """``POST /api/v1/{region}/bake``'s query parameters."""

    application: str = Field(min_length=1, max_length=256, description="The application the bake is for")
    rebake: str = Field("0", pattern=r"^(0|1|true|false)$", description="1 bakes anew even if a bake of the key exists")


class BakeStatus(ApiModel):
    """Rosco's ``BakeStatus``."""

    model_config = {"extra": "allow"}
    id: str
    state: str | None = None
    result: str | None = None


class Logs(ApiModel):
    """A bake's Packer output."""

    logs_content: str


class JsonList(RootModel[list[Json]]):
    """Rosco's ``BakeOptions``, one per cloud provider."""


class Message(RootModel[str]):
    """Rosco's one-line answer."""


def _region(request: web.Request) -> str:
    region = request.match_info["region"]
    if not 0 < len(region) <= 64:
        raise GateError(400, "region must be 1 to 64 characters", field="region")
    return region


@gate_route
async def create_bake(request: web.Request) -> web.Response:
    """Bake, or answer the earlier bake of an identical request."""
    region = _region(request)
    query = read_query(request, BakeQuery)
    await application_for(request, query.application, Permission.EXECUTE)
    body, raw = await read_document(request, BakeRequestBody)
    authority = authority_of(request)
    key = client_key(request, {"query": dict(sorted(request.query.items())), "body": raw}, scope=authority.user)
    bake_id = derive("rosco.bake", key.scope, key.key)[:26] if key else str(ULID()).lower()
    command = CreateBake(
        bake_id=bake_id,
        region=region,
        application=query.application,
        request=body,
        rebake=query.rebake in ("1", "true"),
        authority=authority,
    )
    answer = await send_command(request, command)
    return gate_json(answer.data["status"])


async def _bake(request: web.Request, what: Literal["status", "bake", "logs"], id_key: str) -> BakeFound:
    asked = GetBake(
        bake_id=request.match_info[id_key][:64], region=_region(request), what=what, authority=authority_of(request)
    )
    found = await ask(request, asked, BakeFound)
    if found.error is not None:
        raise not_found(found.error)
    return found


@gate_route
async def bake_status(request: web.Request) -> web.Response:
    """A bake's ``BakeStatus`` (a PENDING one says how many bakes wait ahead of it)."""
    return gate_json((await _bake(request, "status", "statusId")).bake_status)


@gate_route
async def bake_details(request: web.Request) -> web.Response:
    """A successful bake's ``Bake``."""
    return gate_json((await _bake(request, "bake", "bakeId")).bake)


@gate_route
async def bake_logs(request: web.Request) -> web.Response:
    """A bake's Packer output so far."""
    return gate_json({"logsContent": (await _bake(request, "logs", "statusId")).logs_content})


@gate_route
async def cancel_bake(request: web.Request) -> web.Response:
    """Cancel an incomplete bake: its Packer stops and its stages fail."""
    command = CancelBake(
        bake_id=request.match_info["statusId"][:64], region=_region(request), authority=authority_of(request)
    )
    answer = await send_command(request, command)
    return gate_json(answer.data["message"])


@gate_route
async def bake_options(request: web.Request) -> web.Response:
    """Every cloud provider's bake options."""
    return await _options(request, None)


@gate_route
async def provider_bake_options(request: web.Request) -> web.Response:
    """One cloud provider's bake options."""
    return await _options(request, request.match_info["cloudProvider"])


@gate_route
async def bakery_logs(request: web.Request) -> web.Response:
    """Gate's path to a bake's Packer output."""
    return gate_json({"logsContent": (await _bake(request, "logs", "statusId")).logs_content})


async def _options(request: web.Request, provider: str | None) -> web.Response:
    if provider is not None and (len(provider) > 32 or not provider):
        raise GateError(400, "cloudProvider must be 1 to 32 characters", field="cloudProvider")
    found = await ask(request, ListBakeOptions(cloud_provider=provider), BakeOptionsFound)
    if found.error is not None:
        raise not_found(found.error)
    return gate_json(found.options[0] if provider is not None else found.options)


_route = functools.partial(gate_operation, TAG)


ROUTES = (
    _route(
        "POST",
        "/api/v1/{region}/bake",
        create_bake,
        "Create a bake (or answer the earlier bake of an identical request)",
        Response("The bake's status", BakeStatus),
        400,
        403,
        404,
        422,
        503,
        504,
        body=BakeRequestBody,
        query=BakeQuery,
        headers=IDEMPOTENCY_HEADER,
    ),
    _route(
        "GET",
        "/api/v1/{region}/status/{statusId}",
        bake_status,
        "Look up bake request status",
        Response("The bake's status", BakeStatus),
        404,
        504,
    ),
    _route(
        "GET",
        "/api/v1/{region}/bake/{bakeId}",
        bake_details,
        "Look up bake details",
        Response("The bake", BakeStatus),
        404,
        504,
    ),
    _route(
        "GET", "/api/v1/{region}/logs/{statusId}", bake_logs, "Look up a bake's logs", Response("Logs", Logs), 404, 504
    ),
    _route(
        "POST",
        "/api/v1/{region}/cancel/{statusId}",
        cancel_bake,
        "Cancel bake request",
        Response("What was canceled", Message),
        403,
        404,
        504,
    ),
    _route(
        "GET",
        "/bakery/options",
        bake_options,
        "Retrieve a list of available bakery base images, grouped by cloud provider",
        Response("Bake options", JsonList),
        504,
    ),
    _route(
        "GET",
        "/bakery/options/{cloudProvider}",
        provider_bake_options,
        "Retrieve a list of available bakery base images for a given cloud provider",
        Response("Bake options", BakeStatus),
        404,
        504,
    ),
    _route(
        "GET",
        "/bakery/logs/{region}/{statusId}",
        bakery_logs,
        "Retrieve the logs for a given bake",
        Response("Logs", Logs),
        404,
        504,
    ),
)
"""Rosco's API and Gate's bakery routes."""
