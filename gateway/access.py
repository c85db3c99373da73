"""What the Gate routes may show and change: Fiat's rules applied to Front50's applications.

The rules come from :mod:`gateway.auth` (``require``, ``readable``); this module only fetches the
application a route acts on and applies them the same way in every route. Each helper takes the
route's :class:`~gateway.route_context.RouteContext` (its bus, timeouts and caller resolved once)
or, for routes not converted yet, the request itself:

* an application the caller may not READ is left out of every list and answers 403 when named
  directly, so a list never reveals it;
* changing an application or its pipelines needs WRITE;
* an application that does not exist yet may be created by any authenticated caller (Fiat's
  default, ``restrictApplicationCreation: false``); its permissions then come with it;
* what a deleted application leaves behind (its tasks, its pipelines' history, its name) stays
  guarded by the permissions of its last stored version, so deleting a restricted application
  (or re-creating one under its name) never opens them to everybody.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from gateway.auth.access import readable
from gateway.auth.errors import AccessDenied
from gateway.auth.model import Permission, Permissions
from gateway.gate_api import not_found
from gateway.known_applications import known_applications
from gateway.route_context import RouteContext
from schemas.front50 import (
    ApplicationFound,
    ApplicationList,
    GetApplication,
    GetApplicationHistory,
    History,
    ListApplications,
)
from schemas.json_types import Json

type Caller = web.Request | RouteContext
"""A route's request or its :class:`RouteContext`: every helper here takes either."""


def permissions_of(resource: Json | None) -> Permissions | None:
    """A Spinnaker resource's ``permissions`` object, or ``None`` when it has none."""
    permissions = resource.get("permissions") if resource else None
    return permissions if isinstance(permissions, dict) else None


def require_on(request: Caller, resource: Json | None, action: Permission, *, kind: str, name: str) -> None:
    """Fiat's 403 unless the caller may ``action`` the ``kind`` (application, account) called ``name``."""
    RouteContext.of(request).require(permissions_of(resource), action, resource=f"{kind} {name}")


def require_admin(request: Caller, what: str) -> None:
    """Fiat's 403 unless the caller is an admin; ``what`` names the surface (``"the dead letters"``)."""
    principal = RouteContext.of(request).principal
    if not principal.admin:
        raise AccessDenied(f"Access denied to {what} - only admins may use it; user {principal.username!r} is not one")


def visible(request: Caller, resources: Iterable[Json]) -> list[Json]:
    """The resources (applications, accounts) the caller may READ, in their order."""
    return readable(RouteContext.of(request).principal, resources, permissions_of)


async def find_application(request: Caller, name: str) -> Json | None:
    """The application ``name`` as Front50 stores it, or ``None``; remembered while it stays unchanged
    (:mod:`gateway.known_applications`)."""
    if not name.strip():
        return None  # no application has a blank name; Front50's query would refuse it
    route = RouteContext.of(request)

    async def fetch(key: str) -> Json | None:
        return (await route.ask(GetApplication(name=key), ApplicationFound)).application

    known = known_applications(route.request.app)
    return await (fetch(name) if known is None else known.find(name, fetch))


async def all_applications(request: Caller) -> list[Json]:
    """Every application, readable or not (filter with :func:`visible` before showing any)."""
    return (await RouteContext.of(request).ask(ListApplications(), ApplicationList)).applications


async def application_for(request: Caller, name: str, action: Permission) -> Json:
    """The application ``name`` if the caller may ``action`` it: 404 when missing, 403 when not allowed."""
    application = await find_application(request, name)
    if application is None:
        raise not_found(f"Application not found (id: {name})")
    require_on(request, application, action, kind="application", name=name)
    return application


async def last_version(request: Caller, name: str) -> Json | None:
    """The last stored version of application ``name`` (kept after it is deleted), or ``None``."""
    if not name.strip():
        return None
    versions = (await RouteContext.of(request).ask(GetApplicationHistory(name=name, limit=1), History)).versions
    return versions[0] if versions else None


async def last_known_application(request: Caller, name: str) -> Json | None:
    """The application ``name`` or, once deleted, its last stored version; ``None`` if never stored."""
    application = await find_application(request, name) if name.strip() else None
    return application if application is not None else await last_version(request, name)


async def may_change_application(request: Caller, name: str) -> Json | None:
    """403 unless the caller may create (new) or WRITE (existing or deleted) application ``name``.

    Returns the application if it exists now.
    """
    application = await find_application(request, name)
    known = application if application is not None else await last_version(request, name)
    require_on(request, known, Permission.WRITE, kind="application", name=name)
    return application


async def readable_application_names(request: Caller, names: Iterable[object]) -> set[str]:
    """Which of the applications ``names`` (lower-cased) the caller may READ.

    An application that no longer exists is judged by its last stored version; a name never
    stored guards nothing and is readable.
    """
    wanted = {str(name or "").strip().lower() for name in names}
    current = {str(app.get("name", "")).lower(): app for app in await all_applications(request)}
    principal = RouteContext.of(request).principal
    allowed: set[str] = set()
    for name in wanted:
        application = current[name] if name in current else await last_version(request, name)
        if readable(principal, [application], permissions_of):
            allowed.add(name)
    return allowed


async def may_read_application(request: Caller, name: object) -> bool:
    """Whether the caller may READ the application ``name`` (a deleted one: by its last version)."""
    application = await last_known_application(request, str(name or ""))
    return bool(readable(RouteContext.of(request).principal, [application], permissions_of))
