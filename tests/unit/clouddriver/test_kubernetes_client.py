"""The client of a ``kubernetes`` account talks to the cluster of the context its settings name."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lightkube.resources.core_v1 import Namespace

from workers.clouddriver.kubernetes.client import account_client, account_config
from workers.clouddriver.provider import Account, OperationFailed

KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: dev
clusters:
- {{name: dev, cluster: {{server: "http://127.0.0.1:1"}}}}
- {{name: prod, cluster: {{server: "{prod}"}}}}
users:
- {{name: deployer, user: {{token: secret-token}}}}
contexts:
- {{name: dev, context: {{cluster: dev, user: deployer}}}}
- {{name: prod, context: {{cluster: prod, user: deployer, namespace: web}}}}
"""


def account(kubeconfig: Path, context: str | None) -> Account:
    table = {"kubeconfigFile": str(kubeconfig), "context": context}
    return Account(name="k8s", cloud_provider="kubernetes", settings={"kubernetes": table})


def test_the_named_context_is_used_not_the_current_one(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG.format(prod="https://prod.example:6443"))
    assert account_config(account(kubeconfig, "prod")).cluster.server == "https://prod.example:6443"
    assert account_config(account(kubeconfig, None)).cluster.server == "http://127.0.0.1:1"


def test_a_missing_context_fails_naming_the_account_and_the_context(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG.format(prod="https://prod.example:6443"))
    with pytest.raises(OperationFailed, match=r"account 'k8s'.*context 'staging'"):
        account_config(account(kubeconfig, "staging"))


async def test_the_client_reads_the_cluster_over_http_with_the_users_token(tmp_path: Path) -> None:
    seen: list[str] = []

    async def namespace(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        name = request.match_info["name"]
        return web.json_response({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/{name}", namespace)
    async with TestServer(app) as server:
        kubeconfig = tmp_path / "config"
        kubeconfig.write_text(KUBECONFIG.format(prod=str(server.make_url("")).rstrip("/")))
        client = account_client(account(kubeconfig, "prod"))
        try:
            found = await client.get(Namespace, "web")
        finally:
            await client.close()
    assert found.metadata is not None and found.metadata.name == "web"
    assert seen == ["Bearer secret-token"]
