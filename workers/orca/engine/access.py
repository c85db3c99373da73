"""Who may do what to an execution, as Orca judges it with the authority each command carries.

The gateway checks first; Orca checks again, so a command put straight onto the bus is judged the
same way:

* starting an execution (from the gateway, a trigger or a ``pipeline`` stage) and steering one
  (cancel, pause, resume, skip, restart, judge, update) needs EXECUTE on its application (which
  falls back to READ when the application lists no EXECUTE role: ``auth.execute_fallback``);
  deleting one needs WRITE. An execution may always be cancelled with its own authority (Orca
  cancelling the child a parent started). Application permissions come from Front50
  (:mod:`schemas.permissions`); an admin is never looked up.
* automated triggers run as their ``runAsUser`` service account (resolved in Front50: its name and
  ``memberOf`` roles). One without runs unattended (:func:`schemas.permissions.unattended`): Fiat's ``anonymous``
  (unrestricted resources only) once authentication is on, everybody's anonymous admin while it
  is off. A pipeline trigger never runs with the authority of the execution that fired it: whoever
  configured the trigger is not whoever ran that pipeline.

An execution records whose authority it runs with (:attr:`Execution.authority`) and shows clients
Spinnaker's ``authentication {user, allowedAccounts}``; ``allowedAccounts`` are the configured
accounts that authority holds WRITE on, judged by the same ``accounts`` settings Clouddriver serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.authority import Authority, Permission, can
from schemas.json_types import Json
from schemas.permissions import Ask, application_permissions, run_as


@dataclass(frozen=True)
class AccessPolicy:
    """The settings Orca judges authorities by: the configured accounts (their ``AccountDetails``),
    the EXECUTE fallback and whether callers are authenticated at all."""

    accounts: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    execute_fallback: Permission = Permission.READ
    authentication: bool = False
    front50_timeout: float = 5.0

    def allowed_accounts(self, authority: Authority) -> list[str]:
        """The names of the accounts ``authority`` may WRITE, sorted (Spinnaker's ``allowedAccounts``)."""
        return sorted(
            str(account["name"])
            for account in self.accounts
            if account.get("name") and can(authority, account.get("permissions"), Permission.WRITE)
        )

    def authentication_of(self, authority: Authority) -> Json:
        """Spinnaker's ``authentication`` of an execution run with ``authority``."""
        return {"user": authority.user, "allowedAccounts": self.allowed_accounts(authority)}

    async def refusal(self, authority: Authority, application: str, action: Permission, ask: Ask) -> str | None:
        """Why ``authority`` may not ``action`` ``application``; ``None`` when it may."""
        if authority.admin:
            return None
        permissions = await application_permissions(ask, application)
        if can(authority, permissions, action, execute_fallback=self.execute_fallback):
            return None
        return f"access denied: {authority.described()} lacks {action.value} permission on application {application!r}"

    async def run_as(self, trigger: Mapping[str, Any], ask: Ask) -> Authority | str:
        """The authority a trigger runs with, or why it cannot run (:func:`schemas.permissions.run_as`)."""
        return await run_as(ask, trigger, authentication=self.authentication)
