"""How a route applies Fiat's rule: refuse one resource, or leave unreadable ones out of a list.

A handler that acts on an application or account fetches its ``permissions`` (from Front50 or
Clouddriver, over the bus) and calls :func:`require` before acting; a handler that lists them
passes the list through :func:`readable`, so a user who may not READ an application never learns
it exists. Example::

    async def save_pipeline(request: web.Request) -> web.Response:
        app = await fetch_application(request)          # its Spinnaker JSON, with "permissions"
        require(request, app.permissions, Permission.WRITE, resource=f"application {app.name}")
        ...

    async def list_applications(request: web.Request) -> web.Response:
        apps = await fetch_applications(request)
        visible = readable(principal_of(request), apps, lambda app: app.permissions)
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web

from gateway.auth.errors import AccessDenied
from gateway.auth.middleware import AUTHENTICATION, principal_of
from gateway.auth.model import Permission, Permissions, Principal, can


def execute_fallback(app: web.Application) -> Permission:
    """The authorisation an application without EXECUTE roles falls back to (``auth.execute_fallback``)."""
    authentication = app.get(AUTHENTICATION)
    return authentication.config.execute_fallback if authentication else Permission.READ


def require(request: web.Request, permissions: Permissions | None, action: Permission, *, resource: str) -> None:
    """Raise :class:`AccessDenied` (403, Gate's JSON) unless the caller may ``action`` the resource.

    ``resource`` names it for the message, as Fiat does: ``"application shop"``, ``"account prod"``.
    """
    refuse_unless(
        principal_of(request), permissions, action, resource=resource, execute_fallback=execute_fallback(request.app)
    )


def refuse_unless(
    principal: Principal,
    permissions: Permissions | None,
    action: Permission,
    *,
    resource: str,
    execute_fallback: Permission,
) -> None:
    """:func:`require` for a caller already known: Gate's 403 unless ``principal`` may ``action`` it."""
    if not can(principal, permissions, action, execute_fallback=execute_fallback):
        raise AccessDenied(f"Access denied to {resource} - required authorization: {action.value}")


def readable[T](principal: Principal, items: Iterable[T], permissions_of: Callable[[T], Permissions | None]) -> list[T]:
    """The ``items`` ``principal`` may READ, in their order; ``permissions_of`` reads an item's permissions."""
    return [item for item in items if can(principal, permissions_of(item), Permission.READ)]
