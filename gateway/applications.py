"""Gate's application reads: ``GET /applications``, ``/applications/{application}`` and its history.

Shapes follow Gate's ``ApplicationController``: the list is each application's attributes flat
(filterable by ``account`` and ``owner``), one application is ``{"name", "attributes",
"clusters"}`` (clusters are Clouddriver's and empty until it has a cache), and a missing one is a
404 "Application not found (id: …)". Names are lower-cased as Gate's merge of Front50 and
Clouddriver does. Writes to applications go through ``POST /tasks`` (:mod:`gateway.tasks`).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, RootModel

from gateway.access import all_applications, application_for, visible
from gateway.api_model import ApiModel
from gateway.auth.model import Permission
from gateway.command_results import ask
from gateway.gate_api import SpinnakerJson, error_responses, gate_json, gate_route
from gateway.routing import Response, Route, read_query
from schemas.front50 import GetApplicationHistory, History
from schemas.json_types import Json

TAG = "applications"


class Application(SpinnakerJson):
    """An application's attributes as Front50 stores them; any other attribute is kept as given."""

    name: str = Field(description="The application's name (case-insensitive)", examples=["shop"])
    email: str | None = Field(default=None, description="Owner's email", examples=["shop-team@example.com"])
    description: str | None = None
    cloud_providers: str | list[str] | None = Field(default=None, description="e.g. 'aws,kubernetes'")
    accounts: str | None = Field(default=None, description="Comma-separated accounts it deploys to")
    permissions: dict[str, list[str]] | None = Field(
        default=None, description="Roles per authorisation: READ, WRITE, EXECUTE"
    )
    create_ts: str | int | None = None
    update_ts: str | int | None = None
    last_modified_by: str | None = None


class ApplicationList(RootModel[list[Application]]):
    """Every application the caller may READ."""


class ApplicationDetails(ApiModel):
    """One application as Gate's ``GET /applications/{application}`` returns it."""

    name: str
    attributes: Application
    clusters: dict[str, list[Json]] = Field(description="Clusters by account (Clouddriver's; empty for now)")


class ApplicationHistory(RootModel[list[Json]]):
    """Prior versions of the application, newest first."""


class ApplicationsQuery(ApiModel):
    """Gate's filters for the application list."""

    account: str | None = Field(default=None, description="Only applications deployed in this account")
    owner: str | None = Field(default=None, description="Only applications owned by this email")


class ApplicationQuery(ApiModel):
    """Gate's ``expand`` flag (accepted; clusters are not expanded yet)."""

    expand: bool = True


class HistoryQuery(ApiModel):
    """How many versions to return."""

    limit: int = Field(default=20, ge=1, le=1000)


def gate_view(application: Json) -> Json:
    """An application's attributes with its name lower-cased, as Gate merges Front50 and Clouddriver."""
    return {**application, "name": str(application.get("name", "")).lower()}


def _listed(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(item).strip().lower() for item in value]
    return [part.strip().lower() for part in str(value or "").split(",") if part.strip()]


@gate_route
async def get_all_applications(request: web.Request) -> web.Response:
    """Every application the caller may READ, filtered as Gate filters them."""
    query = read_query(request, ApplicationsQuery)
    applications = visible(request, await all_applications(request))
    if query.account:
        applications = [app for app in applications if query.account.lower() in _listed(app.get("accounts"))]
    if query.owner:
        applications = [app for app in applications if str(app.get("email") or "").lower() == query.owner.lower()]
    return gate_json([gate_view(app) for app in applications])


@gate_route
async def get_application(request: web.Request) -> web.Response:
    """One application: 404 when missing, 403 when the caller may not READ it."""
    read_query(request, ApplicationQuery)
    name = request.match_info["application"]
    application = gate_view(await application_for(request, name, Permission.READ))
    return gate_json({"name": application["name"], "attributes": application, "clusters": {}})


@gate_route
async def get_application_history(request: web.Request) -> web.Response:
    """The application's prior versions, newest first."""
    query = read_query(request, HistoryQuery)
    name = request.match_info["application"]
    await application_for(request, name, Permission.READ)
    history = await ask(request, GetApplicationHistory(name=name, limit=query.limit), History)
    return gate_json(history.versions)


ROUTES = (
    Route(
        "GET",
        "/applications",
        get_all_applications,
        summary="Retrieve a list of applications",
        tag=TAG,
        query=ApplicationsQuery,
        responses={200: Response("Applications the caller may READ", ApplicationList), **error_responses(400, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}",
        get_application,
        summary="Retrieve an application's details",
        tag=TAG,
        query=ApplicationQuery,
        responses={
            200: Response("The application", ApplicationDetails),
            **error_responses(400, 403, 404, 504),
        },
    ),
    Route(
        "GET",
        "/applications/{application}/history",
        get_application_history,
        summary="Retrieve a list of an application's configuration revision history",
        tag=TAG,
        query=HistoryQuery,
        responses={
            200: Response("Prior versions, newest first", ApplicationHistory),
            **error_responses(400, 403, 404, 504),
        },
    ),
)
