"""Who may do what in Clouddriver: the checks every operation and every read makes itself.

The gateway's check is the first, not the only one: a command arriving on the bus is judged here
by the :class:`~schemas.authority.Authority` it carries (the execution's user, or the
``runAsUser`` service account of an automated trigger), as Clouddriver's
``DescriptionAuthorizer`` does with Fiat:

* **Accounts.** An operation that changes anything needs WRITE on every account it acts in; one
  that only looks (``findImage``, ``clusterSize``, the source a clone copies or a resize matches)
  needs READ. Reads of the cache show only accounts the caller may READ.
* **Applications.** A task acts for a pipeline of application A: its authority must hold EXECUTE
  on A to change anything (READ to only look): the rule Spinnaker documents ("EXECUTE on the
  application and WRITE on the account"; Clouddriver's AWS path asking application WRITE instead
  is spinnaker/spinnaker#6400). It changes only server groups, clusters and load balancers of A
  (their Frigga names, ``app-stack-detail``), whoever runs it. Looking at a cluster needs READ on
  its application (or EXECUTE, for the pipeline's own: running a pipeline that looks at its own
  clusters needs no more than running it).

A refusal raises :class:`AccessDenied` (an :class:`~workers.clouddriver.provider.OperationFailed`),
so the task fails TERMINAL with a reason naming the user, the resource and the permission missing.
Application permissions come from Front50 (:mod:`schemas.permissions`), once per application per
operation; an admin is never looked up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bus import MessageContext
from schemas.authority import Authority, Permission, Permissions, can
from schemas.base import Query, Reply
from schemas.clouddriver_operations import FETCH_MANIFEST_ARTIFACT
from schemas.json_types import Json
from schemas.permissions import Ask, application_permissions
from workers.clouddriver import names
from workers.clouddriver.provider import OperationFailed

READ_ONLY_STAGE_TYPES = frozenset(
    {"findImage", "findImageFromTags", "clusterSize", "findArtifactsFromResource", FETCH_MANIFEST_ARTIFACT}
)
"""Operations that change nothing: they need READ, not WRITE, on the accounts they look at."""


class AccessDenied(OperationFailed):
    """The command's authority may not do what the operation would do; nothing was changed."""


async def may_read_application(
    authority: Authority,
    application: str | None,
    context: MessageContext,
    *,
    timeout: float,
    execute_fallback: Permission = Permission.READ,
) -> bool:
    """Whether ``authority`` may READ ``application``, whose permissions Front50 is asked for through
    ``context``: an admin may always, nobody else what names no application."""
    if authority.admin:
        return True
    if not application:
        return False

    async def ask(query: Query) -> Reply:
        return await context.ask(query, timeout=timeout)

    permissions = await application_permissions(ask, application)
    return can(authority, permissions, Permission.READ, execute_fallback=execute_fallback)


def may_read_account(authority: Authority, account: Json) -> bool:
    """Whether ``authority`` may READ ``account`` (its ``AccountDetails``)."""
    return can(authority, account.get("permissions"), Permission.READ)


@dataclass
class OperationAccess:
    """The checks of one operation, for ``authority`` acting in a pipeline of ``application``.

    ``ask`` reaches Front50 for application permissions; ``None`` means nobody can be asked, so
    only an admin may touch an application's resources.
    """

    authority: Authority
    application: str
    ask: Ask | None = None
    execute_fallback: Permission = Permission.READ
    _applications: dict[str, Permissions | None] = field(default_factory=dict)

    def account(self, account: Json, action: Permission) -> None:
        """Refuse unless the authority holds ``action`` (READ or WRITE) on ``account``."""
        if not can(self.authority, account.get("permissions"), action):
            raise AccessDenied(
                f"access denied: {self.authority.described()} lacks {action.value} permission on account "
                f"{account['name']!r}"
            )

    async def _permissions(self, application: str) -> Permissions | None:
        lowered = application.lower()
        if lowered not in self._applications:
            if self.ask is None:
                raise AccessDenied(f"access denied: the permissions of application {application!r} cannot be checked")
            try:
                self._applications[lowered] = await application_permissions(self.ask, application)
            except Exception as error:
                raise OperationFailed(
                    f"could not check the permissions of application {application!r}: Front50 did not answer "
                    f"({error}); try again once it runs"
                ) from None
        return self._applications[lowered]

    async def require_application(self, application: str, action: Permission, *alternatives: Permission) -> None:
        """Refuse unless the authority holds ``action`` (or one of ``alternatives``) on ``application``."""
        if self.authority.admin:
            return
        permissions = await self._permissions(application)
        if not any(
            can(self.authority, permissions, each, execute_fallback=self.execute_fallback)
            for each in (action, *alternatives)
        ):
            raise AccessDenied(
                f"access denied: {self.authority.described()} lacks {action.value} permission on application "
                f"{application!r}"
            )

    async def change(self, kind: str, name: str) -> None:
        """Refuse to change the ``kind`` (server group, cluster, load balancer) called ``name``
        unless it belongs to the pipeline's application and the authority may EXECUTE that."""
        owner = _application_of(name)
        if owner.lower() != self.application.lower():
            raise AccessDenied(
                f"access denied: a pipeline of application {self.application!r} may not change {kind} {name!r}, "
                f"which belongs to application {owner!r}"
            )
        await self.require_application(owner, Permission.EXECUTE)

    async def change_each(self, kind: str, found: Iterable[str]) -> None:
        """:meth:`change` for every name in ``found``."""
        for name in found:
            await self.change(kind, name)

    async def look_at(self, kind: str, name: str) -> None:
        """Refuse to read ``kind`` ``name`` unless the authority may READ its application (or, for
        the pipeline's own, run the pipeline: EXECUTE)."""
        owner = _application_of(name)
        if owner.lower() == self.application.lower():
            await self.require_application(owner, Permission.READ, Permission.EXECUTE)
        else:
            await self.require_application(owner, Permission.READ)


def _application_of(name: str) -> str:
    try:
        return names.parse(name).app
    except ValueError as error:
        raise OperationFailed(str(error)) from None
