"""The facts a service needs to apply Fiat's rule, asked of Front50 the same way by every service.

Orca (EXECUTE before starting or steering an execution), Clouddriver (the application of the
resources an operation touches) and Echo (the ``runAsUser`` of a trigger) need an application's
``permissions`` or a service account's roles. Front50 owns both; these helpers ask it through
whatever ``ask`` the caller has (a handler's ``context.ask`` with a deadline), so the rule for
which version counts is written once:

* an application is judged by its stored version; once deleted, by its last stored version (so
  deleting a restricted application, or creating one under its name, never opens what it
  guarded); one never stored guards nothing (``None``: open to every authenticated caller);
* a service account lends its name and its ``memberOf`` roles (Fiat's ``ServiceAccount``).

Example::

    async def ask(query: Query) -> Reply:
        return await context.ask(query, timeout=5.0)

    permissions = await application_permissions(ask, "shop")
    can(command.authority, permissions, Permission.EXECUTE)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from schemas.authority import Actor, Authority, Permissions, normalise_role
from schemas.base import Query, Reply
from schemas.front50 import (
    ApplicationFound,
    GetApplication,
    GetApplicationHistory,
    GetServiceAccount,
    History,
    ServiceAccountFound,
)
from schemas.json_types import Json

Ask = Callable[[Query], Awaitable[Reply]]


async def judging_application(ask: Ask, name: str) -> Json | None:
    """The version of application ``name`` that judges access to it (see the module docstring)."""
    if not name.strip():
        return None
    found = await ask(GetApplication(name=name))
    if isinstance(found, ApplicationFound) and found.application is not None:
        return found.application
    history = await ask(GetApplicationHistory(name=name, limit=1))
    return history.versions[0] if isinstance(history, History) and history.versions else None


def permissions_of(resource: Json | None) -> Permissions | None:
    """A Spinnaker resource's ``permissions`` object, or ``None`` when it has none."""
    permissions = resource.get("permissions") if resource else None
    return permissions if isinstance(permissions, dict) else None


async def application_permissions(ask: Ask, name: str) -> Permissions | None:
    """The ``permissions`` judging application ``name``; ``None`` when it guards nothing."""
    return permissions_of(await judging_application(ask, name))


def member_of(service_account: Json) -> tuple[str, ...]:
    """A service account's roles, as Fiat reads ``memberOf`` (trimmed, lowercased, no blanks)."""
    roles = service_account.get("memberOf") or []
    listed: Iterable[object] = [roles] if isinstance(roles, str) else roles if isinstance(roles, list) else []
    return tuple(sorted({normalise_role(role) for role in listed if isinstance(role, str) and role.strip()}))


def service_account_authority(service_account: Json) -> Authority:
    """What work run as this service account carries: its name and its ``memberOf`` roles."""
    return Authority(user=str(service_account["name"])[:256], roles=member_of(service_account), service_account=True)


def may_run_as(actor: Actor, service_account: Json) -> bool:
    """Whether ``actor`` may make work run as ``service_account`` (Fiat's default predicate): an
    admin may use any; anyone else must hold every role the service account is a member of."""
    if actor.admin:
        return True
    if actor.anonymous:
        return False
    held = {normalise_role(role) for role in actor.roles}
    return set(member_of(service_account)) <= held


async def find_service_account(ask: Ask, name: str) -> Json | None:
    """The service account ``name`` as Front50 stores it, or ``None``."""
    found = await ask(GetServiceAccount(name=name))
    return found.service_account if isinstance(found, ServiceAccountFound) else None


def unattended(*, authentication: bool) -> Authority:
    """What an automated trigger without ``runAsUser`` runs as: Fiat's ``anonymous`` (unrestricted
    resources only) once authentication is on; while it is off, everybody is an anonymous admin."""
    return Authority.unattended() if authentication else Authority.anonymous_admin()


async def run_as(ask: Ask, trigger: Mapping[str, Any], *, authentication: bool) -> Authority | str:
    """Whose rights the pipeline a ``trigger`` fires runs with: its ``runAsUser`` service account
    (name and ``memberOf`` roles), :func:`unattended` without one; or why it cannot run at all."""
    name = trigger.get("runAsUser")
    if not isinstance(name, str) or not name.strip():
        return unattended(authentication=authentication)
    account = await find_service_account(ask, name.strip())
    if account is None:
        return f"runAsUser {name.strip()!r} is not a service account Front50 knows; ask an admin to create it"
    return service_account_authority(account)
