"""What the Gate routes may show and change: Fiat's rules applied to Front50's applications.

The rules come from :mod:`gateway.auth` (``require``, ``readable``); this module only fetches the
application a route acts on and applies them the same way in every route:

* an application the caller may not READ is left out of every list and answers 403 when named
  directly, so a list never reveals it;
* changing an application or its pipelines needs WRITE;
* an application that does not exist yet may be created by any authenticated caller (Fiat's
  default, ``restrictApplicationCreation: false``); its permissions then come with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from gateway.auth.access import readable, require
from gateway.auth.middleware import principal_of
from gateway.auth.model import Permission, Permissions
from gateway.command_results import ask
from gateway.gate_api import not_found
from schemas.front50 import ApplicationFound, ApplicationList, GetApplication, ListApplications

Json = dict[str, Any]


def permissions_of(resource: Json | None) -> Permissions | None:
    """A Spinnaker resource's ``permissions`` object, or ``None`` when it has none."""
    permissions = resource.get("permissions") if resource else None
    return permissions if isinstance(permissions, dict) else None


def require_on(request: web.Request, resource: Json | None, action: Permission, *, kind: str, name: str) -> None:
    """Fiat's 403 unless the caller may ``action`` the ``kind`` (application, account) called ``name``."""
    require(request, permissions_of(resource), action, resource=f"{kind} {name}")


def visible(request: web.Request, resources: Iterable[Json]) -> list[Json]:
    """The resources (applications, accounts) the caller may READ, in their order."""
    return readable(principal_of(request), resources, permissions_of)


async def find_application(request: web.Request, name: str) -> Json | None:
    """The application ``name`` as Front50 stores it, or ``None``."""
    return (await ask(request, GetApplication(name=name), ApplicationFound)).application


async def all_applications(request: web.Request) -> list[Json]:
    """Every application, readable or not (filter with :func:`visible` before showing any)."""
    return (await ask(request, ListApplications(), ApplicationList)).applications


async def application_for(request: web.Request, name: str, action: Permission) -> Json:
    """The application ``name`` if the caller may ``action`` it: 404 when missing, 403 when not allowed."""
    application = await find_application(request, name)
    if application is None:
        raise not_found(f"Application not found (id: {name})")
    require_on(request, application, action, kind="application", name=name)
    return application


async def may_change_application(request: web.Request, name: str) -> Json | None:
    """403 unless the caller may create (new) or WRITE (existing) application ``name``; returns it if it exists."""
    application = await find_application(request, name)
    require_on(request, application, Permission.WRITE, kind="application", name=name)
    return application


def by_name(applications: Iterable[Json]) -> dict[str, Json]:
    """Applications keyed by lower-cased name, to check things that name one (pipelines, tasks)."""
    return {str(app.get("name", "")).lower(): app for app in applications}


def may_read_named(request: web.Request, applications: dict[str, Json], name: object) -> bool:
    """Whether the caller may READ the application ``name`` (one that no longer exists: if unrestricted)."""
    application = applications.get(str(name or "").lower())
    return bool(readable(principal_of(request), [application], permissions_of))
