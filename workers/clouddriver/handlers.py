"""Clouddriver's query handlers: one per message, each answering from the account catalogue."""

from __future__ import annotations

from bus import MessageContext
from schemas.clouddriver import AccountFound, AccountList, GetAccount, ListAccounts
from workers.clouddriver.accounts import AccountCatalogue


class AccountQueries:
    """Answers ``clouddriver.ListAccounts`` and ``clouddriver.GetAccount``."""

    def __init__(self, catalogue: AccountCatalogue) -> None:
        self.catalogue = catalogue

    async def list_accounts(self, query: ListAccounts, context: MessageContext) -> AccountList:
        """Every account; the gateway filters by the caller's permissions."""
        return AccountList(accounts=self.catalogue.all())

    async def get_account(self, query: GetAccount, context: MessageContext) -> AccountFound:
        """One account by name, or ``None``."""
        return AccountFound(account=self.catalogue.get(query.name))
