"""Clouddriver SIGKILLed after a ``strategy.spinnaker.io/recreate`` deploy created its object anew: the
Clouddriver that resumes the deploy keeps that object (it recorded which one it replaced) instead of
deleting and creating it a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.broker import own_vhost
from tests.integration.clouddriver.conftest import Clouddriver
from tests.integration.clouddriver.killable import killable_clouddriver, start_clouddriver
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND

pytestmark = pytest.mark.amqp


@pytest.fixture
def vhost_url(amqp_url: str, unique: str) -> Iterator[str]:
    with own_vhost(amqp_url, f"gennaker-k8sstrat-recreate-{unique}") as url:
        yield url


@pytest.fixture
async def system(
    vhost_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Clouddriver, dict[str, str], KubernetesApiServer]]:
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=3.0) as cluster:
        kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig", namespace="web")
        account = {"name": "k8s", "cloudProvider": "kubernetes", "kubernetes": {"kubeconfigFile": str(kubeconfig)}}
        async with killable_clouddriver(vhost_url, tmp_path, [account], check_orphans=False) as (driver, env):
            yield driver, env, cluster


async def test_a_resumed_recreate_keeps_the_object_it_created_before_the_crash(
    system: tuple[Clouddriver, dict[str, str], KubernetesApiServer],
) -> None:
    driver, env, cluster = system
    labels = {"app": "again"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "again", "annotations": {"strategy.spinnaker.io/recreate": "true"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": "app:1"}]}},
        },
    }
    before = await cluster.store.create(KIND["Deployment"], "web", deployment)
    context = {"account": "k8s", "manifests": [deployment], "moniker": {"app": "hello"}, "waitForUpTimeoutSeconds": 60}
    command = driver.command("deployManifest", {**context, "application": "hello"})

    def uid() -> str | None:
        found = cluster.store.find(KIND["Deployment"], "web", "again")
        return str(found["metadata"]["uid"]) if found else None

    first = await start_clouddriver(env)
    try:
        await driver.send(command)
        deadline = asyncio.get_running_loop().time() + 20
        while uid() in (None, before["metadata"]["uid"]):
            assert asyncio.get_running_loop().time() < deadline, first.logs()
            await asyncio.sleep(0.02)
        assert driver.answers(command) == []  # still waiting for its pods to be ready
        await first.kill()
    finally:
        await first.kill()
    created = uid()
    second = await start_clouddriver(env)
    try:
        answer = await driver.answer(command, timeout=60)
        assert answer.status == "SUCCEEDED", f"{answer.error}\n{second.logs()}"
        assert uid() == created
    finally:
        await second.stop()
