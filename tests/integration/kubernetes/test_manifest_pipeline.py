"""A manifest pipeline runs end to end against the local Kubernetes API server, through the whole system.

Front50, Orca, Clouddriver and the gateway (``tests/security/authority_world.py``), a
``kubernetes`` account whose kubeconfig points at ``tests/kubernetes_server``: a user with WRITE
on the account runs deployManifest → scaleManifest → patchManifest → deleteManifest to SUCCEEDED,
and the cluster holds what each stage said; a user without WRITE is refused with the reason and
nothing is applied; a manifest the API server refuses fails the stage naming its index, kind and
the server's reason; a rollout whose pods never become ready fails the stage.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from pydantic import SecretStr
from ulid import ULID

from bus.service import Service
from gennaker.resources import WorkerResources
from schemas.artifact_accounts import ArtifactAccount, ArtifactSettings
from schemas.clouddriver_cache import CachedResources, ListLoadBalancers, RefreshCache
from schemas.json_types import Json
from tests.artifact_server import ArtifactServer
from tests.conftest import AMQP_URL
from tests.kubernetes_server import KubernetesApiServer, kinds
from tests.kubernetes_server.controller import KIND
from tests.outbound import LOOPBACK_TEST_SERVERS
from tests.security.authority_world import SHOP, World, authority, headers, running_world
from tests.unit.rosco.charts import chart_archive, embedded
from workers.rosco import worker as rosco

pytestmark = pytest.mark.asyncio(loop_scope="module")


ARTIFACT_ACCOUNTS = ArtifactSettings(
    accounts=[
        ArtifactAccount(name="github-acme", type="github", token=SecretStr("gh-secret")),
        ArtifactAccount(name="gitlab-acme", type="gitlab", token=SecretStr("gl-secret")),
        ArtifactAccount(name="files", type="http", username="bob", password=SecretStr("pw")),
        ArtifactAccount(name="ops-only", type="github", token=SecretStr("gh-secret"), permissions={"READ": ("ops",)}),
    ]
)


class Cluster:
    """The world and the API server behind its ``k8s`` account."""

    def __init__(
        self,
        world: World,
        server: KubernetesApiServer,
        files: ArtifactServer,
        flaky: KubernetesApiServer | None = None,
    ) -> None:
        self.world = world
        self.server = server
        self.files = files
        self.flaky = flaky
        """The API server of account ``k8s-flaky``, which a test may take away and bring back."""

    def live(self, kind: str, name: str, namespace: str = "web") -> Json | None:
        return self.server.store.find(KIND[kind], namespace, name)

    def names(self, kind: str, namespace: str = "web") -> list[str]:
        return [item["metadata"]["name"] for item in self.server.store.list(KIND[kind], namespace)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    work_dir: Path = tmp_path_factory.mktemp("k8s")
    async with (
        KubernetesApiServer(namespaces=("web", "named-ns", "override-ns"), ready_seconds=0.2) as server,
        KubernetesApiServer(namespaces=("web",), ready_seconds=1.0) as flaky,
    ):
        kubeconfig = server.kubeconfig(work_dir / "kubeconfig", namespace="web")
        accounts: list[Json] = [
            {
                "name": name,
                "cloudProvider": "kubernetes",
                "permissions": {"READ": ["shop-owners"], "WRITE": ["prod-deployers"]},
                "kubernetes": {"kubeconfigFile": str(config), "context": "local", "omitNamespaces": ["kube-system"]},
            }
            for name, config in (
                ("k8s", kubeconfig),
                ("k8s-flaky", flaky.kubeconfig(work_dir / "flaky-kubeconfig", namespace="web")),
            )
        ]
        vhost = f"k8s-{str(ULID()).lower()}"
        async with (
            ArtifactServer(github_token="gh-secret", gitlab_token="gl-secret", basic=("bob", "pw")) as files,
            running_world(
                "memory",
                work_dir,
                amqp_url=AMQP_URL,
                vhost=vhost,
                accounts=accounts,
                extra=_rosco,
                settings_fields={"artifacts": ARTIFACT_ACCOUNTS, "outbound": LOOPBACK_TEST_SERVERS},
            ) as world,
        ):
            await world.create_application("shop", SHOP)
            yield Cluster(world, server, files, flaky)


def _rosco(resources: WorkerResources) -> list[Service]:
    return [rosco.build_service(resources)]


def web(image: str = "nginx:1.27", replicas: int = 2) -> Json:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "main", "image": image, "envFrom": [{"configMapRef": {"name": "web-settings"}}]}
                    ]
                },
            },
        },
    }


SETTINGS = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-settings"}, "data": {"GREETING": "hi"}}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
}


def deploy(*manifests: Json | str, ref: str = "1", **extra: Any) -> Json:
    return {
        "refId": ref,
        "type": "deployManifest",
        "name": "Deploy web",
        "requisiteStageRefIds": [],
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "source": "text",
        "moniker": {"app": "shop"},
        "manifests": list(manifests),
        "skipExpressionEvaluation": False,
        "waitForUpTimeoutSeconds": 20,
        **extra,
    }


def step(ref: str, type: str, after: str, **context: Any) -> Json:
    return {
        "refId": ref,
        "type": type,
        "name": f"{type} {ref}",
        "requisiteStageRefIds": [after],
        "account": "k8s",
        "cloudProvider": "kubernetes",
        "location": "web",
        "mode": "static",
        "waitForUpTimeoutSeconds": 20,
        **context,
    }


async def run(
    cluster: Cluster, stages: list[Json], persona: str, *, trigger: Json | None = None, **pipeline: Any
) -> Json:
    world = cluster.world
    name = f"k8s-{ULID()}"
    body = {"application": "shop", "name": name, "stages": stages, **pipeline}
    saved = await world.client.post("/pipelines", json=body, headers=headers("admin"))
    assert saved.status == 200, await saved.text()
    started = await world.client.post(f"/pipelines/shop/{name}", json=trigger or {}, headers=headers(persona))
    assert started.status == 202, await started.text()
    execution_id = str((await started.json())["ref"]).rsplit("/", 1)[1]
    return await world.finished(execution_id, timeout=90)


def by_ref(execution: Json, ref: str) -> Json:
    return next(stage for stage in execution["stages"] if stage["refId"] == ref)


def failure(stage: Json) -> str:
    return str(stage["context"].get("exception", {}).get("details", {}).get("error") or stage["context"])


async def test_deploy_scale_patch_and_delete_run_to_succeeded(cluster: Cluster) -> None:
    stages = [
        deploy(SETTINGS, web(), SERVICE),
        step("2", "scaleManifest", "1", manifestName="deployment web", replicas=3),
        step(
            "3",
            "patchManifest",
            "2",
            manifestName="deployment web",
            patchBody={"metadata": {"labels": {"patched": "yes"}}},
            options={"mergeStrategy": "merge"},
        ),
        step("4", "deleteManifest", "3", manifestName="service web", options={"cascading": True}),
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [(s["type"], s["status"], failure(s)) for s in execution["stages"]]

    deployed = by_ref(execution, "1")
    outputs = deployed["outputs"]
    assert outputs["outputs.manifestNamesByNamespace"] == {
        "web": ["configMap web-settings-v000", "deployment web", "service web"]
    }
    assert outputs["deploy.account.name"] == "k8s"
    deployment = cluster.live("Deployment", "web")
    assert deployment is not None
    notes = deployment["metadata"]["annotations"]
    assert notes["moniker.spinnaker.io/application"] == "shop"
    assert notes["moniker.spinnaker.io/cluster"] == "deployment web"
    assert notes["artifact.spinnaker.io/type"] == "kubernetes/deployment"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": "web-settings-v000"}}]
    assert deployment["spec"]["replicas"] == 3 and deployment["status"]["availableReplicas"] == 3
    assert deployment["metadata"]["labels"] == {"patched": "yes"}
    assert cluster.live("Service", "web") is None
    assert "web-settings-v000" in cluster.names("ConfigMap")


async def test_a_baked_helm_chart_is_deployed_from_the_artifact_the_bake_produced(cluster: Cluster) -> None:
    chart = {**embedded(chart_archive(), "shop-chart"), "version": "1.2.0"}
    expected_chart = {"id": "chart", "displayName": "shop-chart", "matchArtifact": {"name": "shop-chart"}}
    produced = {"id": "bake-output", "matchArtifact": {"type": "embedded/base64", "name": "shop-manifests"}}
    bake = {
        "refId": "1",
        "requisiteStageRefIds": [],
        "type": "bakeManifest",
        "templateRenderer": "HELM3",
        "outputName": "shop",
        "namespace": "web",
        "inputArtifacts": [{"id": "chart", "account": "embedded-artifact"}],
        "overrides": {"image.tag": "${trigger.parameters.tag}"},
        "expectedArtifacts": [produced],
    }
    deploy_baked = {
        **deploy(ref="2", requisiteStageRefIds=["1"]),
        "source": "artifact",
        "manifestArtifactId": "bake-output",
        "manifests": None,
    }
    trigger = {"parameters": {"tag": "v9"}, "artifacts": [chart], "expectedArtifactIds": ["chart"]}
    execution = await run(
        cluster, [bake, deploy_baked], "deployer", trigger=trigger, expectedArtifacts=[expected_chart]
    )
    assert execution["status"] == "SUCCEEDED", [(s["type"], s["status"], failure(s)) for s in execution["stages"]]
    assert execution["trigger"]["resolvedExpectedArtifacts"][0]["boundArtifact"]["name"] == "shop-chart"
    baked = by_ref(execution, "1")["outputs"]
    assert baked["resolvedExpectedArtifacts"][0]["boundArtifact"]["name"] == "shop-manifests"
    deployed = by_ref(execution, "2")["outputs"]["outputs.manifestNamesByNamespace"]
    assert deployed == {"web": ["service shop", "deployment shop-web"]}
    deployment = cluster.live("Deployment", "shop-web")
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "acme/shop:v9"
    service = cluster.live("Service", "shop")  # ${...} in the baked manifests is evaluated, as Orca does
    assert service is not None and service["metadata"]["annotations"]["deployed-tag"] == "v9"


async def test_the_triggers_docker_image_replaces_the_image_the_manifest_names(cluster: Cluster) -> None:
    image = {"type": "docker/image", "name": "registry.example/shop", "reference": "registry.example/shop:4.2"}
    expected = {"id": "image", "matchArtifact": {"type": "docker/image", "name": "registry.example/shop"}}
    manifest = web(image="registry.example/shop") | {"metadata": {"name": "bound"}}
    manifest["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
    trigger = {"artifacts": [image], "expectedArtifactIds": ["image"]}
    stages = [deploy(manifest, requiredArtifactIds=["image"])]
    execution = await run(cluster, stages, "deployer", trigger=trigger, expectedArtifacts=[expected])
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    live = cluster.live("Deployment", "bound")
    assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == image["reference"]
    assert by_ref(execution, "1")["outputs"]["outputs.boundArtifacts"] == [image]

    other = {**manifest, "metadata": {"name": "never-bound"}}
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/other"
    execution = await run(
        cluster,
        [deploy(other, requiredArtifactIds=["image"])],
        "deployer",
        trigger=trigger,
        expectedArtifacts=[expected],
    )
    assert "The following required artifacts could not be bound" in failure(by_ref(execution, "1"))
    assert cluster.live("Deployment", "never-bound") is None


async def test_dynamic_targets_scale_the_newest_and_the_oldest_version_of_a_cluster(cluster: Cluster) -> None:
    def replica_set(image: str) -> Json:
        labels = {"app": "dyn"}
        template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}}
        spec = {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "dyn"}, "spec": spec}

    def scale(ref: str, after: str, criteria: str, replicas: int) -> Json:
        return step(
            ref, "scaleManifest", after, mode="dynamic", cluster="replicaSet dyn", criteria=criteria, replicas=replicas
        )

    stages = [
        deploy(replica_set("app:1")),
        {**deploy(replica_set("app:2"), ref="2"), "requisiteStageRefIds": ["1"]},
        scale("3", "2", "newest", 3),
        scale("4", "3", "oldest", 0),
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    newest, oldest = cluster.live("ReplicaSet", "dyn-v001"), cluster.live("ReplicaSet", "dyn-v000")
    assert newest is not None and newest["spec"]["replicas"] == 3
    assert oldest is not None and oldest["spec"]["replicas"] == 0


async def test_a_custom_resource_is_deployed_and_patched_once_its_definition_is(cluster: Cluster) -> None:
    definition = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}
            ],
        },
    }
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "shop-widget"},
        "spec": {"size": 1},
    }
    stages = [
        deploy(definition),
        {**deploy(widget, ref="2"), "requisiteStageRefIds": ["1"]},
        step(
            "3",
            "patchManifest",
            "2",
            manifestName="widget shop-widget",
            patchBody={"spec": {"size": 3}},
            options={"mergeStrategy": "merge"},
        ),
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    live = cluster.server.store.find(kinds.custom(cluster.server.store.list(kinds.CRD, None))[0], "web", "shop-widget")
    assert live is not None and live["spec"] == {"size": 3}
    assert live["metadata"]["annotations"]["moniker.spinnaker.io/application"] == "shop"

    unknown = {**widget, "apiVersion": "example.com/v1", "kind": "Gadget"}
    execution = await run(cluster, [deploy(unknown)], "deployer")
    assert "kind 'Gadget' is neither a built-in kind nor one a CustomResourceDefinition" in failure(
        by_ref(execution, "1")
    )


async def test_a_changed_config_map_is_a_new_version_and_an_unchanged_one_is_not(cluster: Cluster) -> None:
    changed = {**SETTINGS, "data": {"GREETING": "hello"}}
    for manifests in ((SETTINGS,), (changed,), (changed,)):
        execution = await run(cluster, [deploy(*manifests)], "deployer")
        assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    versions = sorted(name for name in cluster.names("ConfigMap") if name.startswith("web-settings-"))
    assert versions == ["web-settings-v000", "web-settings-v001"]


async def test_a_user_without_write_on_the_account_is_refused_and_nothing_is_applied(cluster: Cluster) -> None:
    lone = {**SETTINGS, "metadata": {"name": "never-applied"}}
    execution = await run(cluster, [deploy(lone)], "owner")
    stage = by_ref(execution, "1")
    assert execution["status"] == "TERMINAL" and stage["status"] == "TERMINAL"
    assert "access denied: user 'owner' lacks WRITE permission on account 'k8s'" in failure(stage)
    assert not [name for name in cluster.names("ConfigMap") if name.startswith("never-applied")]


async def test_a_manifest_the_api_server_refuses_fails_naming_its_index_kind_and_reason(cluster: Cluster) -> None:
    fine = {**SETTINGS, "metadata": {"name": "applied-first"}}
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "Bad_Name"}, "spec": {"ports": [{"port": 80}]}}
    execution = await run(cluster, [deploy(fine, bad)], "deployer")
    reason = failure(by_ref(execution, "1"))
    assert execution["status"] == "TERMINAL"
    assert "manifest 1 (Service Bad_Name): the API server refused it" in reason
    assert 'metadata.name: Invalid value: "Bad_Name"' in reason
    assert not [name for name in cluster.names("ConfigMap") if name.startswith("applied-first")]


async def test_manifests_without_a_name_or_that_do_not_parse_are_refused_before_anything_is_applied(
    cluster: Cluster,
) -> None:
    fine = {**SETTINGS, "metadata": {"name": "not-before-refusal"}}
    nameless = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    execution = await run(cluster, [deploy(fine, nameless)], "deployer")
    assert "manifest 1 (ConfigMap): 'metadata.name' is missing" in failure(by_ref(execution, "1"))
    kindless = {"apiVersion": "v1", "metadata": {"name": "kindless"}, "data": {"A": "1"}}
    execution = await run(cluster, [deploy(fine, kindless)], "deployer")
    assert "manifest 1: 'kind' is missing" in failure(by_ref(execution, "1"))
    execution = await run(cluster, [deploy(fine, "kind: [unclosed")], "deployer")
    assert "manifest 1: the YAML does not parse" in failure(by_ref(execution, "1"))
    assert not [name for name in cluster.names("ConfigMap") if name.startswith("not-before-refusal")]


async def test_a_rollout_whose_pods_never_become_ready_fails_the_stage(cluster: Cluster) -> None:
    stuck = web(image="app:never-ready") | {"metadata": {"name": "stuck"}}
    stuck["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
    execution = await run(cluster, [deploy(stuck)], "deployer")
    reason = failure(by_ref(execution, "1"))
    assert execution["status"] == "TERMINAL"
    assert "deployment stuck in web failed: Deployment exceeded its progress deadline" in reason
    assert (
        "2 of 2 pods not ready: " in reason and ": ContainersNotReady: containers with unready status: [main]" in reason
    )
    assert "not rolled back: deployment stuck had no earlier revision" in reason


async def test_a_deployment_rollout_that_never_becomes_ready_fails_and_rolls_back_to_the_previous_revision(
    cluster: Cluster,
) -> None:
    def version(image: str, deadline: int) -> Json:
        document = web(image=image) | {"metadata": {"name": "rollback"}}
        document["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
        document["spec"]["progressDeadlineSeconds"] = deadline
        return document

    assert (await run(cluster, [deploy(version("app:1", 60))], "deployer"))["status"] == "SUCCEEDED"
    execution = await run(cluster, [deploy(version("app:never-ready", 2))], "deployer")
    reason = failure(by_ref(execution, "1"))
    assert execution["status"] == "TERMINAL"
    assert "deployment rollback in web failed: Deployment exceeded its progress deadline" in reason
    assert ": ContainersNotReady: containers with unready status: [main]" in reason
    assert reason.endswith("rolled deployment rollback back to the revision it ran before this stage (app:1)"), reason
    deployment = cluster.live("Deployment", "rollback")
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1"
    assert deployment["status"]["availableReplicas"] == 2 and deployment["status"]["replicas"] == 2
    replica_sets = [
        rs
        for rs in cluster.server.store.list(KIND["ReplicaSet"], "web")
        if rs["metadata"]["name"].startswith("rollback-")
    ]
    replicas = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"] for rs in replica_sets}
    assert replicas == {"app:1": 2, "app:never-ready": 0}


def front(image: str) -> Json:
    labels = {"app": "front"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "front"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}},
        },
    }


async def test_highlander_keeps_only_the_new_version_and_gate_shows_it_as_a_server_group(cluster: Cluster) -> None:
    highlander: Json = {"trafficManagement": {"enabled": True, "options": {"strategy": "highlander"}}}
    for image in ("nginx:1", "nginx:2"):
        execution = await run(cluster, [deploy(front(image), **highlander)], "deployer")
        assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    assert sorted(name for name in cluster.names("ReplicaSet") if name.startswith("front")) == ["front-v001"]

    groups = {group["name"]: group for group in await cluster.world.server_groups("shop")}
    shown = groups["replicaSet front-v001"]
    assert shown["cloudProvider"] == "kubernetes" and shown["region"] == "web"
    assert shown["moniker"] == {"app": "shop", "cluster": "replicaSet front", "sequence": 1}
    assert shown["instanceCounts"]["up"] == 2
    assert "replicaSet front-v000" not in groups


async def test_a_rolling_restart_replaces_the_pods_and_find_artifacts_reports_the_images(cluster: Cluster) -> None:
    restartable = web(image="registry.example/team/api:2.1") | {"metadata": {"name": "api"}}
    restartable["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
    stages = [
        deploy(restartable),
        step("2", "rollingRestartManifest", "1", manifestName="deployment api"),
        step("3", "findArtifactsFromResource", "2", manifestName="deployment api"),
    ]
    before = sorted(cluster.names("ReplicaSet"))
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    deployment = cluster.live("Deployment", "api")
    assert deployment is not None
    template_notes = deployment["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in template_notes
    owned = [name for name in cluster.names("ReplicaSet") if name.startswith("api-") and name not in before]
    assert len(owned) == 2  # the first rollout's ReplicaSet and the restart's
    assert by_ref(execution, "3")["outputs"]["artifacts"] == [
        {"type": "docker/image", "name": "registry.example/team/api", "reference": "registry.example/team/api:2.1"}
    ]


def job(name: str, image: str) -> Json:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {"template": template}}


async def test_run_job_waits_for_the_job_and_fails_with_its_reason(cluster: Cluster) -> None:
    works = {**deploy(job("migrate", "busybox")), "type": "runJobManifest"}
    execution = await run(cluster, [works], "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    outputs = by_ref(execution, "1")["outputs"]
    [name] = outputs["deploy.jobs"]["web"]
    assert name.startswith("job migrate-") and outputs["jobStatus"]["succeeded"] == 1

    broken = job("broken", "busybox:fail")
    broken["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", "echo SPINNAKER_PROPERTY_STEP=3"]
    breaks = {**deploy(broken), "type": "runJobManifest", "propertyFile": "main"}
    execution = await run(cluster, [breaks], "deployer")
    assert execution["status"] == "TERMINAL"
    stage = by_ref(execution, "1")
    assert "failed: Job failed: BackoffLimitExceeded" in failure(stage)
    # as Orca's WaitOnJobCompletion: the failed job's properties and status are still in the stage
    assert stage["context"]["propertyFileContents"] == {"STEP": "3"} and stage["context"]["STEP"] == "3"
    assert stage["context"]["jobStatus"]["failed"] >= 1


async def test_run_job_reads_the_property_file_its_container_prints_into_outputs(cluster: Cluster) -> None:
    printing = job("report", "busybox")
    script = 'echo starting; echo SPINNAKER_PROPERTY_VERSION=1.4; echo \'SPINNAKER_CONFIG_JSON={"db": "ready"}\''
    printing["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", script]
    stages = [
        {**deploy(printing), "type": "runJobManifest", "propertyFile": "main"},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "evaluateVariables",
            "variables": [{"key": "seen", "value": "${VERSION}-${db}"}],
        },
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    outputs = by_ref(execution, "1")["outputs"]
    assert outputs["propertyFileContents"] == {"VERSION": "1.4", "db": "ready"}
    assert by_ref(execution, "2")["outputs"]["seen"] == "1.4-ready"
    [pod] = [name for name in cluster.names("Pod") if name.startswith("report-")]
    console = await cluster.world.client.get(f"/instances/k8s/web/{pod}/console", headers=headers("owner"))
    assert console.status == 200, await console.text()
    assert (await console.json())["output"] == [
        {"name": "main", "output": 'starting\nSPINNAKER_PROPERTY_VERSION=1.4\nSPINNAKER_CONFIG_JSON={"db": "ready"}\n'}
    ]

    silent = {**deploy(job("silent", "busybox")), "type": "runJobManifest", "propertyFile": "main"}
    execution = await run(cluster, [silent], "deployer")
    assert execution["status"] == "TERMINAL"
    assert "Expected properties file: main in job: silent-" in failure(by_ref(execution, "1"))


async def test_undo_rollout_puts_the_previous_revisions_template_back(cluster: Cluster) -> None:
    def version(image: str) -> Json:
        document = web(image=image) | {"metadata": {"name": "undo"}}
        document["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
        return document

    stages = [
        deploy(version("app:1")),
        {**deploy(version("app:2"), ref="2"), "requisiteStageRefIds": ["1"]},
        step("3", "undoRolloutManifest", "2", manifestName="deployment undo", numRevisionsBack=1),
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    deployment = cluster.live("Deployment", "undo")
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "app:1"
    assert deployment["status"]["availableReplicas"] == 2

    lost = step("1", "undoRolloutManifest", "0", manifestName="deployment undo", revision=9) | {
        "requisiteStageRefIds": []
    }
    again = await run(cluster, [lost], "deployer")
    assert "has no revision to roll back to (revision=9" in failure(by_ref(again, "1"))


async def test_red_black_takes_the_old_version_out_of_the_service_and_keeps_it(cluster: Cluster) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "shop-rb"},
        "spec": {"selector": {"serving": "shop-rb"}, "ports": [{"port": 80}]},
    }
    redblack: Json = {
        "trafficManagement": {
            "enabled": True,
            "options": {"strategy": "redblack", "services": ["service shop-rb"], "enableTraffic": True},
        }
    }

    def version(image: str) -> Json:
        document = front(image) | {"metadata": {"name": "rb"}}
        document["spec"]["selector"] = {"matchLabels": {"app": "rb"}}
        document["spec"]["template"]["metadata"]["labels"] = {"app": "rb"}
        return document

    assert (await run(cluster, [deploy(service)], "deployer"))["status"] == "SUCCEEDED"
    for image in ("app:1", "app:2"):
        execution = await run(cluster, [deploy(version(image), **redblack)], "deployer")
        assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]

    def serving(replica_set: str) -> list[str | None]:
        pods = cluster.server.store.list(KIND["Pod"], "web", "app=rb")
        owned = [p for p in pods if p["metadata"]["ownerReferences"][0]["name"] == replica_set]
        assert len(owned) == 2
        return [p["metadata"]["labels"].get("serving") for p in owned]

    assert sorted(name for name in cluster.names("ReplicaSet") if name.startswith("rb-")) == ["rb-v000", "rb-v001"]
    assert serving("rb-v001") == ["shop-rb", "shop-rb"]
    assert serving("rb-v000") == [None, None]
    old = cluster.live("ReplicaSet", "rb-v000")
    assert old is not None and "serving" not in old["spec"]["template"]["metadata"]["labels"]
    await cluster.world.bus.ask(RefreshCache(), timeout=20)
    reply = await cluster.world.bus.ask(ListLoadBalancers(application="shop", authority=authority("admin")), timeout=10)
    assert isinstance(reply, CachedResources)
    balancer = next(found for found in reply.resources if found["name"] == "service shop-rb")
    assert [group["name"] for group in balancer["serverGroups"]] == ["replicaSet rb-v001"]
    assert balancer["serverGroups"][0]["instances"][0]["health"]["state"] == "Up"
    listed = {group["name"]: group for group in await cluster.world.get("/applications/shop/serverGroups")}
    assert listed["replicaSet rb-v000"]["isDisabled"] is True
    assert listed["replicaSet rb-v001"]["isDisabled"] is False
    target = "/applications/shop/clusters/k8s/replicaSet%20rb/kubernetes/web/serverGroups/target"
    # "fail" wants exactly one server group: only the enabled v001 when onlyEnabled, else both
    assert (await cluster.world.get(f"{target}/fail?onlyEnabled=true"))["name"] == "replicaSet rb-v001"
    refused = await cluster.world.client.get(f"{target}/fail", headers=headers("admin"))
    assert refused.status == 404 and "More than one target found" in (await refused.json())["message"]
    # ordered by creationTimestamp, then by version (Kubernetes stamps whole seconds)
    assert (await cluster.world.get(f"{target}/current"))["name"] == "replicaSet rb-v001"
    assert (await cluster.world.get(f"{target}/oldest"))["name"] == "replicaSet rb-v000"

    missing: Json = {
        "trafficManagement": {"enabled": True, "options": {"strategy": "redblack", "services": ["service nope"]}}
    }
    unbound = await run(cluster, [deploy(version("app:3"), **missing)], "deployer")
    assert "trafficManagement: service nope not found in k8s/web" in failure(by_ref(unbound, "1"))
    assert "rb-v002" not in cluster.names("ReplicaSet")


async def test_a_red_black_rollout_that_never_becomes_ready_fails_and_leaves_the_old_version_serving(
    cluster: Cluster,
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "shop-fail"},
        "spec": {"selector": {"serving": "shop-fail"}, "ports": [{"port": 80}]},
    }
    options = {"strategy": "redblack", "services": ["service shop-fail"]}
    redblack: Json = {"trafficManagement": {"enabled": True, "options": options}, "waitForUpTimeoutSeconds": 3}

    def version(image: str) -> Json:
        document = front(image) | {"metadata": {"name": "rf"}}
        document["spec"]["selector"] = {"matchLabels": {"app": "rf"}}
        document["spec"]["template"]["metadata"]["labels"] = {"app": "rf"}
        return document

    assert (await run(cluster, [deploy(service)], "deployer"))["status"] == "SUCCEEDED"
    assert (await run(cluster, [deploy(version("app:1"), **redblack)], "deployer"))["status"] == "SUCCEEDED"
    execution = await run(cluster, [deploy(version("app:never-ready"), **redblack)], "deployer")
    reason = failure(by_ref(execution, "1"))
    assert execution["status"] == "TERMINAL"
    assert "replicaSet rf-v001 in web is not stable after 3 s" in reason
    assert "2 of 2 pods not ready: " in reason and "ContainersNotReady" in reason
    assert "the new version was taken out of its Services" in reason

    def serving(replica_set: str) -> list[str | None]:
        pods = cluster.server.store.list(KIND["Pod"], "web", "app=rf")
        return [
            p["metadata"]["labels"].get("serving")
            for p in pods
            if p["metadata"]["ownerReferences"][0]["name"] == replica_set
        ]

    assert serving("rf-v000") == ["shop-fail", "shop-fail"]
    assert serving("rf-v001") == [None, None]


async def test_a_secrets_data_is_applied_but_never_shown_in_the_outputs(cluster: Cluster) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys"}, "stringData": {"token": "s3cr3t"}}
    execution = await run(cluster, [deploy(secret)], "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    assert "s3cr3t" not in str(execution)
    [shown] = by_ref(execution, "1")["outputs"]["outputs.manifests"]
    assert shown["metadata"]["name"] == "keys-v000" and "stringData" not in shown
    stored = cluster.live("Secret", "keys-v000")
    # stringData folded into data, as a real server does
    assert stored is not None and stored["data"] == {"token": "czNjcjN0"} and "stringData" not in stored


async def test_manifests_are_fetched_from_github_gitlab_and_http_with_the_artifact_accounts(cluster: Cluster) -> None:
    def named(name: str) -> str:
        manifest = web(replicas=1) | {"metadata": {"name": name}}
        manifest["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
        return yaml.safe_dump(manifest)

    cluster.files.github[("release", "deploy/web.yaml")] = named("from-github").encode()
    cluster.files.gitlab[("master", "web.yaml")] = named("from-gitlab").encode()
    cluster.files.plain["web.yaml"] = named("from-http").encode()
    base = cluster.files.url
    sources = [
        {
            "type": "github/file",
            "reference": f"{base}/repos/acme/shop/contents/deploy/web.yaml",
            "version": "release",
            "artifactAccount": "github-acme",
        },
        {
            "type": "gitlab/file",
            "reference": f"{base}/api/v4/projects/7/repository/files/web.yaml/raw",
            "artifactAccount": "gitlab-acme",
        },
        {"type": "http/file", "reference": f"{base}/files/web.yaml", "artifactAccount": "files"},
    ]
    stages = [
        deploy(ref=str(index), source="artifact", manifests=None, manifestArtifact=artifact)
        for index, artifact in enumerate(sources, start=1)
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [(s["refId"], failure(s)) for s in execution["stages"]]
    for name in ("from-github", "from-gitlab", "from-http"):
        assert cluster.live("Deployment", name) is not None, name
    seen = {request["path"]: request for request in cluster.files.requests}
    github = seen["/repos/acme/shop/contents/deploy/web.yaml"]
    assert github["query"] == {"ref": "release"} and github["headers"]["Authorization"] == "token gh-secret"
    assert github["headers"]["Accept"] == "application/vnd.github.raw"
    gitlab = seen["/api/v4/projects/7/repository/files/web.yaml/raw"]
    assert gitlab["query"] == {"ref": "master"} and gitlab["headers"]["PRIVATE-TOKEN"] == "gl-secret"
    assert all(request["headers"]["Idempotency-Key"].startswith("artifact-") for request in cluster.files.requests)
    outputs = json.dumps(execution)
    assert "gh-secret" not in outputs and "gl-secret" not in outputs


async def test_an_artifact_account_refuses_who_may_not_read_it_and_a_bad_token_fails_naming_the_file(
    cluster: Cluster,
) -> None:
    cluster.files.github[("main", "other.yaml")] = b"kind: ConfigMap"
    reference = f"{cluster.files.url}/repos/acme/shop/contents/other.yaml"
    guarded = {"type": "github/file", "reference": reference, "artifactAccount": "ops-only"}
    execution = await run(cluster, [deploy(source="artifact", manifests=None, manifestArtifact=guarded)], "deployer")
    assert "lacks READ permission on artifact account 'ops-only'" in failure(by_ref(execution, "1"))
    before = len(cluster.files.requests)
    unknown = {**guarded, "artifactAccount": "nope"}
    execution = await run(cluster, [deploy(source="artifact", manifests=None, manifestArtifact=unknown)], "deployer")
    assert "artifact account 'nope' is not configured" in failure(by_ref(execution, "1"))
    anonymous = {"type": "github/file", "reference": reference}
    execution = await run(cluster, [deploy(source="artifact", manifests=None, manifestArtifact=anonymous)], "deployer")
    assert f"github/file {reference}: answered 401" in failure(by_ref(execution, "1"))
    assert len(cluster.files.requests) == before + 1, "only the anonymous fetch reached the server"


async def test_expressions_in_a_fetched_manifest_are_evaluated_unless_skipped_and_a_failing_one_is_named(
    cluster: Cluster,
) -> None:
    def config(name: str, value: dict[str, str]) -> str:
        return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": value})

    tag = "${trigger['parameters']['tag']}"
    cluster.files.github[("main", "tagged.yaml")] = config("tagged", {"TAG": tag}).encode()
    broken = config("fine", {"A": "1"}) + "---\n" + config("broken", {"B": "${trigger['parameters'].nope.x}"})
    cluster.files.github[("main", "broken.yaml")] = broken.encode()
    contents = f"{cluster.files.url}/repos/acme/shop/contents"

    def from_github(ref: str, path: str, name: str, **extra: Any) -> Json:
        artifact = {"type": "github/file", "reference": f"{contents}/{path}", "artifactAccount": "github-acme"}
        return deploy(ref=ref, name=name, source="artifact", manifests=None, manifestArtifact=artifact, **extra)

    stages = [
        from_github("1", "tagged.yaml", "evaluated"),
        from_github(
            "2",
            "tagged.yaml",
            "verbatim",
            skipExpressionEvaluation=True,
            requisiteStageRefIds=["1"],
        ),
    ]
    before = len(cluster.files.requests)
    execution = await run(cluster, stages, "deployer", trigger={"parameters": {"tag": "v42"}})
    assert execution["status"] == "SUCCEEDED", [(s["refId"], failure(s)) for s in execution["stages"]]
    assert len(cluster.files.requests) == before + 2, "each stage fetched its artifact once"
    live = cluster.server.store.list(KIND["ConfigMap"], "web")
    values = sorted(item["data"]["TAG"] for item in live if item["metadata"]["name"].startswith("tagged-v"))
    assert values == ["${trigger['parameters']['tag']}", "v42"]
    assert by_ref(execution, "1")["context"]["fetchedManifestText"] == "**********"  # hidden from readers

    execution = await run(cluster, [from_github("1", "broken.yaml", "broken")], "deployer", trigger={"parameters": {}})
    error = failure(by_ref(execution, "1"))
    assert "[manifests[1].data.B]" in error and "manifests[1] is ConfigMap broken" in error, error
    assert f"github/file {contents}/broken.yaml" in error
    assert not [
        item for item in cluster.server.store.list(KIND["ConfigMap"], "web") if "fine" in item["metadata"]["name"]
    ]


async def test_a_strategy_left_in_options_with_traffic_management_off_retires_nothing(cluster: Cluster) -> None:
    # an exported pipeline whose traffic management was switched off may keep its old options: as in Spinnaker,
    # the strategy then does not apply, so no older version is deleted
    leftover: Json = {"trafficManagement": {"enabled": False, "options": {"strategy": "highlander"}}}
    for image in ("nginx:1", "nginx:2"):
        kept = front(image) | {"metadata": {"name": "kept"}}
        execution = await run(cluster, [deploy(kept, **leftover)], "deployer")
        assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    assert sorted(name for name in cluster.names("ReplicaSet") if name.startswith("kept")) == ["kept-v000", "kept-v001"]


async def test_an_inline_manifest_is_deployed_verbatim_when_expression_evaluation_is_skipped(cluster: Cluster) -> None:
    tag = "${trigger['parameters']['tag']}"
    raw = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inline-raw"}, "data": {"TAG": tag}}
    cooked = {**raw, "metadata": {"name": "inline-cooked"}}
    stages = [deploy(raw, skipExpressionEvaluation=True), deploy(cooked, ref="2")]
    execution = await run(cluster, stages, "deployer", trigger={"parameters": {"tag": "v7"}})
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    assert cluster.live("ConfigMap", "inline-raw-v000")["data"] == {"TAG": tag}  # type: ignore[index]
    assert cluster.live("ConfigMap", "inline-cooked-v000")["data"] == {"TAG": "v7"}  # type: ignore[index]


async def test_strategic_and_json_patches_through_a_patch_manifest_stage(cluster: Cluster) -> None:
    patched = web() | {"metadata": {"name": "patched"}}
    patched["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
    sidecar = {"name": "sidecar", "image": "busybox:1"}
    strategic = {"spec": {"template": {"spec": {"containers": [sidecar]}}}}
    operations = [{"op": "replace", "path": "/spec/replicas", "value": 1}]
    stages = [
        deploy(patched),
        step(
            "2",
            "patchManifest",
            "1",
            manifestName="deployment patched",
            patchBody=strategic,
            options={"mergeStrategy": "strategic"},
        ),
        step(
            "3",
            "patchManifest",
            "2",
            manifestName="deployment patched",
            patchBody=operations,
            options={"mergeStrategy": "json"},
        ),
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    live = cluster.live("Deployment", "patched")
    assert live is not None
    containers = {c["name"]: c["image"] for c in live["spec"]["template"]["spec"]["containers"]}
    assert containers == {"main": "nginx:1.27", "sidecar": "busybox:1"}  # merged by name, not replaced
    assert live["spec"]["replicas"] == 1


def workload(kind: str, name: str, **spec: Any) -> Json:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": "nginx:1"}]}}
    body = {"selector": {"matchLabels": labels}, "template": template, **spec}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": body}


async def test_a_stateful_set_and_a_daemon_set_succeed_once_ready_and_fail_if_never_ready(cluster: Cluster) -> None:
    stateful = workload("StatefulSet", "ledger", replicas=2, serviceName="ledger")
    daemon = workload("DaemonSet", "agent")
    execution = await run(cluster, [deploy(stateful, daemon)], "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    (ledger,) = [s for s in cluster.server.store.list(KIND["StatefulSet"], "web") if "ledger" in s["metadata"]["name"]]
    assert ledger["status"]["readyReplicas"] == 2, ledger["status"]  # the stage ended only once both pods were ready
    (agent,) = [d for d in cluster.server.store.list(KIND["DaemonSet"], "web") if "agent" in d["metadata"]["name"]]
    assert agent["status"]["numberAvailable"] == agent["status"]["desiredNumberScheduled"] >= 1, agent["status"]

    stuck = []
    for ref, kind in (("1", "StatefulSet"), ("2", "DaemonSet")):
        never = workload(kind, f"stuck-{kind.lower()}", **({"replicas": 1} if kind == "StatefulSet" else {}))
        never["spec"]["template"]["spec"]["containers"][0]["image"] = "app:never-ready"
        stuck.append(deploy(never, ref=ref, waitForUpTimeoutSeconds=1, completeOtherBranchesThenFail=True))
    execution = await run(cluster, stuck, "deployer")  # two branches: pods that never become ready never succeed
    assert execution["status"] == "TERMINAL"
    assert (
        "statefulSet stuck-statefulset in web is not stable after 1 s (waitForUpTimeoutSeconds): waiting for all "
        "replicas to be ready (0/1)" in failure(by_ref(execution, "1"))
    )
    assert (
        "daemonSet stuck-daemonset in web is not stable after 1 s (waitForUpTimeoutSeconds): waiting for all "
        "pods to be available (0/1)" in failure(by_ref(execution, "2"))
    )


async def test_namespace_override_wins_over_the_manifests_namespace_and_the_kubeconfig_default(
    cluster: Cluster,
) -> None:
    # three different namespaces, so ignoring the override (or falling back to the default) is seen
    named = {**SETTINGS, "metadata": {"name": "overridden", "namespace": "named-ns"}}
    execution = await run(cluster, [deploy(named, namespaceOverride="override-ns")], "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    assert cluster.names("ConfigMap", "override-ns") == ["overridden-v000"]
    assert not [n for ns in ("named-ns", "web") for n in cluster.names("ConfigMap", ns) if n.startswith("overridden")]


async def test_delete_by_label_removes_what_the_selectors_select_and_cascading_false_orphans_the_dependants(
    cluster: Cluster,
) -> None:
    def config(name: str, **labels: str) -> Json:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {}}

    swept = workload("Deployment", "swept", replicas=1) | {"metadata": {"name": "swept", "labels": {"sweep": "1"}}}
    swept["metadata"]["labels"]["tier"] = "web"
    documents = [
        config("sweep-cache", sweep="1", tier="cache"),
        config("sweep-kept", sweep="1", tier="cache", keep="yes"),
        config("sweep-other-tier", sweep="1", tier="db"),
        swept,
    ]
    selectors = [
        {"kind": "EQUALS", "key": "sweep", "values": ["1"]},
        {"kind": "CONTAINS", "key": "tier", "values": ["cache", "web"]},
        {"kind": "NOT_EXISTS", "key": "keep"},
    ]
    by_label = {
        "mode": "label",
        "kinds": ["configMap", "deployment"],
        "labelSelectors": {"selectors": selectors},
        "options": {"cascading": False},
    }
    execution = await run(cluster, [deploy(*documents), step("2", "deleteManifest", "1", **by_label)], "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    assert by_ref(execution, "2")["outputs"]["outputs.manifestNamesByNamespace"] == {
        "web": ["configMap sweep-cache-v000", "deployment swept"]
    }
    left = sorted(name for name in cluster.names("ConfigMap") if name.startswith("sweep-"))
    assert left == ["sweep-kept-v000", "sweep-other-tier-v000"]
    assert cluster.live("Deployment", "swept") is None
    # not cascading: the Deployment's ReplicaSet and its pod stay, without their owner
    [orphan] = [rs for rs in cluster.server.store.list(KIND["ReplicaSet"], "web", "app=swept")]
    assert orphan["metadata"].get("ownerReferences") in (None, [])
    await asyncio.sleep(0.3)  # a few garbage collector passes
    assert cluster.live("ReplicaSet", orphan["metadata"]["name"]) is not None
    assert len(cluster.server.store.list(KIND["Pod"], "web", "app=swept")) == 1

    foreign = config("sweep-foreign", sweep="2", tier="cache") | {"apiVersion": "v1"}
    await cluster.server.store.create(KIND["ConfigMap"], "web", foreign)  # no moniker: no application's
    mine = config("sweep-mine", sweep="2", tier="cache")
    refused = {**by_label, "labelSelectors": {"selectors": [{"kind": "EQUALS", "key": "sweep", "values": ["2"]}]}}
    execution = await run(cluster, [deploy(mine), step("2", "deleteManifest", "1", **refused)], "deployer")
    reason = failure(by_ref(execution, "2"))
    assert "access denied: sweep=2 selects configMap sweep-foreign in web, which belongs to application None" in reason
    assert "nothing was deleted" in reason
    assert {"sweep-foreign", "sweep-mine-v000"} <= set(cluster.names("ConfigMap"))


async def test_a_patch_read_from_an_artifact_is_evaluated_and_applied(cluster: Cluster) -> None:
    target = web() | {"metadata": {"name": "patched-by-artifact"}}
    target["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
    target["spec"]["progressDeadlineSeconds"] = (
        60  # the image patch rolls it out: no deadline to miss on a busy machine
    )
    labels = "metadata:\n  labels:\n    release: r-${trigger['parameters']['tag']}\n"
    bound = {"type": "embedded/base64", "name": "labels-patch", "reference": base64.b64encode(labels.encode()).decode()}
    expected = {"id": "labels-patch", "matchArtifact": {"type": "embedded/base64", "name": "labels-patch"}}
    cluster.files.github[("main", "replicas.yaml")] = b"- {op: replace, path: /spec/replicas, value: 1}\n"
    operations = {
        "type": "github/file",
        "reference": f"{cluster.files.url}/repos/acme/shop/contents/replicas.yaml",
        "artifactAccount": "github-acme",
    }
    manifest_name = "deployment patched-by-artifact"
    stages = [
        deploy(target),
        step(
            "2", "patchManifest", "1", manifestName=manifest_name, source="artifact", manifestArtifactId="labels-patch"
        ),
        step(
            "3",
            "patchManifest",
            "2",
            manifestName=manifest_name,
            source="artifact",
            manifestArtifact=operations,
            options={"mergeStrategy": "json"},
        ),
        step(
            "4",
            "patchManifest",
            "3",
            manifestName=manifest_name,
            patchBody={
                "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "registry.example/shop"}]}}}
            },
            requiredArtifactIds=["image"],
        ),
    ]
    image = {"type": "docker/image", "name": "registry.example/shop", "reference": "registry.example/shop:4.2"}
    expected_image = {"id": "image", "matchArtifact": {"type": "docker/image", "name": "registry.example/shop"}}
    trigger = {
        "parameters": {"tag": "7"},
        "artifacts": [bound, image],
        "expectedArtifactIds": ["labels-patch", "image"],
    }
    execution = await run(cluster, stages, "deployer", trigger=trigger, expectedArtifacts=[expected, expected_image])
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    live = cluster.live("Deployment", "patched-by-artifact")
    assert live is not None
    assert live["metadata"]["labels"] == {"release": "r-7"}  # the artifact's expression was evaluated
    assert live["spec"]["replicas"] == 1
    # the strategic patch's image is the bound docker/image artifact's, as a deploy's would be
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/shop:4.2"
    assert by_ref(execution, "4")["outputs"]["outputs.boundArtifacts"] == [image]

    two = base64.b64encode(b"metadata: {labels: {a: b}}\n---\nmetadata: {labels: {c: d}}\n").decode()
    doubled = {"type": "embedded/base64", "name": "two", "reference": two}
    refused = step("1", "patchManifest", "0", manifestName=manifest_name, source="artifact", manifestArtifact=doubled)
    execution = await run(cluster, [refused | {"requisiteStageRefIds": []}], "deployer")
    assert "Only one patch object is valid when patching with the strategic strategy; got 2" in failure(
        by_ref(execution, "1")
    )


async def test_an_api_server_away_mid_stage_is_retried_until_it_answers_and_one_away_past_the_timeout_fails(
    cluster: Cluster,
) -> None:
    flaky = cluster.flaky
    assert flaky is not None

    async def away_once_applied(name: str, stages: list[Json], back_after: float | None) -> Json:
        running = asyncio.create_task(run(cluster, stages, "deployer"))
        while flaky.store.find(KIND["Deployment"], "web", name) is None:
            await asyncio.sleep(0.02)
        await flaky.go_away()  # its pods are not ready yet: the stage is waiting for them
        if back_after is not None:
            await asyncio.sleep(back_after)
            await flaky.serve()
        return await running

    def weathered(name: str) -> Json:
        document = web(replicas=1) | {"metadata": {"name": name}}
        document["spec"]["template"]["spec"]["containers"][0].pop("envFrom")
        document["spec"]["progressDeadlineSeconds"] = 60
        return document

    stage = deploy(weathered("weathered"), account="k8s-flaky", stageTimeoutMs=20_000)
    execution = await away_once_applied("weathered", [stage], back_after=2.0)
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    live = flaky.store.find(KIND["Deployment"], "web", "weathered")
    assert live is not None and live["status"]["availableReplicas"] == 1

    stage = deploy(weathered("stranded"), account="k8s-flaky", stageTimeoutMs=3_000)
    try:
        execution = await away_once_applied("stranded", [stage], back_after=None)
    finally:
        await flaky.serve()
    reason = failure(by_ref(execution, "1"))
    assert execution["status"] == "TERMINAL"
    assert f"the Kubernetes API server at {flaky.url} did not answer reading Deployment stranded after" in reason
    assert "the stage's stageTimeoutMs, counted from the operation's start, leaves no time for another" in reason


async def test_a_dark_rollout_with_enable_traffic_false_keeps_the_new_version_out_of_its_services(
    cluster: Cluster,
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "shop-dark"},
        "spec": {"selector": {"serving": "shop-dark"}, "ports": [{"port": 80}]},
    }

    def version(image: str) -> Json:
        document = front(image) | {"metadata": {"name": "dark"}}
        document["spec"]["selector"] = {"matchLabels": {"app": "dark"}}
        document["spec"]["template"]["metadata"]["labels"] = {"app": "dark"}
        return document

    def managed(enable: bool) -> Json:
        options = {"strategy": "none", "services": ["service shop-dark"], "enableTraffic": enable}
        return {"trafficManagement": {"enabled": True, "options": options}}

    stages = [
        deploy(service),
        deploy(version("app:1"), ref="2", requisiteStageRefIds=["1"], **managed(True)),
        deploy(version("app:2"), ref="3", requisiteStageRefIds=["2"], **managed(False)),
    ]
    execution = await run(cluster, stages, "deployer")
    assert execution["status"] == "SUCCEEDED", [failure(s) for s in execution["stages"]]
    endpoints = cluster.live("Endpoints", "shop-dark")
    assert endpoints is not None
    serving = {address["targetRef"]["name"] for subset in endpoints["subsets"] for address in subset["addresses"]}
    owners = {
        pod["metadata"]["name"]: pod["metadata"]["ownerReferences"][0]["name"]
        for pod in cluster.server.store.list(KIND["Pod"], "web", "app=dark")
    }
    assert sorted(owners[name] for name in serving) == ["dark-v000", "dark-v000"]  # strategy none: v000 still serves
    assert sorted(owners.values()).count("dark-v001") == 2  # v001 runs, out of the Service
    dark = cluster.live("ReplicaSet", "dark-v001")
    assert dark is not None and "serving" not in dark["spec"]["template"]["metadata"]["labels"]
    assert dark["metadata"]["annotations"]["traffic.spinnaker.io/load-balancers"] == '["service shop-dark"]'
    listed = {group["name"]: group for group in await cluster.world.get("/applications/shop/serverGroups")}
    assert listed["replicaSet dark-v001"]["isDisabled"] is True
    assert listed["replicaSet dark-v000"]["isDisabled"] is False
