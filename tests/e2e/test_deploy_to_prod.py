"""The pipeline exported from Spinnaker (``deploy-to-prod.pipeline.json``) runs unchanged to SUCCEEDED
through the gateway of a real ``gennaker up``, as the README walks it.

Behind ``up``: a ``kubernetes`` account named ``local`` (the pipeline deploys to it) whose
kubeconfig points at the local API server (``tests/kubernetes_server``, namespace ``shop``), and
the ``helm-charts`` chart repository (an HTTP server on loopback with ``index.yaml`` and the chart
``shop`` 1.2.0). The run is triggered by hand with the chart as the trigger's artifact; Rosco bakes
it with ``image.tag`` from the ``tag`` parameter; ``region=us-east-1`` skips the staging wait; the
manual judgment is answered ``continue``; the deploy's execution window (09:00 to 17:00) is skipped
as Deck's "skip remaining window" does, unless the clock is inside it. The cluster then runs
``acme/shop:<tag>`` in namespace ``shop``.

Then, in the same system, it runs from the triggers it declares, with nothing started by hand:
its ``webhook`` trigger (source ``shop-ci``, constraint ``branch: main``) fires on the CI server's
webhook, whose payload brings the chart and the tag; then its ``docker`` trigger fires on a push
of ``acme/shop`` to ``index.docker.io``, binding the pushed image as a ``docker/image`` artifact
and the chart from the previous execution (the chart's expected artifact has
``usePriorArtifact``); then, with no webhook, on Igor seeing a new tag when it polls the
``dockerhub`` registry account (``tests/docker_registry_server.py`` behind that name).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from gennaker.host import free_port
from schemas.json_types import Json
from tests.docker_registry_server import PASSWORD as REGISTRY_PASSWORD
from tests.docker_registry_server import USER as REGISTRY_USER
from tests.docker_registry_server import DockerRegistryServer
from tests.e2e.test_newcomer import EXPORTED_PIPELINE, REQUEST_TIMEOUT, Api, run_task, wait_healthy
from tests.integration.test_up import UP_LINE, Process, cli_env
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.unit.rosco.charts import chart_archive

RUN_DEADLINE = 90.0


class World(NamedTuple):
    api: Api
    process: Process
    cluster: KubernetesApiServer
    registry: DockerRegistryServer


CHART = {"type": "helm/chart", "name": "shop", "version": "1.2.0", "artifactAccount": "helm-charts"}


async def chart_repository() -> TestServer:
    """The ``helm-charts`` repository: ``/charts/index.yaml`` and ``/charts/shop-1.2.0.tgz``."""
    archive = chart_archive()

    async def index(_: web.Request) -> web.Response:
        entries = {"shop": [{"name": "shop", "version": "1.2.0", "urls": ["shop-1.2.0.tgz"]}]}
        return web.Response(text=yaml.safe_dump({"apiVersion": "v1", "entries": entries}))

    async def chart(_: web.Request) -> web.Response:
        return web.Response(body=archive, content_type="application/gzip")

    app = web.Application()
    app.router.add_get("/charts/index.yaml", index)
    app.router.add_get("/charts/shop-1.2.0.tgz", chart)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def settings_toml(kubeconfig: Path, repository: str, registry: str) -> str:
    """The settings the README shows for a Kubernetes account, a chart repository and a docker
    registry account named as the pipeline's docker trigger names it (polled every half second)."""
    return (
        '[[accounts]]\nname = "local"\ncloudProvider = "kubernetes"\n\n'
        f'[accounts.kubernetes]\nkubeconfigFile = "{kubeconfig}"\ncontext = "local"\n\n'
        f'[[rosco.helm_accounts]]\nname = "helm-charts"\nrepository = "{repository}"\n\n'
        "[igor]\npoll_interval = 0.5\n\n"
        f'[[igor.docker_registries]]\nname = "dockerhub"\naddress = "{registry}"\nrepositories = ["acme/shop"]\n'
        f'username = "{REGISTRY_USER}"\npassword = "{REGISTRY_PASSWORD}"\n'
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with (
        KubernetesApiServer(namespaces=("shop",), ready_seconds=0.2) as cluster,
        DockerRegistryServer(repositories={"acme/shop": ["v9.0"]}) as registry,
    ):
        charts = await chart_repository()
        try:
            settings = tmp_path / "gennaker.toml"
            kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig", namespace="shop")
            settings.write_text(settings_toml(kubeconfig, str(charts.make_url("/charts")), registry.url))
            port = free_port()
            env = {
                "GENNAKER_DATA_DIR": str(tmp_path / "data"),
                "GENNAKER_GATEWAY_PORT": str(port),
                "GENNAKER_SETTINGS_FILE": str(settings),
            }
            process = await Process.start("up", env=cli_env(**env))
            try:
                line = await process.stdout_line()
                assert UP_LINE.match(line), f"unexpected start-up line {line!r}:\n{process.logs()}"
                async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
                    api = Api(session, f"http://127.0.0.1:{port}")
                    await wait_healthy(api, process)
                    yield World(api, process, cluster, registry)
            finally:
                await process.kill()
        finally:
            await charts.close()


def stage_named(execution: Json, name: str) -> Json:
    return next(stage for stage in execution["stages"] if stage["name"] == name)


def status_of(execution: Json, name: str) -> str | None:
    """The status of the stage called ``name``; None when the pipeline has none."""
    return next((stage["status"] for stage in execution["stages"] if stage["name"] == name), None)


def waits_for_its_window(stage: Json) -> bool:
    return stage["status"] == "RUNNING" and any(
        task["name"] == "suspendExecutionDuringTimeWindow" and task["status"] == "RUNNING"
        for task in stage.get("tasks") or []
    )


async def drive(api: Api, process: Process, ref: str) -> Json:
    """Poll the execution as Deck does, judging and skipping the staging wait and the window when
    they come, until it ends."""
    deadline = asyncio.get_running_loop().time() + RUN_DEADLINE
    judged = skipped = settled = False
    while True:
        execution: Json = await api.ok("GET", ref, None)
        if execution["status"] not in ("NOT_STARTED", "RUNNING", "PAUSED", "SUSPENDED", "BUFFERED"):
            return execution
        if not settled and status_of(execution, "Let staging settle") == "RUNNING":  # Deck's "Skip remaining wait"
            staging = stage_named(execution, "Let staging settle")
            await api.ok("PATCH", f"{ref}/stages/{staging['id']}", None, json_body={"skipRemainingWait": True})
            settled = True
        if not judged and status_of(execution, "Approve production") == "RUNNING":
            judgment = stage_named(execution, "Approve production")
            body = {"judgmentStatus": "continue", "judgmentInput": "go"}
            await api.ok("PATCH", f"{ref}/stages/{judgment['id']}", None, json_body=body)
            judged = True
        deploy = next((stage for stage in execution["stages"] if stage["name"] == "Deploy (Manifest)"), None)
        if not skipped and deploy is not None and waits_for_its_window(deploy):
            await api.ok("PATCH", f"{ref}/stages/{deploy['id']}", None, json_body={"skipRemainingWait": True})
            skipped = True
        assert asyncio.get_running_loop().time() < deadline, (
            f"still {execution['status']}: {[(s['name'], s['status']) for s in execution['stages']]}\n{process.logs()}"
        )
        await asyncio.sleep(0.3)


async def save_the_exported_pipeline(api: Api) -> None:
    create = {
        "application": "shop",
        "description": "Create Application: shop",
        "job": [{"type": "createApplication", "application": {"name": "shop", "email": "shop-team@example.com"}}],
    }
    assert (await run_task(api, None, create))["status"] == "SUCCEEDED"  # type: ignore[arg-type]
    exported = json.loads(EXPORTED_PIPELINE.read_text())
    await api.ok("POST", "/pipelines", None, json_body=exported)


async def started_by(
    api: Api, process: Process, path: str, payload: Json, pipelines: tuple[str, ...] = ("deploy to prod",)
) -> list[str]:
    """POST the webhook, then the ``ref`` of the execution it started of each of ``pipelines``
    (found by its ``eventId``)."""
    accepted = await api.ok("POST", path, None, json_body=payload)
    deadline = asyncio.get_running_loop().time() + RUN_DEADLINE
    while True:
        executions = await api.ok("GET", "/applications/shop/pipelines", None)
        found = {item["name"]: item for item in executions if item["trigger"].get("eventId") == accepted["eventId"]}
        if set(found) >= set(pipelines):
            return [f"/pipelines/{found[name]['id']}" for name in pipelines]
        assert asyncio.get_running_loop().time() < deadline, f"{path} started {list(found)}:\n{process.logs()}"
        await asyncio.sleep(0.2)


def succeeded(execution: Json) -> None:
    stages = {stage["name"]: stage["status"] for stage in execution["stages"]}
    errors = [stage["context"].get("exception") for stage in execution["stages"] if stage["context"].get("exception")]
    assert execution["status"] == "SUCCEEDED", (stages, errors, execution.get("exception"))


async def test_the_exported_pipeline_deploys_to_succeeded_by_hand_and_from_its_triggers(world: World) -> None:
    """One ``gennaker up`` for both walks (starting it is most of the cost): by hand, then triggered."""
    await save_the_exported_pipeline(world.api)
    await by_hand(world)
    await from_its_triggers(world)


async def by_hand(world: World) -> None:
    """The README's walk: the chart as the trigger's artifact, the tag and region as parameters."""
    api, process, cluster, _ = world

    trigger = {"parameters": {"tag": "v9", "region": "us-east-1"}, "artifacts": [CHART]}
    status, started = await api.call("POST", "/pipelines/shop/deploy%20to%20prod", None, json_body=trigger)
    assert status == 202, started
    execution = await drive(api, process, started["ref"])

    stages = {stage["name"]: stage["status"] for stage in execution["stages"]}
    errors = [stage["context"].get("exception") for stage in execution["stages"] if stage["context"].get("exception")]
    assert execution["status"] == "SUCCEEDED", (stages, errors, execution.get("exception"))
    assert stages == {
        "Bake (Manifest)": "SUCCEEDED",
        "Let staging settle": "SKIPPED",
        "Check staging is healthy": "SUCCEEDED",
        "Approve production": "SUCCEEDED",
        "Deploy (Manifest)": "SUCCEEDED",
    }
    bound = execution["trigger"]["resolvedExpectedArtifacts"]
    assert [(item["displayName"], item["boundArtifact"]["version"]) for item in bound] == [("shop-chart", "1.2.0")]
    deployment = cluster.store.find(KIND["Deployment"], "shop", "shop-web")
    assert deployment is not None, cluster.store.list(KIND["Deployment"], "shop")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "acme/shop:v9"
    assert deployment["metadata"]["annotations"]["moniker.spinnaker.io/application"] == "shop"
    service = cluster.store.find(KIND["Service"], "shop", "shop")
    assert service is not None and service["metadata"]["annotations"]["deployed-tag"] == "v9"


CANARY: Json = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "shop-canary"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "shop-canary"}},
        "template": {
            "metadata": {"labels": {"app": "shop-canary"}},
            "spec": {"containers": [{"name": "web", "image": "index.docker.io/acme/shop"}]},
        },
    },
}
IMAGE_PIPELINE: Json = {
    "application": "shop",
    "name": "canary",
    "expectedArtifacts": [
        {
            "id": "shop-image",
            "displayName": "shop image",
            "matchArtifact": {"type": "docker/image", "name": "index.docker.io/acme/shop"},
            "useDefaultArtifact": False,
            "usePriorArtifact": False,
        }
    ],
    "triggers": [
        {
            "type": "docker",
            "enabled": True,
            "account": "dockerhub",
            "registry": "index.docker.io",
            "repository": "acme/shop",
            "tag": "^v[0-9.]+$",
            "expectedArtifactIds": ["shop-image"],
        }
    ],
    "stages": [
        {
            "refId": "1",
            "requisiteStageRefIds": [],
            "type": "deployManifest",
            "name": "Deploy the canary",
            "account": "local",
            "cloudProvider": "kubernetes",
            "source": "text",
            "manifests": [CANARY],
            "moniker": {"app": "shop"},
            "namespaceOverride": "shop",
            "requiredArtifactIds": ["shop-image"],
        }
    ],
}
"""A pipeline whose manifest names the image as Spinnaker's docker trigger artifact does (no tag)."""


def deployed_image(cluster: KubernetesApiServer) -> str:
    deployment = cluster.store.find(KIND["Deployment"], "shop", "shop-web")
    assert deployment is not None, cluster.store.list(KIND["Deployment"], "shop")
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


async def from_its_triggers(world: World) -> None:
    """The pipeline's own triggers, nothing started by hand: the webhook, a docker push, Igor's poll."""
    api, process, cluster, registry = world
    await api.ok("POST", "/pipelines", None, json_body=IMAGE_PIPELINE)

    # the CI server's webhook: the chart and the tag come in its payload
    ci = {"branch": "main", "parameters": {"tag": "v9.2", "region": "us-east-1"}, "artifacts": [CHART]}
    (ref,) = await started_by(api, process, "/webhooks/webhook/shop-ci", ci)
    execution = await drive(api, process, ref)
    succeeded(execution)
    trigger = execution["trigger"]
    assert (trigger["type"], trigger["source"], trigger["parameters"]["tag"]) == ("webhook", "shop-ci", "v9.2")
    bound = trigger["resolvedExpectedArtifacts"]
    assert [(item["displayName"], item["boundArtifact"]) for item in bound] == [("shop-chart", CHART)]
    assert deployed_image(cluster) == "acme/shop:v9.2"

    # a push of acme/shop v9.3 to Docker Hub: the docker trigger, the chart from the run before
    push = {"account": "dockerhub", "registry": "index.docker.io", "repository": "acme/shop", "tag": "v9.3"}
    exported, canary = await started_by(api, process, "/webhooks/docker", push, ("deploy to prod", "canary"))
    image = {
        "type": "docker/image",
        "name": "index.docker.io/acme/shop",
        "version": "v9.3",
        "reference": "index.docker.io/acme/shop:v9.3",
    }
    execution = await drive(api, process, exported)
    succeeded(execution)
    trigger = execution["trigger"]
    assert (trigger["type"], trigger["tag"]) == ("docker", "v9.3")
    assert image in trigger["artifacts"]
    assert [(item["displayName"], item["boundArtifact"]) for item in trigger["resolvedExpectedArtifacts"]] == [
        ("shop-chart", CHART)
    ]
    # the chart writes "acme/shop:<the tag parameter>", which a docker trigger leaves at its default: Clouddriver
    # replaces only an image written as the artifact's name (no tag), as the canary's manifest does
    assert deployed_image(cluster) == "acme/shop:latest"
    succeeded(await drive(api, process, canary))
    live = cluster.store.find(KIND["Deployment"], "shop", "shop-canary")
    assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == image["reference"]

    # no webhook at all: Igor polls the dockerhub account's acme/shop and sees v9.4 appear
    await polled_once(registry, process)
    registry.repositories["acme/shop"].append("v9.4")
    ref = await polled_execution(api, process, "v9.4")
    execution = await drive(api, process, ref)
    succeeded(execution)
    assert {"type": "docker/image", "reference": f"{registry.host}/acme/shop:v9.4"}.items() <= next(
        artifact for artifact in execution["trigger"]["artifacts"] if artifact["type"] == "docker/image"
    ).items()


async def polled_once(registry: DockerRegistryServer, process: Process) -> None:
    """Until Igor has read the repository's tags once (its first poll records them, announcing none)."""
    deadline = asyncio.get_running_loop().time() + RUN_DEADLINE
    while not any(request["token"] for request in registry.requests if request["path"].endswith("/tags/list")):
        assert asyncio.get_running_loop().time() < deadline, f"Igor never polled the registry:\n{process.logs()}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)  # its first poll's tags are stored


async def polled_execution(api: Api, process: Process, tag: str) -> str:
    """The ``ref`` of the exported pipeline's execution Igor's announcement of ``tag`` started."""
    deadline = asyncio.get_running_loop().time() + RUN_DEADLINE
    while True:
        executions = await api.ok("GET", "/applications/shop/pipelines", None)
        found = [
            item
            for item in executions
            if item["name"] == "deploy to prod"
            and item["trigger"].get("type") == "docker"
            and item["trigger"].get("tag") == tag
        ]
        if found:
            return f"/pipelines/{found[0]['id']}"
        assert asyncio.get_running_loop().time() < deadline, f"no execution for {tag}:\n{process.logs()}"
        await asyncio.sleep(0.2)
