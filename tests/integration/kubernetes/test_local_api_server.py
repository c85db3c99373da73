"""The local Kubernetes API server answers lightkube's asyncio client over HTTP as a cluster would.

These tests hold the server to the behaviour Clouddriver's provider relies on; a real cluster is
the reference (see tests/kubernetes_server/README.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from lightkube import ApiError, AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import PatchType

from schemas.json_types import Json
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.server import TOKEN

GenericJob = create_namespaced_resource("batch", "v1", "Job", "jobs")
GenericDaemonSet = create_namespaced_resource("apps", "v1", "DaemonSet", "daemonsets")
GenericStatefulSet = create_namespaced_resource("apps", "v1", "StatefulSet", "statefulsets")


def typed[T](resource: type[T], document: Json) -> T:
    return cast(T, resource.from_dict(document))  # type: ignore[attr-defined]


@pytest.fixture
async def server() -> AsyncIterator[KubernetesApiServer]:
    async with KubernetesApiServer(namespaces=("web",), ready_seconds=0.2, job_seconds=0.2) as running:
        yield running


@pytest.fixture
async def client(server: KubernetesApiServer, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    config = KubeConfig.from_file(server.kubeconfig(tmp_path / "kubeconfig", namespace="web"))
    opened = AsyncClient(config=config, field_manager="gennaker")
    yield opened
    await opened.close()


def deployment(name: str, image: str = "nginx:1.27", replicas: int = 2, **spec: Any) -> Json:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}},
            **spec,
        },
    }


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)


async def test_discovery_lists_the_groups_and_their_resources(server: KubernetesApiServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{server.url}/api") as response:
            assert (await response.json())["versions"] == ["v1"]
        async with session.get(f"{server.url}/apis") as response:
            names = {group["name"] for group in (await response.json())["groups"]}
        async with session.get(f"{server.url}/apis/apps/v1") as response:
            resources = {resource["name"] for resource in (await response.json())["resources"]}
        async with session.get(f"{server.url}/api/v1", headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
    assert names == {"apps", "batch", "apiextensions.k8s.io"}
    assert {"deployments", "deployments/status", "replicasets", "statefulsets", "daemonsets"} <= resources


async def test_a_config_map_is_created_read_listed_replaced_patched_and_deleted(client: AsyncClient) -> None:
    created = await client.create(typed(ConfigMap, {"metadata": {"name": "settings"}, "data": {"a": "1"}}))
    assert created.metadata is not None and created.metadata.uid and created.metadata.namespace == "web"
    created.data = {"a": "2"}
    replaced = await client.replace(created)
    assert replaced.data == {"a": "2"}
    assert replaced.metadata is not None and int(replaced.metadata.resourceVersion or 0) > int(
        created.metadata.resourceVersion or 0
    )
    merged = await client.patch(ConfigMap, "settings", {"data": {"b": "3"}}, patch_type=PatchType.MERGE)
    assert merged.data == {"a": "2", "b": "3"}
    operations = [{"op": "remove", "path": "/data/a"}, {"op": "add", "path": "/data/c", "value": "4"}]
    patched = await client.patch(ConfigMap, "settings", operations, patch_type=PatchType.JSON)
    assert patched.data == {"b": "3", "c": "4"}
    assert [item.metadata.name async for item in client.list(ConfigMap) if item.metadata] == ["settings"]
    await client.delete(ConfigMap, "settings")
    with pytest.raises(ApiError) as missing:
        await client.get(ConfigMap, "settings")
    assert missing.value.status.code == 404 and missing.value.status.message == 'configmaps "settings" not found'


async def test_a_stale_resource_version_and_a_taken_name_are_conflicts(client: AsyncClient) -> None:
    first = await client.create(typed(ConfigMap, {"metadata": {"name": "c"}, "data": {"a": "1"}}))
    await client.patch(ConfigMap, "c", {"data": {"a": "2"}}, patch_type=PatchType.MERGE)
    with pytest.raises(ApiError) as stale:
        await client.replace(first)
    assert stale.value.status.code == 409 and "has been modified" in str(stale.value.status.message)
    with pytest.raises(ApiError) as taken:
        await client.create(typed(ConfigMap, {"metadata": {"name": "c"}}))
    assert taken.value.status.reason == "AlreadyExists"


async def test_refusals_name_the_field_as_a_real_api_server_does(client: AsyncClient) -> None:
    with pytest.raises(ApiError) as bad_name:
        await client.create(typed(ConfigMap, {"metadata": {"name": "Bad_Name"}}))
    assert bad_name.value.status.code == 422
    assert 'metadata.name: Invalid value: "Bad_Name"' in str(bad_name.value.status.message)
    mismatched = deployment("web")
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiError) as selector:
        await client.create(typed(Deployment, mismatched))
    assert "`selector` does not match template `labels`" in str(selector.value.status.message)
    with pytest.raises(ApiError) as namespace:
        await client.create(typed(ConfigMap, {"metadata": {"name": "x", "namespace": "nowhere"}}))
    assert namespace.value.status.message == 'namespaces "nowhere" not found'


async def test_a_deployment_rolls_out_through_a_replica_set_to_ready_pods(client: AsyncClient) -> None:
    await client.create(typed(Deployment, deployment("web")))

    async def rolled_out() -> bool:
        status = (await client.get(Deployment, "web")).status
        return status is not None and status.availableReplicas == 2 and status.updatedReplicas == 2

    await eventually(rolled_out)
    sets = [rs async for rs in client.list(ReplicaSet)]
    assert len(sets) == 1 and sets[0].metadata and sets[0].metadata.ownerReferences
    assert sets[0].metadata.ownerReferences[0].kind == "Deployment"
    pods = [pod async for pod in client.list(Pod, labels={"app": "web"})]
    assert len(pods) == 2 and all(pod.status and pod.status.phase == "Running" for pod in pods)

    await client.patch(
        Deployment, "web", {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}}
    )
    await eventually(rolled_out)

    async def old_set_scaled_down() -> bool:
        sets = [rs async for rs in client.list(ReplicaSet)]
        return len(sets) == 2 and sorted(rs.spec.replicas or 0 for rs in sets if rs.spec) == [0, 2]

    await eventually(old_set_scaled_down)
    deployed = await client.get(Deployment, "web")
    assert deployed.metadata and deployed.metadata.generation == 2
    assert deployed.status and deployed.status.observedGeneration == 2
    containers = deployed.spec.template.spec.containers if deployed.spec and deployed.spec.template.spec else []
    assert [c.image for c in containers] == ["nginx:1.28"]

    await client.delete(Deployment, "web")

    async def collected() -> bool:
        return not [rs async for rs in client.list(ReplicaSet)] and not [pod async for pod in client.list(Pod)]

    await eventually(collected)


async def test_pods_that_never_become_ready_exceed_the_progress_deadline(client: AsyncClient) -> None:
    await client.create(typed(Deployment, deployment("stuck", image="app:never-ready", progressDeadlineSeconds=1)))

    async def deadline_exceeded() -> bool:
        status = (await client.get(Deployment, "stuck")).status
        conditions = (status.conditions if status else None) or []
        return any(c.reason == "ProgressDeadlineExceeded" for c in conditions)

    await eventually(deadline_exceeded)
    status = (await client.get(Deployment, "stuck")).status
    assert status is not None and not status.availableReplicas and status.replicas == 2


async def test_jobs_succeed_or_fail_as_their_pods_do(client: AsyncClient) -> None:
    for name, image in (("works", "busybox"), ("breaks", "busybox:fail")):
        template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {"template": template}}
        await client.create(typed(GenericJob, job))

    async def finished(name: str) -> str | None:
        status: Json = cast(Json, (await client.get(GenericJob, name)).status or {})
        conditions = status.get("conditions") or []
        return str(conditions[0]["type"]) if conditions else None

    assert await eventually(lambda: finished("works")) == "Complete"
    assert await eventually(lambda: finished("breaks")) == "Failed"


async def test_stateful_and_daemon_sets_become_ready(client: AsyncClient) -> None:
    stateful = deployment("db", replicas=2) | {"kind": "StatefulSet"}
    daemon = deployment("agent") | {"kind": "DaemonSet"}
    del daemon["spec"]["replicas"]
    await client.create(typed(GenericStatefulSet, stateful))
    await client.create(typed(GenericDaemonSet, daemon))

    async def ready() -> bool:
        db: Json = cast(Json, (await client.get(GenericStatefulSet, "db")).status or {})
        agent: Json = cast(Json, (await client.get(GenericDaemonSet, "agent")).status or {})
        return db.get("readyReplicas") == 2 and agent.get("numberAvailable") == 1

    await eventually(ready)
    names = sorted([pod.metadata.name or "" async for pod in client.list(Pod, labels={"app": "db"}) if pod.metadata])
    assert names == ["db-0", "db-1"]


async def test_server_side_apply_creates_then_updates_and_dry_run_stores_nothing(client: AsyncClient) -> None:
    applied = typed(ConfigMap, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}})
    await client.apply(applied, dry_run=True)
    with pytest.raises(ApiError):
        await client.get(ConfigMap, "a")
    first = await client.apply(applied)
    applied.data = {"k": "2"}
    second = await client.apply(applied)
    assert second.data == {"k": "2"}
    assert first.metadata and second.metadata and first.metadata.uid == second.metadata.uid


async def test_the_status_subresource_is_written_apart_from_the_object(client: AsyncClient) -> None:
    await client.create(typed(Deployment, deployment("web", image="app:never-ready", replicas=1)))
    await client.patch(Deployment, "web", {"status": {"replicas": 99}}, patch_type=PatchType.MERGE)
    status = (await client.get(Deployment, "web")).status
    assert status is None or status.replicas != 99
    await client.patch(Deployment, "web", {"metadata": {"labels": {"x": "y"}}}, patch_type=PatchType.MERGE)
    labelled = await client.get(Deployment, "web")
    assert labelled.metadata is not None and labelled.metadata.generation == 1


async def test_a_strategic_merge_patch_merges_containers_by_name(client: AsyncClient) -> None:
    document = deployment("web", replicas=1)
    document["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})
    await client.create(typed(Deployment, document))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy:2"}]}}}}
    patched = await client.patch(Deployment, "web", patch, patch_type=PatchType.STRATEGIC)
    assert patched.spec is not None and patched.spec.template.spec is not None
    assert [(c.name, c.image) for c in patched.spec.template.spec.containers] == [
        ("main", "nginx:1.27"),
        ("sidecar", "envoy:2"),
    ]
    assert patched.metadata is not None and patched.metadata.generation == 2


async def test_a_watch_replays_from_a_resource_version_then_streams_live(client: AsyncClient) -> None:
    start = await client.create(typed(ConfigMap, {"metadata": {"name": "w"}, "data": {"a": "1"}}))
    assert start.metadata is not None
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        version = start.metadata.resourceVersion if start.metadata else None
        async for kind, obj in client.watch(ConfigMap, resource_version=version):
            seen.append((kind, (obj.metadata.name if obj.metadata else None) or ""))
            if kind == "DELETED":
                return

    watching = asyncio.create_task(follow())
    await client.patch(ConfigMap, "w", {"data": {"a": "2"}}, patch_type=PatchType.MERGE)
    await client.delete(ConfigMap, "w")
    await asyncio.wait_for(watching, 20)
    assert seen == [("MODIFIED", "w"), ("DELETED", "w")]


async def test_a_namespace_restricted_token_is_forbidden_cluster_wide_and_elsewhere(
    server: KubernetesApiServer, tmp_path: Path
) -> None:
    config = KubeConfig.from_file(server.kubeconfig(tmp_path / "only-web", namespace="web", only=("web",)))
    restricted = AsyncClient(config=config, field_manager="gennaker")
    try:
        await restricted.create(typed(ConfigMap, {"metadata": {"name": "mine"}, "data": {"a": "1"}}))
        assert [item.metadata.name for item in [i async for i in restricted.list(ConfigMap)] if item.metadata] == [
            "mine"
        ]
        for refused in (restricted.list(ConfigMap, namespace="*"), restricted.list(ConfigMap, namespace="default")):
            with pytest.raises(ApiError) as caught:
                [item async for item in refused]
            assert caught.value.status.code == 403 and caught.value.status.reason == "Forbidden"
        token = next(iter(server.api.restricted))
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
            session.get(f"{server.url}/api/v1/pods", params={"watch": "true"}) as watched,
        ):
            assert watched.status == 403
            assert await watched.json() == {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": 'pods is forbidden: User "system:serviceaccount:web:gennaker" cannot watch resource'
                ' "pods" in API group "" at the cluster scope',
                "reason": "Forbidden",
                "details": {"kind": "pods"},
                "code": 403,
            }
        with pytest.raises(ApiError) as elsewhere:
            await restricted.get(ReplicaSet, "any", namespace="default")
        assert elsewhere.value.status.message == (
            'replicasets.apps "any" is forbidden: User "system:serviceaccount:web:gennaker" cannot get resource'
            ' "replicasets" in API group "apps" in the namespace "default"'
        )
        assert elsewhere.value.status.details is not None and elsewhere.value.status.details.name == "any"
    finally:
        await restricted.close()


async def test_a_list_pages_by_limit_and_continue(server: KubernetesApiServer, client: AsyncClient) -> None:
    for name in ("a", "b", "c"):
        await client.create(typed(ConfigMap, {"metadata": {"name": name}}))
    before = len(server.api.requests)
    paged = [item.metadata.name async for item in client.list(ConfigMap, chunk_size=2) if item.metadata]
    assert paged == ["a", "b", "c"] and len(server.api.requests) - before == 2
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{server.url}/api/v1/namespaces/web/configmaps", params={"limit": "1"}) as response,
    ):
        page = await response.json()
    assert [item["metadata"]["name"] for item in page["items"]] == ["a"]
    assert page["metadata"]["continue"] and page["metadata"]["remainingItemCount"] == 2
