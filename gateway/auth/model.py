"""The caller as the gateway sees it, and Fiat's rule for what a role may do to a resource."""

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
    anonymous admin. ``anonymous`` is true for a caller who presented no credentials.
    """

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    anonymous: bool = False
    admin: bool = False


ANONYMOUS = Principal(username="anonymous", anonymous=True)


def can(principal: Principal, permissions: Mapping[str, Iterable[str]] | None, action: Permission) -> bool:
    """Whether ``principal`` may ``action`` a resource whose Spinnaker ``permissions`` are given.

    Placeholder rule until the authorisation module lands: admins may do anything, a resource
    without permissions is open to every authenticated caller, otherwise a role listed under the
    action (or under WRITE, which implies READ) grants it.
    """
    if principal.admin:
        return True
    if not permissions:
        return not principal.anonymous
    allowed = set(permissions.get(action.value, ()))
    if action is Permission.READ:
        allowed |= set(permissions.get(Permission.WRITE.value, ()))
    return bool(allowed & principal.roles)
