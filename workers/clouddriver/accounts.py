"""The accounts Clouddriver answers for, and the defaults Gate's clients expect in each.

The accounts come from the ``accounts`` setting as :class:`schemas.clouddriver.AccountConfig`
(or, in tests, as plain ``AccountDetails`` JSON); this module fills in the fields Deck and ``spin``
read so a minimal entry such as ``{"name": "prod", "type": "aws"}`` is a complete ``AccountDetails``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas.clouddriver import AccountConfig

Json = dict[str, Any]


def account_details(account: Json) -> Json:
    """``account`` with Clouddriver's defaults for every field it leaves out."""
    provider = account.get("cloudProvider") or account.get("type") or "unknown"
    details: Json = {
        "name": account.get("name"),
        "type": provider,
        "cloudProvider": provider,
        "environment": account.get("name"),
        "accountType": account.get("name"),
        "primaryAccount": False,
        "challengeDestructiveActions": False,
        "requiredGroupMembership": [],
        "permissions": {},
    }
    details.update(account)
    return details


class AccountCatalogue:
    """The configured accounts by name; a second entry with a name already seen is an error."""

    def __init__(self, accounts: Iterable[AccountConfig | Json] = ()) -> None:
        self._accounts: dict[str, Json] = {}
        for configured in accounts:
            account = configured.details() if isinstance(configured, AccountConfig) else configured
            name = account.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"account {account!r} has no name; give each account a 'name'")
            if name in self._accounts:
                raise ValueError(f"account {name!r} is configured twice; account names must be unique")
            self._accounts[name] = account_details(account)

    def all(self) -> list[Json]:
        """Every account, sorted by name."""
        return [self._accounts[name] for name in sorted(self._accounts)]

    def get(self, name: str) -> Json | None:
        """The account called ``name``, or ``None``."""
        return self._accounts.get(name)
