"""Gate's Kubernetes views, through the gateway, against the local API server: server group managers,
ReplicaSets of Deployments in and out of traffic, Services as load balancers, and live manifests.

One world for the module (Front50, Orca, Clouddriver and the gateway of
``tests/security/authority_world.py``, on the memory bus). Resources are written straight into
the API server, as ``kubectl`` or another deployer would; Clouddriver's cache follows them on its
watch. Accounts: ``k8s`` (READ: shop's owners and viewers; WRITE: prod deployers) and ``k8s-ops``
(READ only for ``ops``, which no persona holds).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from schemas.json_types import Json
from tests.conftest import AMQP_URL
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.security.authority_world import RIVAL, SHOP, World, headers, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAMESPACE = "shop-web"


class Cluster:
    """The world and the API server behind its ``k8s`` account."""

    def __init__(self, world: World, server: KubernetesApiServer) -> None:
        self.world = world
        self.server = server

    async def create(self, document: Json, namespace: str = NAMESPACE) -> Json:
        return await self.server.store.create(KIND[document["kind"]], namespace, document)

    async def change(self, kind: str, name: str, edit: Any, namespace: str = NAMESPACE) -> Json:
        current = self.server.store.get(KIND[kind], namespace, name)
        edit(current)
        current["metadata"].pop("resourceVersion", None)
        return await self.server.store.replace(KIND[kind], namespace, name, current)

    def replica_sets(self, deployment: str) -> list[Json]:
        return [
            item
            for item in self.server.store.list(KIND["ReplicaSet"], NAMESPACE)
            if any(ref.get("name") == deployment for ref in item["metadata"].get("ownerReferences") or [])
        ]

    async def until(self, path: str, check: Any, persona: str = "owner", timeout: float = 20) -> Any:
        """The JSON ``path`` answers ``persona`` once ``check`` holds of it."""
        return await self.world.until(lambda: self.world.get(path, persona), check, timeout)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    work_dir: Path = tmp_path_factory.mktemp("k8s-reads")
    async with KubernetesApiServer(namespaces=(NAMESPACE,), ready_seconds=0.1) as server:
        kubeconfig = server.kubeconfig(work_dir / "kubeconfig", namespace=NAMESPACE)
        reach = {"kubeconfigFile": str(kubeconfig), "context": "local"}
        accounts: list[Json] = [
            {
                "name": "k8s",
                "cloudProvider": "kubernetes",
                "permissions": {"READ": ["shop-owners", "shop-viewers"], "WRITE": ["prod-deployers"]},
                "kubernetes": reach,
            },
            {
                "name": "k8s-ops",
                "cloudProvider": "kubernetes",
                "permissions": {"READ": ["ops"], "WRITE": ["ops"]},
                "kubernetes": reach,
            },
        ]
        async with running_world(
            "memory", work_dir, amqp_url=AMQP_URL, vhost="k8sgate-reads", accounts=accounts
        ) as world:
            await world.create_application("shop", SHOP)
            await world.create_application("rival", RIVAL)
            yield Cluster(world, server)


def moniker(application: str = "shop", cluster: str | None = None) -> dict[str, str]:
    notes = {"moniker.spinnaker.io/application": application}
    if cluster:
        notes["moniker.spinnaker.io/cluster"] = cluster
    return notes


def deployment(name: str, labels: dict[str, str], *, image: str = "nginx:1.27", **notes: str) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "labels": {"team": "shop"},
            "annotations": {**moniker(cluster=f"deployment {name}"), **notes},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": labels["app"]}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "main", "image": image, "envFrom": [{"configMapRef": {"name": f"{name}-settings"}}]}
                    ]
                },
            },
        },
    }


def service(name: str, selector: dict[str, str]) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "annotations": moniker()},
        "spec": {"selector": selector, "ports": [{"port": 80}]},
    }


def named(items: list[Json], name: str) -> Json:
    return next(item for item in items if item["name"] == name)


async def test_server_group_managers_list_deployments_with_their_replica_sets(cluster: Cluster) -> None:
    await cluster.create(deployment("web", {"app": "web"}))
    managers = await cluster.until(
        "/applications/shop/serverGroupManagers",
        lambda found: any(m["name"] == "deployment web" and m["serverGroups"] for m in found),
    )
    manager = named(managers, "deployment web")
    [replica_set] = cluster.replica_sets("web")
    group_name = f"replicaSet {replica_set['metadata']['name']}"
    assert manager["account"] == "k8s" and manager["region"] == NAMESPACE and manager["namespace"] == NAMESPACE
    assert manager["cloudProvider"] == "kubernetes" and manager["displayName"] == "web"
    assert manager["moniker"] == {"app": "shop", "cluster": "deployment web"}
    assert manager["labels"] == {"team": "shop"} and manager["createdTime"] > 0
    assert manager["serverGroups"] == [
        {
            "name": group_name,
            "account": "k8s",
            "region": NAMESPACE,
            "namespace": NAMESPACE,
            "moniker": {"app": "shop", "cluster": "deployment web"},
            "isDisabled": False,
        }
    ]
    # the ReplicaSet, as a server group, names its manager as Spinnaker's Clouddriver does
    groups = await cluster.world.get("/applications/shop/serverGroups?expand=true", "owner")
    assert named(groups, group_name)["serverGroupManagers"] == [
        {"account": "k8s", "location": NAMESPACE, "name": "web"}
    ]

    # a new pod template makes a second ReplicaSet: the Deployment manages both
    await cluster.change(
        "Deployment", "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:1.28")
    )
    managers = await cluster.until(
        "/applications/shop/serverGroupManagers",
        lambda found: len(named(found, "deployment web")["serverGroups"]) == 2,
    )
    expected = sorted(f"replicaSet {rs['metadata']['name']}" for rs in cluster.replica_sets("web"))
    assert sorted(g["name"] for g in named(managers, "deployment web")["serverGroups"]) == expected


async def test_server_group_managers_are_judged_by_application_and_account(cluster: Cluster) -> None:
    await cluster.until("/applications/shop/serverGroupManagers", lambda found: bool(found), persona="viewer")
    # an application the caller may not READ is a 403, as every infrastructure read of it
    refused = await cluster.world.client.get("/applications/rival/serverGroupManagers", headers=headers("owner"))
    assert refused.status == 403, await refused.text()
    assert "rival" in (await refused.json())["message"]
    # the same Deployment is seen through both accounts; only the one the caller may READ is shown
    admin = await cluster.world.get("/applications/shop/serverGroupManagers", "admin")
    assert {m["account"] for m in admin if m["name"] == "deployment web"} == {"k8s", "k8s-ops"}
    owner = await cluster.world.get("/applications/shop/serverGroupManagers", "owner")
    assert {m["account"] for m in owner} == {"k8s"}


async def test_replica_sets_of_a_deployment_out_of_its_services_traffic_are_disabled(cluster: Cluster) -> None:
    await cluster.create(service("api", {"app": "api", "track": "live"}))
    await cluster.create(deployment("api", {"app": "api"}))
    first = await cluster.until(
        "/applications/shop/serverGroupManagers",
        lambda found: any(m["name"] == "deployment api" and m["serverGroups"] for m in found),
    )
    assert [g["isDisabled"] for g in named(first, "deployment api")["serverGroups"]] == [False]  # names no Service
    # the Deployment now says its traffic comes through service api, which does not select its pods:
    # its ReplicaSet (made before the annotation, so without it) takes no traffic
    notes = {"traffic.spinnaker.io/load-balancers": '["service api"]'}
    await cluster.change("Deployment", "api", lambda d: d["metadata"]["annotations"].update(notes))
    [old] = cluster.replica_sets("api")
    old_name = f"replicaSet {old['metadata']['name']}"
    groups = await cluster.until(
        "/applications/shop/serverGroups", lambda found: named(found, old_name)["isDisabled"] is True
    )
    assert named(groups, old_name)["loadBalancers"] == ["service api"]
    # a template the Service selects: its ReplicaSet is in traffic, the old one still out
    await cluster.change(
        "Deployment", "api", lambda d: d["spec"]["template"]["metadata"]["labels"].update(track="live")
    )
    managers = await cluster.until(
        "/applications/shop/serverGroupManagers",
        lambda found: len(named(found, "deployment api")["serverGroups"]) == 2,
    )
    states = {g["name"]: g["isDisabled"] for g in named(managers, "deployment api")["serverGroups"]}
    [new_name] = [name for name in states if name != old_name]
    assert states == {old_name: True, new_name: False}
    groups = await cluster.world.get("/applications/shop/serverGroups", "owner")
    assert named(groups, new_name)["isDisabled"] is False and named(groups, old_name)["isDisabled"] is True
    target = "/applications/shop/clusters/k8s/deployment%20api/kubernetes/shop-web/serverGroups/target/current"
    enabled = await cluster.world.get(f"{target}?onlyEnabled=true", "owner")
    assert enabled["name"] == new_name


async def test_services_are_the_load_balancers_of_the_replica_sets_they_select(cluster: Cluster) -> None:
    await cluster.create(service("web", {"app": "web"}))
    balancers = await cluster.until(
        "/applications/shop/loadBalancers",
        lambda found: any(b["name"] == "service web" and len(b["serverGroups"]) == 2 for b in found),
    )
    balancer = named([b for b in balancers if b["account"] == "k8s"], "service web")
    assert balancer["region"] == NAMESPACE and balancer["namespace"] == NAMESPACE
    assert (
        balancer["displayName"] == "web" and balancer["kind"] == "Service" and balancer["cloudProvider"] == "kubernetes"
    )
    assert balancer["moniker"] == {"app": "shop", "cluster": "service web"}
    assert sorted(g["name"] for g in balancer["serverGroups"]) == sorted(
        f"replicaSet {rs['metadata']['name']}" for rs in cluster.replica_sets("web")
    )
    assert all(g["isDisabled"] is False for g in balancer["serverGroups"])
    groups = await cluster.world.get("/applications/shop/serverGroups", "owner")
    current = [g for g in groups if g["name"].startswith("replicaSet web-")]
    assert all(g["loadBalancers"] == ["service web"] for g in current)


async def test_a_manifest_is_read_live_with_its_status_artifacts_and_events(cluster: Cluster) -> None:
    await cluster.create(deployment("site", {"app": "site"}, image="registry.example:5000/site:7"))
    path = "/manifests/k8s/shop-web/deployment%20site"
    found = await cluster.until(path, lambda found: found["status"]["stable"]["state"], persona="viewer")
    assert (found["account"], found["name"], found["location"]) == ("k8s", "deployment site", NAMESPACE)
    assert found["moniker"] == {"app": "shop", "cluster": "deployment site"}
    assert found["manifest"]["kind"] == "Deployment" and found["manifest"]["metadata"]["name"] == "site"
    assert found["manifest"]["status"]["readyReplicas"] == 1
    assert found["status"] == {
        "stable": {"state": True, "message": None},
        "paused": {"state": False, "message": None},
        "available": {"state": True, "message": None},
        "failed": {"state": False, "message": None},
    }
    assert found["artifacts"] == [
        {"type": "docker/image", "name": "registry.example:5000/site", "reference": "registry.example:5000/site:7"},
        {"type": "kubernetes/configMap", "name": "site-settings", "reference": "site-settings"},
    ]
    [replica_set] = cluster.replica_sets("site")
    rs_name = replica_set["metadata"]["name"]
    [event] = found["events"]
    assert event["reason"] == "ScalingReplicaSet" and event["message"] == f"Scaled up replica set {rs_name} to 1 from 0"
    assert event["involvedObject"]["kind"] == "Deployment" and event["involvedObject"]["name"] == "site"
    assert (await cluster.world.get(f"{path}?includeEvents=false", "viewer"))["events"] == []

    # the live object, not the cache: a change shows at once
    await cluster.change("Deployment", "site", lambda d: d["spec"].update(paused=True))
    paused = await cluster.world.get(path, "viewer")
    assert paused["manifest"]["spec"]["paused"] is True
    assert paused["status"]["paused"] == {"state": True, "message": "the rollout is paused"}
    assert paused["status"]["stable"]["state"] is False

    # its ReplicaSet and that one's pod carry no application of their own: their owners' is judged
    owned = await cluster.world.get(f"/manifests/k8s/shop-web/replicaSet%20{rs_name}", "viewer")
    assert owned["moniker"]["app"] == "shop" and owned["status"]["stable"]["state"] is True
    [pod] = [p for p in cluster.server.store.list(KIND["Pod"], NAMESPACE) if p["metadata"]["name"].startswith(rs_name)]
    assert "moniker.spinnaker.io/application" not in (pod["metadata"].get("annotations") or {})
    shown = await cluster.world.get(f"/manifests/k8s/shop-web/pod%20{pod['metadata']['name']}", "viewer")
    assert shown["moniker"]["app"] == "shop" and shown["artifacts"][0]["reference"] == "registry.example:5000/site:7"


async def test_a_rollout_past_its_deadline_shows_failed_and_unavailable(cluster: Cluster) -> None:
    stuck = deployment("stuck", {"app": "stuck"}, image="never-ready:1")
    stuck["spec"]["progressDeadlineSeconds"] = 1
    await cluster.create(stuck)
    found = await cluster.until(
        "/manifests/k8s/shop-web/deployment%20stuck", lambda found: found["status"]["failed"]["state"]
    )
    assert found["status"]["failed"]["message"].startswith("Deployment exceeded its progress deadline")
    assert found["status"]["stable"]["state"] is False
    assert found["status"]["available"] == {"state": False, "message": "MinimumReplicasUnavailable"}


async def status_and_message(cluster: Cluster, path: str, persona: str) -> tuple[int, str]:
    response = await cluster.world.client.get(path, headers=headers(persona))
    body = await response.json()
    return response.status, str(body.get("message") if isinstance(body, dict) else body)


async def test_manifest_reads_are_404_for_what_is_not_there_and_403_without_read(cluster: Cluster) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "keys", "annotations": moniker()},
        "data": {"password": "aHVudGVyMg=="},
    }
    await cluster.create(secret)
    rival = deployment("rival-web", {"app": "rival-web"})
    rival["metadata"]["annotations"] = moniker("rival")
    await cluster.create(rival)
    orphan = deployment("orphan", {"app": "orphan"})
    orphan["metadata"]["annotations"] = {}
    await cluster.create(orphan)

    cases = {
        "/manifests/nope/shop-web/deployment%20web": (
            404,
            "Unable to find deployment web in nope/shop-web: there is no account 'nope'",
        ),
        "/manifests/k8s/shop-web/deployment%20nothere": (
            404,
            "Unable to find deployment nothere in k8s/shop-web: there is no deployment nothere in namespace 'shop-web'",
        ),
        "/manifests/k8s/elsewhere/deployment%20web": (
            404,
            "Unable to find deployment web in k8s/elsewhere: there is no deployment web in namespace 'elsewhere'",
        ),
        "/manifests/k8s/shop-web/web": (404, "manifestName 'web' must be '<kind> <name>'"),
        "/manifests/k8s/shop-web/widget%20web": (404, "kind 'widget' is neither a built-in kind nor one"),
        "/manifests/k8s-ops/shop-web/deployment%20web": (403, "account k8s-ops"),
        "/manifests/k8s/shop-web/deployment%20rival-web": (403, "rival"),
        "/manifests/k8s/shop-web/deployment%20orphan": (403, "names no application"),
    }
    for path, (status, message) in cases.items():
        got_status, got_message = await status_and_message(cluster, path, "owner")
        assert got_status == status and message in got_message, (path, got_status, got_message)
    # an admin may read what names another application, or none
    for name in ("rival-web", "orphan"):
        assert (await cluster.world.get(f"/manifests/k8s/shop-web/deployment%20{name}", "admin"))["manifest"]
    # a Secret is shown without its values
    shown = await cluster.world.get("/manifests/k8s/shop-web/secret%20keys", "owner")
    assert shown["manifest"]["data"] == {"password": "**********"}
    assert "aHVudGVyMg" not in str(shown)
