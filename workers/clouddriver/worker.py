"""Wires Clouddriver (cloud operations and the infrastructure cache) to the bus.

It will carry out deploy, resize and destroy commands against cloud providers and answer queries
from its own cache collections. Today it answers the account queries behind Gate's
``/credentials`` from the ``accounts`` it is given: :class:`gennaker.settings.Settings` has no
accounts list yet, so the runner passes none and the list is empty until it does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bus import Endpoint
from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas.clouddriver import GetAccount, ListAccounts
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.handlers import AccountQueries

NAME = "clouddriver"


def build_service(resources: WorkerResources, *, accounts: Iterable[dict[str, Any]] = ()) -> Service:
    """Clouddriver's endpoints over ``accounts`` (Clouddriver ``AccountDetails`` JSON); the host adds the ping."""
    queries = AccountQueries(AccountCatalogue(accounts))
    endpoint = Endpoint(
        service=NAME,
        kind="queries",
        handlers={
            ListAccounts.message_type: queries.list_accounts,
            GetAccount.message_type: queries.get_account,
        },
    )
    return Service(name=NAME, version=__version__, endpoints=[endpoint])
