"""The provider retries an API server that does not answer, then fails saying so; refusals keep the server's reason."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gennaker.host import free_port
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from workers.clouddriver.kubernetes.provider import ApiRefused, KubernetesProvider
from workers.clouddriver.provider import STAGE_DEADLINE, Account, OperationFailed

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}


def account(kubeconfig: Path, **table: object) -> Account:
    settings = {"kubernetes": {"kubeconfigFile": str(kubeconfig), "context": "local", **table}}
    return Account(name="k8s", cloud_provider="kubernetes", settings=settings)


async def test_an_api_server_that_is_away_is_retried_with_backoff_then_the_call_fails_saying_so(tmp_path: Path) -> None:
    server = KubernetesApiServer()
    server.url = f"http://127.0.0.1:{free_port()}"
    provider = KubernetesProvider(attempts=3, first_backoff=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(OperationFailed, match=r"did not answer applying configMap c after 3 attempts") as failed:
            await provider.apply(account(server.kubeconfig(tmp_path / "config")), CONFIG_MAP)
    finally:
        await provider.close()
    assert time.monotonic() - started >= 0.2 + 0.4  # two backoffs between three attempts
    assert server.url in str(failed.value)


async def test_within_the_stages_timeout_a_server_that_is_away_is_retried_until_it_answers(tmp_path: Path) -> None:
    port = free_port()
    kubeconfig = KubernetesApiServer(port=port).kubeconfig(tmp_path / "config")
    provider = KubernetesProvider(attempts=2, first_backoff=0.2)
    token = STAGE_DEADLINE.set(time.monotonic() + 20)
    try:
        applying = asyncio.create_task(provider.apply(account(kubeconfig), CONFIG_MAP))
        await asyncio.sleep(1.0)  # three attempts have failed by now: more than `attempts`
        assert not applying.done()
        async with KubernetesApiServer(port=port) as server:
            applied = await applying
            assert server.store.find(KIND["ConfigMap"], "default", "c") is not None
        assert applied["metadata"]["name"] == "c"
        STAGE_DEADLINE.set(time.monotonic() + 1.5)
        with pytest.raises(
            OperationFailed,
            match=r"after [3-9] attempts .* stageTimeoutMs, counted from the operation's start, leaves no time",
        ):
            await provider.apply(account(kubeconfig), CONFIG_MAP)
    finally:
        STAGE_DEADLINE.reset(token)
        await provider.close()


async def test_a_server_that_comes_back_within_the_retries_is_used(tmp_path: Path) -> None:
    async with KubernetesApiServer() as server:
        provider = KubernetesProvider()
        try:
            applied = await provider.apply(account(server.kubeconfig(tmp_path / "config")), CONFIG_MAP)
            again = await provider.apply(account(server.kubeconfig(tmp_path / "config")), CONFIG_MAP)
        finally:
            await provider.close()
    assert applied["metadata"]["uid"] == again["metadata"]["uid"]
    assert applied["metadata"]["resourceVersion"] == again["metadata"]["resourceVersion"]  # nothing changed twice


async def test_namespaces_and_kinds_outside_the_account_are_refused_before_any_request(tmp_path: Path) -> None:
    async with KubernetesApiServer(namespaces=("web",)) as server:
        provider = KubernetesProvider()
        kubeconfig = server.kubeconfig(tmp_path / "config")
        try:
            with pytest.raises(OperationFailed, match="does not cover namespace 'default'"):
                await provider.apply(account(kubeconfig, namespaces=["web"]), CONFIG_MAP)
            with pytest.raises(OperationFailed, match="does not cover kind 'ConfigMap'"):
                await provider.apply(account(kubeconfig, omitKinds=["configMap"]), CONFIG_MAP)
            assert server.api.requests == []
            with pytest.raises(ApiRefused, match='namespaces "nowhere" not found') as refused:
                await provider.apply(
                    account(kubeconfig), CONFIG_MAP | {"metadata": {"name": "c", "namespace": "nowhere"}}
                )
            assert refused.value.code == 404
        finally:
            await provider.close()
