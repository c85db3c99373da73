"""Clouddriver's messages about accounts: the credentials every cloud operation runs under.

Gate's ``/credentials`` reads them. An account's JSON is Clouddriver's ``AccountDetails``:
``name``, ``type`` / ``cloudProvider``, ``environment``, ``accountType``, ``primaryAccount`` and
``permissions`` (``{"READ": [roles], "WRITE": [roles]}``, as Fiat reads them). The gateway filters
what the caller may READ; Clouddriver answers with every account it knows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from schemas.base import Query, Reply
from schemas.registry import message

Json = dict[str, Any]


@message
class AccountList(Reply):
    """Every account Clouddriver knows, sorted by name."""

    message_type: ClassVar[str] = "clouddriver.AccountList"
    accounts: list[Json]


@message
class ListAccounts(Query):
    """Every configured account (the gateway filters what the caller may READ)."""

    message_type: ClassVar[str] = "clouddriver.ListAccounts"
    reply_model: ClassVar[type[Reply]] = AccountList


@message
class AccountFound(Reply):
    """One account, or ``None`` when none has that name."""

    message_type: ClassVar[str] = "clouddriver.AccountFound"
    account: Json | None


@message
class GetAccount(Query):
    """One account by name."""

    message_type: ClassVar[str] = "clouddriver.GetAccount"
    reply_model: ClassVar[type[Reply]] = AccountFound
    name: str = Field(min_length=1)
