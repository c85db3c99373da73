"""The asyncio client for one ``kubernetes`` account, built from the account's kubeconfig and context.

The client is lightkube's :class:`~lightkube.AsyncClient`: asyncio-native over httpx, typed
(mypy-strict callers), with generic resources for any kind and server-side apply and every PATCH
type; ``kubernetes_asyncio`` is a generated, untyped client, and kr8s's objects are untyped.
"""

from __future__ import annotations

from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig, SingleConfig

from schemas.kubernetes_account import KubernetesAccountSettings
from workers.clouddriver.provider import Account, OperationFailed


def account_settings(account: Account) -> KubernetesAccountSettings:
    """The account's ``kubernetes`` table (every key optional)."""
    return KubernetesAccountSettings.model_validate(account.settings.get("kubernetes") or {})


def account_config(account: Account) -> SingleConfig:
    """The cluster, user and namespace of the account's ``context`` in its ``kubeconfigFile``."""
    settings = account_settings(account)
    try:
        config = KubeConfig.from_file(settings.kubeconfig_file) if settings.kubeconfig_file else KubeConfig.from_env()
        chosen = config.get(context_name=settings.context)
    except Exception as error:  # lightkube raises ConfigError, OSError or KeyError for a missing context
        raise OperationFailed(
            f"account {account.name!r}: cannot use kubeconfigFile {settings.kubeconfig_file!r}"
            f" context {settings.context!r}: {error}"
        ) from error
    if chosen is None:
        raise OperationFailed(f"account {account.name!r}: kubeconfig has no context to use; set 'context'")
    return chosen


def account_client(account: Account) -> AsyncClient:
    """A client for the account's cluster; close it with ``await client.close()``."""
    return AsyncClient(config=account_config(account))
