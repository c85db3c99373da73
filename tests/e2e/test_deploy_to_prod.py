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
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from gennaker.host import free_port
from schemas.json_types import Json
from tests.e2e.test_newcomer import EXPORTED_PIPELINE, REQUEST_TIMEOUT, Api, run_task, wait_healthy
from tests.integration.test_up import UP_LINE, Process, cli_env
from tests.kubernetes_server import KubernetesApiServer
from tests.kubernetes_server.controller import KIND
from tests.unit.rosco.charts import chart_archive

RUN_DEADLINE = 90.0
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


def settings_toml(kubeconfig: Path, repository: str) -> str:
    """The settings the README shows for a Kubernetes account and a chart repository."""
    return (
        '[[accounts]]\nname = "local"\ncloudProvider = "kubernetes"\n\n'
        f'[accounts.kubernetes]\nkubeconfigFile = "{kubeconfig}"\ncontext = "local"\n\n'
        f'[[rosco.helm_accounts]]\nname = "helm-charts"\nrepository = "{repository}"\n'
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Api, Process, KubernetesApiServer]]:
    async with KubernetesApiServer(namespaces=("shop",), ready_seconds=0.2) as cluster:
        charts = await chart_repository()
        try:
            settings = tmp_path / "gennaker.toml"
            kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig", namespace="shop")
            settings.write_text(settings_toml(kubeconfig, str(charts.make_url("/charts"))))
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
                    yield api, process, cluster
            finally:
                await process.kill()
        finally:
            await charts.close()


def stage_named(execution: Json, name: str) -> Json:
    return next(stage for stage in execution["stages"] if stage["name"] == name)


def waits_for_its_window(stage: Json) -> bool:
    return stage["status"] == "RUNNING" and any(
        task["name"] == "suspendExecutionDuringTimeWindow" and task["status"] == "RUNNING"
        for task in stage.get("tasks") or []
    )


async def drive(api: Api, process: Process, ref: str) -> Json:
    """Poll the execution as Deck does, judging and skipping the window when they come, until it ends."""
    deadline = asyncio.get_running_loop().time() + RUN_DEADLINE
    judged = skipped = False
    while True:
        execution: Json = await api.ok("GET", ref, None)
        if execution["status"] not in ("NOT_STARTED", "RUNNING", "PAUSED", "SUSPENDED", "BUFFERED"):
            return execution
        judgment = stage_named(execution, "Approve production")
        if not judged and judgment["status"] == "RUNNING":
            body = {"judgmentStatus": "continue", "judgmentInput": "go"}
            await api.ok("PATCH", f"{ref}/stages/{judgment['id']}", None, json_body=body)
            judged = True
        deploy = stage_named(execution, "Deploy (Manifest)")
        if not skipped and waits_for_its_window(deploy):
            await api.ok("PATCH", f"{ref}/stages/{deploy['id']}", None, json_body={"skipRemainingWait": True})
            skipped = True
        assert asyncio.get_running_loop().time() < deadline, (
            f"still {execution['status']}: {[(s['name'], s['status']) for s in execution['stages']]}\n{process.logs()}"
        )
        await asyncio.sleep(0.3)


async def test_the_exported_pipeline_bakes_the_chart_and_deploys_it_to_succeeded(
    world: tuple[Api, Process, KubernetesApiServer],
) -> None:
    api, process, cluster = world
    create = {
        "application": "shop",
        "description": "Create Application: shop",
        "job": [{"type": "createApplication", "application": {"name": "shop", "email": "shop-team@example.com"}}],
    }
    assert (await run_task(api, None, create))["status"] == "SUCCEEDED"  # type: ignore[arg-type]
    exported = json.loads(EXPORTED_PIPELINE.read_text())
    await api.ok("POST", "/pipelines", None, json_body=exported)

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
