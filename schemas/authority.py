"""Who a piece of work acts for, and Fiat's rule for what they may do to a resource.

Every command that acts for somebody carries an :class:`Authority`: the user (or service
account, Spinnaker's ``runAsUser``) and the roles they held when the work was asked for. The
gateway fills it from the authenticated caller; Orca stores it on the execution and hands it on
with every task; the service that does the work checks it against the application's or the
account's ``permissions`` with :func:`can` — the gateway's check is the first, not the only one.

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
* An anonymous caller who is not an admin holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Protocol, Self

from pydantic import BaseModel, ConfigDict, Field

MAX_ROLES = 256
"""More roles than anyone holds: a bound on what a message may carry."""


class Permission(StrEnum):
    """Fiat's authorisations on an application (all three) or an account (READ and WRITE)."""

    READ = "READ"
    WRITE = "WRITE"
    EXECUTE = "EXECUTE"


type Permissions = Mapping[str, Iterable[str]]
"""Spinnaker's ``permissions`` object: ``{"READ": [roles], "WRITE": [roles], "EXECUTE": [roles]}``."""


class Actor(Protocol):
    """Anything :func:`authorizations` can judge: the gateway's caller or a message's :class:`Authority`."""

    @property
    def roles(self) -> Iterable[str]: ...

    @property
    def admin(self) -> bool: ...

    @property
    def anonymous(self) -> bool: ...


class Authority(BaseModel):
    """The user (or service account) a command acts for, with the roles they held when it was asked.

    A service trusts it because only services publish commands (see the security model in
    ``docs/security.md``); it never takes one from an event or an HTTP body. Example::

        Authority(user="olivia", roles=("shop-owners",))
        Authority.anonymous_admin()   # everybody under authentication "none"
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str = Field(min_length=1, max_length=256)
    roles: tuple[str, ...] = Field((), max_length=MAX_ROLES)
    admin: bool = False
    anonymous: bool = False
    service_account: bool = Field(False, description="a runAsUser service account rather than a person")

    @classmethod
    def anonymous_admin(cls) -> Self:
        """Whoever calls when authentication is off: nobody is asked, everybody may do anything."""
        return cls(user="anonymous", anonymous=True, admin=True)

    @classmethod
    def nobody(cls) -> Self:
        """An anonymous caller without rights: what a message that names nobody is judged as."""
        return cls(user="anonymous", anonymous=True)

    @classmethod
    def unattended(cls) -> Self:
        """What an automated trigger without ``runAsUser`` runs as once authentication is on.

        Fiat runs such a trigger as its ``anonymous`` user, who holds what every caller holds on
        unrestricted resources and nothing on restricted ones; this is that user: named
        ``anonymous``, with no roles, so :func:`can` allows it exactly the applications and
        accounts whose ``permissions`` name no role.
        """
        return cls(user="anonymous")

    def described(self) -> str:
        """How a refusal names it: ``user 'ann'``, ``service account 'ci'`` or ``an anonymous caller``."""
        if self.anonymous and not self.admin:
            return "an anonymous caller"
        return f"{'service account' if self.service_account else 'user'} {self.user!r}"


ACTS_FOR = (
    "who the command acts for: the user (or runAsUser service account) and the roles they held when it "
    "was asked; the service doing the work checks it"
)
"""The description of every command's ``authority`` field."""

LEGACY_ANONYMOUS = "anonymous"
"""The ``user`` an old message carried when it named nobody in particular."""


def upcast_user_to_authority(data: dict[str, object]) -> dict[str, object]:
    """Upcaster for the messages whose version 1 named its user as ``user: str``.

    Version 2 carries an :class:`Authority` instead. An old message proves a name and nothing
    else, so it becomes that name with **no roles** (never more rights than it proves); a message
    naming nobody, or ``anonymous``, becomes :meth:`Authority.nobody`.
    """
    upcast = dict(data)
    user = upcast.pop("user", None)
    if "authority" not in upcast:
        name = user.strip()[:256] if isinstance(user, str) else ""
        authority = Authority(user=name) if name and name != LEGACY_ANONYMOUS else Authority.nobody()
        upcast["authority"] = authority.model_dump(mode="json")
    return upcast


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
    actor: Actor, permissions: Permissions | None, *, execute_fallback: Permission = Permission.READ
) -> frozenset[Permission]:
    """Every authorisation ``actor`` holds on a resource with these ``permissions``.

    This is Fiat's ``Permissions.getAuthorizations`` plus the admin and execute-fallback rules of
    the module docstring; an anonymous actor who is not an admin holds none.
    """
    everything = frozenset(Permission)
    if actor.admin:
        return everything
    if actor.anonymous:
        return frozenset()
    listed = {action: _roles_under(permissions or {}, action) for action in Permission}
    if not any(listed.values()):
        return everything
    if not listed[Permission.EXECUTE]:
        listed[Permission.EXECUTE] = listed[execute_fallback]
    roles = {normalise_role(role) for role in actor.roles}
    return frozenset(action for action, allowed in listed.items() if allowed & roles)


def can(
    actor: Actor,
    permissions: Permissions | None,
    action: Permission,
    *,
    execute_fallback: Permission = Permission.READ,
) -> bool:
    """Whether ``actor`` may ``action`` a resource whose Spinnaker ``permissions`` are given.

    ``permissions`` is the resource's own object as Front50 or Clouddriver store it (``None`` or
    ``{}`` when it has none). Example::

        app = {"READ": ["dev", "ops"], "WRITE": ["ops"]}
        ann = Authority(user="ann", roles=("dev",))
        can(ann, app, Permission.READ)     # True
        can(ann, app, Permission.WRITE)    # False
        can(ann, app, Permission.EXECUTE)  # True: falls back to READ
    """
    return action in authorizations(actor, permissions, execute_fallback=execute_fallback)
