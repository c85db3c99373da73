"""Gate's ``GET /credentials`` and ``GET /credentials/{account}``: the cloud accounts the caller may use.

Accounts are Clouddriver's (``clouddriver.ListAccounts`` / ``GetAccount``). As Gate does with
Fiat's ``allowedAccounts``, the list holds only the accounts the caller may READ, and a named one
the caller may not READ is a 403; a missing one is a 404.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, RootModel

from gateway.access import require_on, visible
from gateway.api_model import ApiModel
from gateway.auth.model import Permission
from gateway.command_results import ask
from gateway.gate_api import SpinnakerJson, error_responses, gate_json, gate_route, not_found
from gateway.routing import Response, Route, read_query
from schemas.clouddriver import AccountFound, AccountList, GetAccount, ListAccounts

TAG = "credentials"


class Account(SpinnakerJson):
    """Clouddriver's ``AccountDetails``; provider-specific fields are kept as they are."""

    name: str
    type: str | None = Field(default=None, description="The cloud provider, e.g. 'aws', 'kubernetes'")
    cloud_provider: str | None = None
    environment: str | None = None
    account_type: str | None = None
    primary_account: bool | None = None
    challenge_destructive_actions: bool | None = None
    required_group_membership: list[str] | None = None
    permissions: dict[str, list[str]] | None = None


class AccountListing(RootModel[list[Account]]):
    """The accounts the caller may READ, by name."""


class CredentialsQuery(ApiModel):
    """Gate's ``expand`` flag: every account's details are always returned here."""

    expand: bool = False


@gate_route
async def get_accounts(request: web.Request) -> web.Response:
    """Every account the caller may READ."""
    read_query(request, CredentialsQuery)
    accounts = (await ask(request, ListAccounts(), AccountList)).accounts
    return gate_json(visible(request, accounts))


@gate_route
async def get_account(request: web.Request) -> web.Response:
    """One account: 404 when missing, 403 when the caller may not READ it."""
    name = request.match_info["account"]
    account = (await ask(request, GetAccount(name=name), AccountFound)).account
    if account is None:
        raise not_found(f"Account not found (name: {name})")
    require_on(request, account, Permission.READ, kind="account", name=name)
    return gate_json(account)


ROUTES = (
    Route(
        "GET",
        "/credentials",
        get_accounts,
        summary="Retrieve a list of accounts",
        tag=TAG,
        query=CredentialsQuery,
        responses={200: Response("Accounts the caller may READ", AccountListing), **error_responses(400, 504)},
    ),
    Route(
        "GET",
        "/credentials/{account}",
        get_account,
        summary="Retrieve an account's details",
        tag=TAG,
        responses={200: Response("The account", Account), **error_responses(403, 404, 504)},
    ),
)
