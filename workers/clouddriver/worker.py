"""Wires Clouddriver (cloud operations and the infrastructure cache) to the bus.

It will carry out deploy, resize and destroy commands against cloud providers and answer queries
from its own cache collections. Today it answers the account queries behind Gate's
``/credentials`` from the ``accounts`` setting (``gennaker up`` adds a ``local`` account when none
is configured).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bus import Endpoint
from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas.clouddriver import AccountConfig, GetAccount, ListAccounts
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.handlers import AccountQueries

NAME = "clouddriver"


def build_service(
    resources: WorkerResources, *, accounts: Iterable[AccountConfig | dict[str, Any]] | None = None
) -> Service:
    """Clouddriver's endpoints over ``accounts`` (default: the ``accounts`` setting); the host adds the ping."""
    configured = (resources.settings.accounts or ()) if accounts is None else accounts
    queries = AccountQueries(AccountCatalogue(configured))
    endpoint = Endpoint(
        service=NAME,
        kind="queries",
        handlers={
            ListAccounts.message_type: queries.list_accounts,
            GetAccount.message_type: queries.get_account,
        },
    )
    return Service(name=NAME, version=__version__, endpoints=[endpoint])
