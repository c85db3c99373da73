"""The local Kubernetes API server routes a Service's requests to its Ready pods, as a cluster does.

Endpoints follow the pods (Ready or not, matching or not, there or deleted); the API server's
service proxy answers from a Ready endpoint in turn, or refuses with the real server's 503; a
ReplicaSet lets go of a pod whose labels stop matching its selector and takes back one that
matches again. A real cluster is the reference (tests/kubernetes_server/README.md).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from schemas.json_types import Json
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.kubernetes_server.server import TOKEN

MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def server() -> AsyncIterator[KubernetesApiServer]:
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=0.1) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        yield session


def replica_set(name: str, image: str, labels: dict[str, str], replicas: int = 2) -> Json:
    container = {"name": "main", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name, **labels}}, "spec": {"containers": [container]}},
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "lb", "labels": {"team": "shop"}},
    "spec": {"selector": {"serving": "yes"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]},
}


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)


def addresses(server: KubernetesApiServer, part: str = "addresses") -> list[str]:
    """The pods named by the Endpoints of ``lb`` (in ``part``)."""
    endpoints = server.store.find(KIND["Endpoints"], "web", "lb") or {}
    return sorted(a["targetRef"]["name"] for s in endpoints.get("subsets") or [] for a in s.get(part) or [])


def pods(server: KubernetesApiServer, owner: str) -> list[str]:
    return sorted(
        pod["metadata"]["name"]
        for pod in server.store.list(KIND["Pod"], "web")
        if any(ref["name"] == owner for ref in pod["metadata"].get("ownerReferences") or [])
    )


async def proxied(server: KubernetesApiServer, http: aiohttp.ClientSession, service: str = "lb:80") -> tuple[int, Json]:
    async with http.get(f"{server.url}/api/v1/namespaces/web/services/{service}/proxy/hello?x=1") as response:
        return response.status, await response.json()


async def test_endpoints_list_the_ready_matching_pods_and_the_proxy_takes_them_in_turn(
    server: KubernetesApiServer, http: aiohttp.ClientSession
) -> None:
    base = f"{server.url}/api/v1/namespaces/web"
    async with http.post(f"{base}/services", json=SERVICE) as created:
        assert created.status == 201
    for document in (
        replica_set("one", "app:1", {"serving": "yes"}),
        replica_set("stuck", "app:never-ready", {"serving": "yes"}, replicas=1),
        replica_set("other", "app:9", {"serving": "no"}, replicas=1),
    ):
        async with http.post(f"{server.url}/apis/apps/v1/namespaces/web/replicasets", json=document) as created:
            assert created.status == 201
    ones = await eventually(lambda: len(addresses(server)) == 2 and addresses(server))
    assert ones == pods(server, "one")
    assert await eventually(lambda: addresses(server, "notReadyAddresses")) == pods(server, "stuck")
    endpoints = server.store.find(KIND["Endpoints"], "web", "lb")
    assert endpoints is not None and endpoints["metadata"]["labels"] == {"team": "shop"}
    assert endpoints["subsets"][0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]

    answers = [await proxied(server, http, service) for service in ("lb:80", "lb:web", "http:lb:web", "lb:80")]
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(body["pod"] for _, body in answers) == sorted(ones * 2)
    assert {(body["image"], body["port"], body["path"], body["method"]) for _, body in answers} == {
        ("app:1", 8080, "/hello", "GET")
    }

    first, second = ones
    async with http.patch(
        f"{base}/pods/{first}", data=json.dumps({"metadata": {"labels": {"serving": "no"}}}), headers=MERGE
    ):
        pass
    await eventually(lambda: first not in addresses(server))
    assert {(await proxied(server, http))[1]["pod"] for _ in range(4)} == {second}
    async with http.delete(f"{base}/pods/{second}") as deleted:
        assert deleted.status == 200
    await eventually(lambda: second not in addresses(server) and len(addresses(server)) == 1)
    assert addresses(server) == [name for name in pods(server, "one") if name not in (first, second)]

    async with http.patch(
        f"{server.url}/apis/apps/v1/namespaces/web/replicasets/one",
        data=json.dumps({"spec": {"replicas": 0}}),
        headers=MERGE,
    ):
        pass
    async with http.patch(
        f"{base}/pods/{first}", data=json.dumps({"metadata": {"labels": {"app": "gone"}}}), headers=MERGE
    ):
        pass
    await eventually(lambda: not addresses(server))
    status, body = await proxied(server, http)  # only the pod that is not Ready is left: a subset, nobody to answer
    assert (status, body["message"]) == (503, 'no endpoints available for service "lb:80"')
    async with http.delete(f"{server.url}/apis/apps/v1/namespaces/web/replicasets/stuck") as deleted:
        assert deleted.status == 200
    await eventually(lambda: not addresses(server, "notReadyAddresses"))
    assert await proxied(server, http) == (
        503,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": 'no endpoints available for service "lb"',
            "reason": "ServiceUnavailable",
            "details": {},
            "code": 503,
        },
    )
    status, body = await proxied(server, http, "lb:81")
    assert (status, body["message"]) == (503, 'no service port 81 found for service "lb"')
    status, body = await proxied(server, http, "nope")
    assert (status, body["message"]) == (404, 'endpoints "nope" not found')
    status, body = await proxied(server, http, "ftp:lb:80")
    assert (status, body["message"]) == (400, 'invalid service request "ftp:lb:80"')

    async with http.delete(f"{base}/services/lb") as deleted:
        assert deleted.status == 200
    await eventually(lambda: server.store.find(KIND["Endpoints"], "web", "lb") is None)


async def test_a_replica_set_releases_a_pod_whose_labels_stop_matching_and_adopts_it_back(
    server: KubernetesApiServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{server.url}/apis/apps/v1/namespaces/web/replicasets", json=replica_set("one", "app:1", {})
    ) as created:
        assert created.status == 201
    first, _ = await eventually(lambda: len(pods(server, "one")) == 2 and pods(server, "one"))
    url = f"{server.url}/api/v1/namespaces/web/pods/{first}"
    async with http.patch(url, data=json.dumps({"metadata": {"labels": {"app": "debug"}}}), headers=MERGE):
        pass
    await eventually(lambda: len(pods(server, "one")) == 2 and first not in pods(server, "one"))
    released = server.store.find(KIND["Pod"], "web", first)
    assert released is not None and not released["metadata"]["ownerReferences"]

    async with http.patch(url, data=json.dumps({"metadata": {"labels": {"app": "one"}}}), headers=MERGE):
        pass
    owned = await eventually(
        lambda: len(pods(server, "one")) == 2 and first in pods(server, "one") and pods(server, "one")
    )
    assert len(server.store.list(KIND["Pod"], "web")) == 2, owned
