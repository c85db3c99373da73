"""What Orca knows about who may do what: the accounts an authority may deploy to.

An execution records whose authority it runs with (:attr:`Execution.authority`) and shows
clients Spinnaker's ``authentication {user, allowedAccounts}``; ``allowedAccounts`` are the
configured accounts that authority holds WRITE on, judged by Fiat's rule
(:func:`schemas.authority.can`) over the same ``accounts`` settings Clouddriver serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.authority import Authority, Permission, can

Json = dict[str, Any]


@dataclass(frozen=True)
class AccessPolicy:
    """The settings Orca judges authorities by: the configured accounts (their ``AccountDetails``)."""

    accounts: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def allowed_accounts(self, authority: Authority) -> list[str]:
        """The names of the accounts ``authority`` may WRITE, sorted (Spinnaker's ``allowedAccounts``)."""
        return sorted(
            str(account["name"])
            for account in self.accounts
            if account.get("name") and can(authority, account.get("permissions"), Permission.WRITE)
        )

    def authentication(self, authority: Authority) -> Json:
        """Spinnaker's ``authentication`` of an execution run with ``authority``."""
        return {"user": authority.user, "allowedAccounts": self.allowed_accounts(authority)}
