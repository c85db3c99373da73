"""Gate's Kubernetes reads: an application's server group managers, and one live manifest.

``GET /applications/{app}/serverGroupManagers`` lists what manages the application's server groups
(Kubernetes Deployments, each with the summaries of its ReplicaSets), from Clouddriver's cache, as
Gate's ``ServerGroupManagerController`` does; like the other infrastructure reads
(:mod:`gateway.infrastructure`), an application the caller may not READ is a 403 and resources of
accounts it may not READ are left out.

``GET /manifests/{account}/{location}/{name}`` (``name`` like ``deployment web``, ``location`` its
namespace) answers the object as its cluster holds it now, with its ``status``, ``artifacts`` and
``events``, in the shape of Clouddriver's manifest container (:mod:`workers.clouddriver.manifest_reads`).
An account the caller may not READ is a 403, as is a manifest of an application it may not READ
(Clouddriver's ``PostAuthorize`` on the manifest's moniker); an account, namespace, kind or object
that is not there is a 404 saying which, in Gate's words ("Unable to find deployment web in k8s/web").
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, RootModel

from gateway.access import find_application, require_on, visible
from gateway.api_model import ApiModel
from gateway.auth.errors import AccessDenied
from gateway.auth.model import Permission
from gateway.command_results import ask
from gateway.gate_api import SpinnakerJson, error_responses, gate_route, not_found, relayed_bytes, relayed_json
from gateway.route_context import RouteContext
from gateway.routing import Response, Route, read_query
from schemas.clouddriver import AccountList, ListAccounts
from schemas.clouddriver_cache import NAME_LIMIT, CachedResources, GetManifest, ListServerGroupManagers, ManifestFound

TAG = "infrastructure"


class ServerGroupManagers(RootModel[list[SpinnakerJson]]):
    """Server group managers in accounts the caller may READ, each with its ``serverGroups``."""


class Manifest(SpinnakerJson):
    """Clouddriver's manifest container: the live object and what Deck shows beside it."""

    account: str
    name: str
    location: str
    moniker: SpinnakerJson
    manifest: SpinnakerJson
    status: SpinnakerJson
    artifacts: list[SpinnakerJson]
    events: list[SpinnakerJson]


class ManifestQuery(ApiModel):
    """Clouddriver's option for a manifest read."""

    include_events: bool = Field(True, description="list the Events about the object")


async def _check_application(request: web.Request, name: str) -> None:
    application = await find_application(request, name)
    if application is not None:
        require_on(request, application, Permission.READ, kind="application", name=name)


@gate_route
async def list_server_group_managers(request: web.Request) -> web.Response:
    """The application's server group managers in accounts the caller may READ."""
    application = request.match_info["application"]
    await _check_application(request, application)
    accounts = visible(request, (await ask(request, ListAccounts(), AccountList)).accounts)
    route = RouteContext.of(request)
    query = ListServerGroupManagers(
        application=application,
        accounts=tuple(sorted(str(account["name"]) for account in accounts)),
        authority=route.authority,
    )
    return relayed_bytes((await route.ask_raw(query, CachedResources)).field("resources"))


@gate_route
async def get_manifest(request: web.Request) -> web.Response:
    """One Kubernetes object, live: 404 naming what is missing, 403 without READ on its account or application."""
    account, location, name = (request.match_info[key] for key in ("account", "location", "name"))
    params = read_query(request, ManifestQuery)
    where = f"Unable to find {name} in {account}/{location}"
    accounts = {str(found["name"]): found for found in (await ask(request, ListAccounts(), AccountList)).accounts}
    if account not in accounts:
        raise not_found(f"{where}: there is no account {account!r}")
    require_on(request, accounts[account], Permission.READ, kind="account", name=account)
    if len(location) > NAME_LIMIT or len(name) > 2 * NAME_LIMIT:
        raise not_found(f"{where[:300]}: the location or the name is too long")
    route = RouteContext.of(request)
    query = GetManifest(
        account=account, location=location, name=name, include_events=params.include_events, authority=route.authority
    )
    found = await route.ask(query, ManifestFound)
    if found.application is not None:
        await _check_application(request, found.application)
    if found.refused is not None:
        raise AccessDenied(found.refused)
    if found.manifest is None:
        raise not_found(f"{where}: {found.missing or 'it is not there'}")
    return relayed_json(found.manifest)


ROUTES = (
    Route(
        "GET",
        "/applications/{application}/serverGroupManagers",
        list_server_group_managers,
        summary="Retrieve a list of server group managers for an application",
        tag=TAG,
        responses={200: Response("Server group managers", ServerGroupManagers), **error_responses(403, 504)},
    ),
    Route(
        "GET",
        "/manifests/{account}/{location}/{name}",
        get_manifest,
        summary="Retrieve a manifest as its cluster holds it now, with its status, artifacts and events",
        tag=TAG,
        query=ManifestQuery,
        responses={200: Response("The manifest", Manifest), **error_responses(403, 404, 504)},
    ),
)
