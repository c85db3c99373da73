"""The accounts Clouddriver answers for, and the defaults Gate's clients expect in each.

The accounts come from the ``accounts`` setting as :class:`schemas.clouddriver.AccountConfig`
(or, in tests, as plain ``AccountDetails`` JSON); this module fills in the fields Deck and ``spin``
read so a minimal entry such as ``{"name": "prod", "type": "aws"}`` is a complete ``AccountDetails``.
What only the provider may see (a ``local`` account's fence) is kept apart from the details every
reader of ``/credentials`` gets (:meth:`AccountCatalogue.settings`).
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.clouddriver import AccountConfig
from schemas.json_types import Json

PRIVATE_KEYS = ("local", "kubernetes")
"""Keys of plain account JSON that are the provider's settings, not ``AccountDetails``."""


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
        self._settings: dict[str, Json] = {}
        for configured in accounts:
            if isinstance(configured, AccountConfig):
                account, private = configured.details(), configured.private_settings()
            else:
                account = {key: value for key, value in configured.items() if key not in PRIVATE_KEYS}
                private = {key: value for key, value in configured.items() if key in PRIVATE_KEYS}
            name = account.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"account {account!r} has no name; give each account a 'name'")
            if name in self._accounts:
                raise ValueError(f"account {name!r} is configured twice; account names must be unique")
            self._accounts[name] = account_details(account)
            self._settings[name] = private

    def all(self) -> list[Json]:
        """Every account, sorted by name."""
        return [self._accounts[name] for name in sorted(self._accounts)]

    def get(self, name: str) -> Json | None:
        """The account called ``name``, or ``None``."""
        return self._accounts.get(name)

    def settings(self, name: str) -> Json:
        """The provider's settings of account ``name`` that clients never see (empty when none)."""
        return dict(self._settings.get(name) or {})
