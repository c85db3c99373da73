"""Red/black with traffic management loses no request: the Service always has a Ready pod to answer.

Front50, Orca and Clouddriver on RabbitMQ, a ``kubernetes`` account on the local API server
(``tests/kubernetes_server``, whose endpoints controller and service proxy route a Service's
requests to its Ready pods as a cluster does). A load generator — a few clients, each asking the
Service through the API server's proxy again and again over HTTP — runs while a pipeline does a
red/black ``deployManifest`` from v1 to v2: no request fails, both versions answer during the run,
and at the end v2 answers and v1 does not. A red/black whose new pods never become Ready fails
its stage and, under the same load, loses no request either: v1 answers throughout and still does,
as in Spinnaker, whose red/black takes the old version out of its Services only once the new one
is up. A strategy whose new version would never join the Services (``enableTraffic: false``) is
refused before anything is applied; ``bluegreen``, Spinnaker's newer name, is red/black.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from ulid import ULID

from schemas.json_types import Json
from tests.conftest import AMQP_URL
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.kubernetes_server.server import TOKEN
from tests.security.authority_world import SHOP, World, headers, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")
CLIENTS = 4
PAUSE_SECONDS = 0.01


@dataclass
class Answer:
    """One request of the load: when it was answered, its HTTP status and which image answered it."""

    at: float
    status: int
    image: str = ""
    error: str = ""


@dataclass
class Load:
    """``CLIENTS`` clients asking ``url`` in a loop until stopped; every answer is kept."""

    url: str
    answers: list[Answer] = field(default_factory=list)

    async def _client(self, session: aiohttp.ClientSession) -> None:
        while True:
            try:
                async with session.get(self.url) as response:
                    body = await response.json()
                    image = str(body.get("image", "")) if response.status == 200 else ""
                    error = "" if response.status == 200 else str(body.get("message"))
                    self.answers.append(Answer(time.monotonic(), response.status, image, error))
            except aiohttp.ClientError as failed:
                self.answers.append(Answer(time.monotonic(), 0, error=repr(failed)))
            await asyncio.sleep(PAUSE_SECONDS)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Load]:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
            clients = [asyncio.create_task(self._client(session)) for _ in range(CLIENTS)]
            try:
                yield self
            finally:
                for client in clients:
                    client.cancel()
                await asyncio.gather(*clients, return_exceptions=True)

    def failed(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.status != 200]

    def images(self, since: float = 0.0) -> set[str]:
        return {answer.image for answer in self.answers if answer.at >= since and answer.status == 200}

    async def at_least(self, count: int) -> None:
        """Wait until ``count`` more requests have been answered."""
        wanted = len(self.answers) + count
        while len(self.answers) < wanted:
            await asyncio.sleep(0.01)


@dataclass
class Cluster:
    world: World
    server: KubernetesApiServer

    def load(self, service: str) -> Load:
        return Load(f"{self.server.url}/api/v1/namespaces/web/services/{service}:80/proxy/")

    def endpoint_history(self, service: str) -> list[Json]:
        """Every version of the Service's Endpoints the API server stored, oldest first."""
        return [
            event.object
            for event in self.server.store.events
            if event.plural == "endpoints" and event.object["metadata"]["name"] == service
        ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    work_dir: Path = tmp_path_factory.mktemp("k8s-traffic")
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=0.2) as server:
        accounts = [server.account(work_dir / "kubeconfig", namespace="web")]
        vhost = f"k8s-traffic-{str(ULID()).lower()}"
        async with running_world("amqp", work_dir, amqp_url=AMQP_URL, vhost=vhost, accounts=accounts) as world:
            await world.create_application("shop", SHOP)
            yield Cluster(world, server)


def service(name: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"serving": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def version(name: str, image: str) -> Json:
    labels = {"app": name}
    container = {"name": "main", "image": image, "ports": [{"containerPort": 8080}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def deploy(ref: str, manifest: Json, after: list[str], **extra: Any) -> Json:
    return {
        "refId": ref,
        "type": "deployManifest",
        "name": f"Deploy {manifest['kind']} {manifest['metadata']['name']}",
        "requisiteStageRefIds": after,
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "source": "text",
        "moniker": {"app": "shop"},
        "manifests": [manifest],
        "waitForUpTimeoutSeconds": 20,
        **extra,
    }


def red_black(lb: str, **extra: Any) -> Json:
    options = {"strategy": "redblack", "services": [f"service {lb}"], "enableTraffic": True}
    return {"trafficManagement": {"enabled": True, "options": options}, **extra}


async def run(cluster: Cluster, stages: list[Json]) -> Json:
    world = cluster.world
    name = f"traffic-{ULID()}"
    body = {"application": "shop", "name": name, "stages": stages}
    saved = await world.client.post("/pipelines", json=body, headers=headers("admin"))
    assert saved.status == 200, await saved.text()
    started = await world.client.post(f"/pipelines/shop/{name}", json={}, headers=headers("deployer"))
    assert started.status == 202, await started.text()
    return await world.finished(str((await started.json())["ref"]).rsplit("/", 1)[1], timeout=60)


def failure(execution: Json) -> str:
    stage = next(stage for stage in execution["stages"] if stage["status"] == "TERMINAL")
    return str(stage["context"].get("exception", {}).get("details", {}).get("error") or stage["context"])


async def serving_v1(cluster: Cluster, lb: str, name: str) -> None:
    """The Service ``lb`` and v1 of ReplicaSet ``name`` behind it, red/black with nothing older."""
    stages = [deploy("1", service(lb), []), deploy("2", version(name, "app:1"), ["1"], **red_black(lb))]
    execution = await run(cluster, stages)
    assert execution["status"] == "SUCCEEDED", failure(execution)


def ready_pods(endpoints: Json, part: str = "addresses") -> list[str]:
    return [a["targetRef"]["name"] for subset in endpoints.get("subsets") or [] for a in subset.get(part) or []]


async def test_red_black_from_v1_to_v2_under_load_fails_no_request(cluster: Cluster) -> None:
    await serving_v1(cluster, "lb-rb", "rb")
    async with cluster.load("lb-rb").running() as load:
        await load.at_least(20)
        execution = await run(cluster, [deploy("1", version("rb", "app:2"), [], **red_black("lb-rb"))])
        assert execution["status"] == "SUCCEEDED", failure(execution)
        done = time.monotonic()
        await load.at_least(40)
    assert not load.failed(), load.failed()[:5]
    assert load.images() == {"app:1", "app:2"}
    # v2 answers once the stage is done, and v1 not any more: the Service's endpoints are v2's pods alone
    assert load.images(since=done) == {"app:2"}
    history = cluster.endpoint_history("lb-rb")
    v2 = {
        pod["metadata"]["name"]
        for pod in cluster.server.store.list(KIND["Pod"], "web", "app=rb")
        if pod["metadata"]["ownerReferences"][0]["name"] == "rb-v001"
    }
    assert len(v2) == 2 and set(ready_pods(history[-1])) == v2
    # the Service never had no Ready pod once v1 was up: v2's pods joined before v1's left
    first = next(index for index, endpoints in enumerate(history) if ready_pods(endpoints))
    assert all(ready_pods(endpoints) for endpoints in history[first:])
    assert any(
        {name[: len("rb-v000")] for name in ready_pods(endpoints)} == {"rb-v000", "rb-v001"} for endpoints in history
    )


async def test_a_red_black_whose_pods_never_become_ready_fails_and_v1_serves_throughout(cluster: Cluster) -> None:
    await serving_v1(cluster, "lb-stuck", "stuck")
    async with cluster.load("lb-stuck").running() as load:
        await load.at_least(20)
        stuck = deploy("1", version("stuck", "app:never-ready"), [], **red_black("lb-stuck"))
        execution = await run(cluster, [stuck | {"waitForUpTimeoutSeconds": 2}])
        await load.at_least(40)
    assert execution["status"] == "TERMINAL"
    reason = failure(execution)
    assert "replicaSet stuck-v001 in web is not stable after 2 s" in reason, reason
    assert "the new version was taken out of its Services" in reason, reason
    assert not load.failed(), load.failed()[:5]
    assert load.images() == {"app:1"}
    history = cluster.endpoint_history("lb-stuck")
    # v2's pods were in the Service, but never Ready, so never asked; then taken out; v1's stayed throughout
    assert any(name.startswith("stuck-v001") for e in history for name in ready_pods(e, "notReadyAddresses"))
    assert not any(name.startswith("stuck-v001") for e in history for name in ready_pods(e))
    assert sorted(name[: len("stuck-v000")] for name in ready_pods(history[-1])) == ["stuck-v000"] * 2
    assert not ready_pods(history[-1], "notReadyAddresses")


def owners(endpoints: Json) -> list[str]:
    """The ReplicaSets whose pods are the Endpoints' Ready addresses (``bg-v000-x1y2z`` → ``bg-v000``)."""
    return sorted(name.rsplit("-", 1)[0] for name in ready_pods(endpoints))


async def test_a_strategy_that_would_leave_the_service_with_nobody_is_refused_and_bluegreen_is_red_black(
    cluster: Cluster,
) -> None:
    await serving_v1(cluster, "lb-bg", "bg")
    dark = red_black("lb-bg")
    dark["trafficManagement"]["options"]["enableTraffic"] = False
    refused = await run(cluster, [deploy("1", version("bg", "app:2"), [], **dark)])
    assert refused["status"] == "TERMINAL"
    assert "trafficManagement.options.enableTraffic is false: the redblack strategy would take" in failure(refused)
    assert cluster.server.store.find(KIND["ReplicaSet"], "web", "bg-v001") is None
    assert owners(cluster.endpoint_history("lb-bg")[-1]) == ["bg-v000"] * 2

    blue_green = red_black("lb-bg")
    blue_green["trafficManagement"]["options"]["strategy"] = "bluegreen"
    execution = await run(cluster, [deploy("1", version("bg", "app:2"), [], **blue_green)])
    assert execution["status"] == "SUCCEEDED", failure(execution)
    assert owners(cluster.endpoint_history("lb-bg")[-1]) == ["bg-v001"] * 2
