"""The caller as the gateway sees it, and Fiat's rule for what a role may do to a resource.

The rule is Fiat's (``fiat-core`` ``Permissions`` and Front50's application permission source):

* An admin may do anything to anything.
* A resource whose ``permissions`` name no role at all is *unrestricted*: every authenticated
  caller may READ, WRITE and EXECUTE it. Empty lists count as no restriction.
* Otherwise a caller holds an authorisation when one of its roles is listed under it. The lists
  are independent: WRITE does **not** imply READ (Deck writes a role into both lists when you
  pick "read and write"), exactly as Fiat's ``Permissions.getAuthorizations`` does.
* An application whose EXECUTE list is empty takes the list of ``execute_fallback`` (Fiat's
  ``fiat.executeFallback``, READ by default), so legacy applications stay runnable by readers.
  Accounts have only READ and WRITE; asking them for EXECUTE follows the same fallback.
* Role names are compared trimmed and case-insensitively (Fiat lowercases both sides).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Permission(StrEnum):
    """Fiat's authorisations on an application (all three) or an account (READ and WRITE)."""

    READ = "READ"
    WRITE = "WRITE"
    EXECUTE = "EXECUTE"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user name and the roles its token or configuration grants.

    ``admin`` bypasses every check (Fiat's admin); with authentication ``none`` every caller is an
    anonymous admin. ``anonymous`` is true for a caller who presented no credentials. ``email`` is
    what ``GET /auth/user`` reports when the identity provider gave one.
    """

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    anonymous: bool = False
    admin: bool = False
    email: str | None = None


ANONYMOUS = Principal(username="anonymous", anonymous=True)
"""A caller without credentials where authentication is required: may do nothing."""

ANONYMOUS_ADMIN = Principal(username="anonymous", anonymous=True, admin=True)
"""Every caller under authentication ``none``: nobody is asked who they are, everybody may do anything."""

type Permissions = Mapping[str, Iterable[str]]
"""Spinnaker's ``permissions`` object: ``{"READ": [roles], "WRITE": [roles], "EXECUTE": [roles]}``."""


def normalise_role(role: str) -> str:
    """A role name as Fiat compares it: trimmed and lowercased."""
    return role.strip().lower()


def _roles_under(permissions: Permissions, action: Permission) -> frozenset[str]:
    found: set[str] = set()
    for key, roles in permissions.items():
        if str(key).strip().upper() != action.value:
            continue
        listed = [roles] if isinstance(roles, str) else roles
        found.update(normalise_role(role) for role in listed if isinstance(role, str) and role.strip())
    return frozenset(found)


def authorizations(
    principal: Principal, permissions: Permissions | None, *, execute_fallback: Permission = Permission.READ
) -> frozenset[Permission]:
    """Every authorisation ``principal`` holds on a resource with these ``permissions``.

    This is Fiat's ``Permissions.getAuthorizations`` plus the admin and execute-fallback rules of
    the module docstring; an anonymous caller who is not an admin holds none.
    """
    everything = frozenset(Permission)
    if principal.admin:
        return everything
    if principal.anonymous:
        return frozenset()
    listed = {action: _roles_under(permissions or {}, action) for action in Permission}
    if not any(listed.values()):
        return everything
    if not listed[Permission.EXECUTE]:
        listed[Permission.EXECUTE] = listed[execute_fallback]
    roles = {normalise_role(role) for role in principal.roles}
    return frozenset(action for action, allowed in listed.items() if allowed & roles)


def can(
    principal: Principal,
    permissions: Mapping[str, Iterable[str]] | None,
    action: Permission,
    *,
    execute_fallback: Permission = Permission.READ,
) -> bool:
    """Whether ``principal`` may ``action`` a resource whose Spinnaker ``permissions`` are given.

    ``permissions`` is the resource's own object as Front50 or Clouddriver store it (``None`` or
    ``{}`` when it has none). Example::

        app = {"READ": ["dev", "ops"], "WRITE": ["ops"]}
        can(Principal("ann", roles=frozenset({"dev"})), app, Permission.READ)     # True
        can(Principal("ann", roles=frozenset({"dev"})), app, Permission.WRITE)    # False
        can(Principal("ann", roles=frozenset({"dev"})), app, Permission.EXECUTE)  # True: falls back to READ
    """
    return action in authorizations(principal, permissions, execute_fallback=execute_fallback)
