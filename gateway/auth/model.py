"""The caller as the gateway sees it; Fiat's rule itself lives in :mod:`schemas.authority`.

A :class:`Principal` is what an authenticator proves about a request. The work it asks for carries
its :meth:`Principal.authority` onward, so every service can apply the same rule
(:func:`schemas.authority.can`) to the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.authority import Authority, Permission, Permissions, authorizations, can, normalise_role


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

    def authority(self) -> Authority:
        """What a command sent for this caller carries: who they are and the roles they hold now."""
        return Authority(
            user=self.username[:256] or "anonymous",
            roles=tuple(sorted(self.roles)),
            admin=self.admin,
            anonymous=self.anonymous,
        )


ANONYMOUS = Principal(username="anonymous", anonymous=True)
"""A caller without credentials where authentication is required: may do nothing."""

ANONYMOUS_ADMIN = Principal(username="anonymous", anonymous=True, admin=True)
"""Every caller under authentication ``none``: nobody is asked who they are, everybody may do anything."""

__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_ADMIN",
    "Authority",
    "Permission",
    "Permissions",
    "Principal",
    "authorizations",
    "can",
    "normalise_role",
]
