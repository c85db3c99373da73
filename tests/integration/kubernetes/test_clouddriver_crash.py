"""Clouddriver SIGKILLed while a deployManifest waits for its rollout: the next one finishes it, once.

``gennaker worker clouddriver`` runs as a process on RabbitMQ (a virtual host of our own) over a
mongoeco wire server, with a ``kubernetes`` account on the local API server (pods Ready only
after 3 s). It is killed once the ReplicaSet ``front-v000`` is applied and the stage waits for it
to be stable; a new Clouddriver takes the journal entry over, resumes from its recorded decisions
(the same version) and answers the task once: SUCCEEDED, one ReplicaSet, no ``front-v001``; and a
Deployment deployed with ``strategy.spinnaker.io/recreate``, which the first one had deleted and
created anew, is kept (the resumed deploy recorded which object it replaced).
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
from workers.clouddriver.journal import entry_id

pytestmark = pytest.mark.amqp


@pytest.fixture
def vhost_url(amqp_url: str, unique: str) -> Iterator[str]:
    with own_vhost(amqp_url, f"gennaker-k8s-crash-{unique}") as url:
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


async def test_sigkill_while_waiting_for_stable_then_restart_answers_once_with_one_replica_set(
    system: tuple[Clouddriver, dict[str, str], KubernetesApiServer],
) -> None:
    driver, env, cluster = system
    labels = {"app": "front"}
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "front"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": "app:1"}]}},
        },
    }
    # recreated: deleted and created anew by the first Clouddriver, and not again by the next
    recreated = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "again", "annotations": {"strategy.spinnaker.io/recreate": "true"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "again"}},
            "template": {
                "metadata": {"labels": {"app": "again"}},
                "spec": {"containers": [{"name": "main", "image": "app:1"}]},
            },
        },
    }
    before = (await cluster.store.create(KIND["Deployment"], "web", recreated))["metadata"]["uid"]

    def uid() -> str | None:
        found = cluster.store.find(KIND["Deployment"], "web", "again")
        return str(found["metadata"]["uid"]) if found else None

    manifests = [replica_set, recreated]
    context = {"account": "k8s", "manifests": manifests, "moniker": {"app": "hello"}, "waitForUpTimeoutSeconds": 60}
    command = driver.command("deployManifest", {**context, "application": "hello"})
    first = await start_clouddriver(env)
    try:
        await driver.send(command)
        deadline = asyncio.get_running_loop().time() + 20
        while cluster.store.find(KIND["ReplicaSet"], "web", "front-v000") is None or uid() in (None, before):
            assert asyncio.get_running_loop().time() < deadline, first.logs()
            await asyncio.sleep(0.02)
        assert driver.answers(command) == []
        await first.kill()
    finally:
        await first.kill()
    created = uid()
    entry = await driver.db["clouddriver_operations"].find_one({"_id": entry_id(command)})
    assert entry is not None and entry["status"] == "RUNNING"
    second = await start_clouddriver(env)
    try:
        answer = await driver.answer(command, timeout=60)
        assert answer.status == "SUCCEEDED", f"{answer.error}\n{second.logs()}"
        assert answer.outputs["outputs.manifestNamesByNamespace"] == {
            "web": ["replicaSet front-v000", "deployment again"]
        }
        names = [item["metadata"]["name"] for item in cluster.store.list(KIND["ReplicaSet"], "web")]
        assert [name for name in names if not name.startswith("again-")] == ["front-v000"]
        assert uid() == created
        await asyncio.sleep(1.0)  # a redelivered command or a second resumption would answer again by now
        assert len(driver.answers(command)) == 1
    finally:
        await second.stop()
