"""deployManifest honours Spinnaker's ``strategy.spinnaker.io/*`` annotations and reuses unchanged
versions, through the whole system against the local Kubernetes API server (which stores objects
with defaults added and a Secret's ``stringData`` folded into ``data``, as a real one does).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from ulid import ULID

from schemas.json_types import Json
from tests.conftest import AMQP_URL
from tests.integration.kubernetes.test_manifest_pipeline import Cluster, by_ref, deploy, failure, run, step
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.security.authority_world import SHOP, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    work_dir: Path = tmp_path_factory.mktemp("k8sstrat")
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=0.2) as server:
        accounts = [server.account(work_dir / "kubeconfig", namespace="web")]
        vhost = f"k8sstrat-{str(ULID()).lower()}"
        async with running_world("memory", work_dir, amqp_url=AMQP_URL, vhost=vhost, accounts=accounts) as world:
            await world.create_application("shop", SHOP)
            yield Cluster(world, server, None)  # type: ignore[arg-type]


def annotated(manifest: Json, **notes: str) -> Json:
    """``manifest`` with ``strategy.spinnaker.io/{key}`` annotations (``use_source_capacity`` is
    ``use-source-capacity``)."""
    strategy = {f"strategy.spinnaker.io/{key.replace('_', '-')}": value for key, value in notes.items()}
    return {**manifest, "metadata": {**manifest["metadata"], "annotations": strategy}}


def config_map(name: str, value: str = "1", **notes: str) -> Json:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}
    return annotated(manifest, **notes)


def replica_set(name: str, image: str = "app:1", replicas: int = 1, kind: str = "ReplicaSet", **notes: str) -> Json:
    labels = {"app": name}
    return annotated(
        {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "main", "image": image, "ports": [{"containerPort": 80}]}]},
                },
            },
        },
        **notes,
    )


def after(ref: str, before: str, stage: Json) -> Json:
    """``stage`` as ``ref``, run once ``before`` is done."""
    return stage | {"refId": ref, "requisiteStageRefIds": [before]}


def pod(name: str, image: str = "app:1") -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image}]},
    }


async def succeeded(cluster: Cluster, *stages: Json) -> Json:
    execution = await run(cluster, list(stages), "deployer")
    assert execution["status"] == "SUCCEEDED", [(s["type"], failure(s)) for s in execution["stages"]]
    return execution


def versions(cluster: Cluster, kind: str, base: str) -> list[str]:
    return sorted(name for name in cluster.names(kind) if name.startswith(f"{base}-v"))


async def test_an_unchanged_redeploy_reuses_its_version_though_the_server_stored_it_with_defaults(
    cluster: Cluster,
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "same-keys"}, "stringData": {"t": "s3cr3t"}}
    same = (secret, replica_set("same-rs"), pod("same-pod"))
    await succeeded(cluster, deploy(*same), after("2", "1", deploy(*same)))
    assert versions(cluster, "Secret", "same-keys") == ["same-keys-v000"]
    assert versions(cluster, "ReplicaSet", "same-rs") == ["same-rs-v000"]
    assert versions(cluster, "Pod", "same-pod") == ["same-pod-v000"]  # a Pod is versioned too, as in Spinnaker
    # what the server stored is not what was sent: only the recorded configuration matches the redeploy
    stored = cluster.live("Secret", "same-keys-v000")
    assert stored is not None and "stringData" not in stored
    assert stored["data"] == {"t": base64.b64encode(b"s3cr3t").decode()}
    live = cluster.live("ReplicaSet", "same-rs-v000")
    assert live is not None and live["spec"]["template"]["spec"]["restartPolicy"] == "Always"

    changed = {**secret, "stringData": {"t": "n3w-s3cr3t"}}
    execution = await succeeded(
        cluster, deploy(changed, replica_set("same-rs", image="app:2"), pod("same-pod", "app:2"))
    )
    assert versions(cluster, "Secret", "same-keys") == ["same-keys-v000", "same-keys-v001"]
    assert versions(cluster, "ReplicaSet", "same-rs") == ["same-rs-v000", "same-rs-v001"]
    assert versions(cluster, "Pod", "same-pod") == ["same-pod-v000", "same-pod-v001"]
    outputs = by_ref(execution, "1")["outputs"]
    assert "n3w-s3cr3t" not in str(outputs)  # the recorded configuration of a Secret is not shown
    [shown] = [m for m in outputs["outputs.manifests"] if m["kind"] == "Secret"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in shown["metadata"]["annotations"]


async def test_max_version_history_deletes_the_oldest_versions_past_it(cluster: Cluster) -> None:
    stages = [deploy(config_map("hist", value, max_version_history="2"), ref=value) for value in ("1", "2", "3")]
    await succeeded(cluster, stages[0], after("2", "1", stages[1]), after("3", "2", stages[2]))
    assert versions(cluster, "ConfigMap", "hist") == ["hist-v001", "hist-v002"]

    redblack: Json = {
        "trafficManagement": {
            "enabled": True,
            "options": {"strategy": "redblack", "services": ["service nope"], "enableTraffic": True},
        }
    }
    execution = await run(cluster, [deploy(replica_set("hist-rb", max_version_history="1"), **redblack)], "deployer")
    assert execution["status"] == "TERMINAL"
    reason = failure(by_ref(execution, "1"))
    assert "manifest 0 (ReplicaSet hist-rb): strategy.spinnaker.io/max-version-history is 1" in reason, reason
    assert versions(cluster, "ReplicaSet", "hist-rb") == []


async def test_replace_drops_what_others_added_and_recreate_makes_a_new_object(cluster: Cluster) -> None:
    replaced = config_map("by-replace", versioned="false", replace="true")
    recreated = config_map("by-recreate", versioned="false", recreate="true")
    applied = config_map("by-apply", versioned="false")

    def label(ref: str, after: str, name: str) -> Json:
        body = {"metadata": {"labels": {"added-by": "someone"}}}
        return step(ref, "patchManifest", after, manifestName=f"configMap {name}", patchBody=body)

    execution = await succeeded(
        cluster,
        deploy(replaced, recreated, applied),
        label("2", "1", "by-replace"),
        label("3", "2", "by-recreate"),
        label("4", "3", "by-apply"),
        after("5", "4", deploy(replaced, recreated, applied)),
    )
    deployed = by_ref(execution, "1")["outputs"]["outputs.manifests"]
    first = {m["metadata"]["name"]: m["metadata"]["uid"] for m in deployed}
    live = {name: cluster.live("ConfigMap", name) or {} for name in first}
    labels = {name: (found["metadata"].get("labels") or {}) for name, found in live.items()}
    uids = {name: found["metadata"]["uid"] for name, found in live.items()}
    assert labels == {"by-replace": {}, "by-recreate": {}, "by-apply": {"added-by": "someone"}}
    assert uids["by-replace"] == first["by-replace"] and uids["by-apply"] == first["by-apply"]
    assert uids["by-recreate"] != first["by-recreate"]


async def test_use_source_capacity_keeps_the_replicas_of_the_version_deployed_now(cluster: Cluster) -> None:
    def workloads(image: str) -> list[Json]:
        return [
            replica_set("cap", image=image, use_source_capacity="true"),
            replica_set("cap-d", image=image, kind="Deployment", use_source_capacity="true"),
            replica_set("nocap", image=image),
        ]

    await succeeded(cluster, deploy(*workloads("app:1")))
    live = (("ReplicaSet", "cap-v000"), ("Deployment", "cap-d"), ("ReplicaSet", "nocap-v000"))
    for kind, name in live:  # scaled since (by anyone: an autoscaler, a scaleManifest stage)
        found = cluster.live(kind, name)
        assert found is not None
        found["spec"]["replicas"] = 2
        await cluster.server.store.replace(KIND[kind], "web", name, found)
    await succeeded(cluster, deploy(*workloads("app:2")))
    replicas = {
        name: (cluster.live(kind, name) or {})["spec"]["replicas"]
        for kind, name in (("ReplicaSet", "cap-v001"), ("Deployment", "cap-d"), ("ReplicaSet", "nocap-v001"))
    }
    assert replicas == {"cap-v001": 2, "cap-d": 2, "nocap-v001": 1}


async def test_a_workload_joins_the_services_its_own_load_balancers_annotation_names(cluster: Cluster) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "lb-own"},
        "spec": {"selector": {"serving": "lb-own"}, "ports": [{"port": 80}]},
    }

    def naming(manifest: Json) -> Json:
        notes = {"traffic.spinnaker.io/load-balancers": '["service lb-own"]'}
        return {**manifest, "metadata": {**manifest["metadata"], "annotations": notes}}

    # the Service is deployed beside the workloads that name it, without trafficManagement
    await succeeded(
        cluster, deploy(service, naming(replica_set("own")), naming(replica_set("own-d", kind="Deployment")))
    )
    pods = cluster.server.store.list(KIND["Pod"], "web", "serving=lb-own")
    owners = sorted(pod["metadata"]["ownerReferences"][0]["name"] for pod in pods)
    assert len(owners) == 2 and owners[0].startswith("own-d-") and owners[1] == "own-v000"
    served: list[str] = []
    for _ in range(40):  # the Endpoints follow the pods on the controller's next pass
        endpoints = cluster.live("Endpoints", "lb-own") or {}
        served = [a["targetRef"]["name"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []]
        if len(served) == 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(served) == sorted(pod["metadata"]["name"] for pod in pods)

    clashing = naming(replica_set("own-bad"))
    clashing["spec"]["template"]["metadata"]["labels"]["serving"] = "already"
    execution = await run(cluster, [deploy(clashing)], "deployer")
    assert execution["status"] == "TERMINAL"
    assert (
        "manifest 0 (ReplicaSet own-bad-v000): traffic.spinnaker.io/load-balancers: service lb-own selects by serving"
        in (failure(by_ref(execution, "1")))
    )
    assert versions(cluster, "ReplicaSet", "own-bad") == []


async def test_traffic_management_finds_a_service_deployed_in_the_same_stage_and_attaches_any_workload(
    cluster: Cluster,
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "lb-same"},
        "spec": {"selector": {"serving": "lb-same"}, "ports": [{"port": 80}]},
    }
    options = {"strategy": "redblack", "services": ["service lb-same"], "enableTraffic": True}
    workloads = (replica_set("same-stage"), replica_set("same-stage-d", kind="Deployment"))
    await succeeded(cluster, deploy(service, *workloads, trafficManagement={"enabled": True, "options": options}))
    pods = cluster.server.store.list(KIND["Pod"], "web", "serving=lb-same")
    owners = sorted(pod["metadata"]["ownerReferences"][0]["name"] for pod in pods)
    assert len(owners) == 2 and owners[0].startswith("same-stage-d-") and owners[1] == "same-stage-v000"
    deployment = cluster.live("Deployment", "same-stage-d") or {}
    assert deployment["metadata"]["annotations"]["traffic.spinnaker.io/load-balancers"] == '["service lb-same"]'


async def test_find_artifacts_from_a_secret_shows_neither_its_data_nor_its_recorded_configuration(
    cluster: Cluster,
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "found-keys"}, "stringData": {"t": "f1nd-me"}}
    execution = await succeeded(
        cluster, deploy(secret), step("2", "findArtifactsFromResource", "1", manifestName="secret found-keys-v000")
    )
    outputs = by_ref(execution, "2")["outputs"]
    assert outputs["manifest"]["metadata"]["name"] == "found-keys-v000"
    assert "data" not in outputs["manifest"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in outputs["manifest"]["metadata"]["annotations"]
    assert "f1nd-me" not in str(outputs) and base64.b64encode(b"f1nd-me").decode() not in str(outputs)
