"""Terraformer's locks: two executions never run Terraform on one directory + workspace at once (the
second waits, its heartbeats naming the holder); a run whose Terraformer was killed mid-apply fails
naming the state lock Terraform left, and is not applied again; finished runs and planfiles are
forgotten after ``keep_days``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from gennaker.outbound import OutboundClient, OutboundPolicy
from schemas.orca_engine import StageCompleted
from schemas.outbound import OutboundSettings
from schemas.terraformer import TerraformerSettings, TerraformerTaskCompleted
from tests.integration.terraformer.rig import TerraformerRig, terraformer
from workers.terraformer.recovery import Recovery
from workers.terraformer.sources import Sources
from workers.terraformer.stage_task import TerraformTasks
from workers.terraformer.store import TerraformerStore

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parents[3]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TerraformerRig]:
    async with terraformer(tmp_path_factory.mktemp("terraformer-locks")) as started:
        yield started


def ended(execution: str, stage_id: str) -> StageCompleted:
    return StageCompleted(
        execution_id=execution,
        application="infra",
        stage_id=stage_id,
        ref_id="1",
        stage_type="terraform",
        name="Apply",
        status="CANCELED",
    )


async def test_a_second_execution_waits_for_the_first_and_names_it(rig: TerraformerRig) -> None:
    slow = await rig.start(rig.context("apply", workspace="busy", overrides={"sleep": 120}), execution="e-first")
    await rig.wait_for(slow, "terraformer.task.heartbeat", progress="making")
    waiting = await rig.start(rig.context("plan", workspace="busy"), execution="e-second")
    told = await rig.wait_for(waiting, "terraformer.task.heartbeat", progress="waiting for the lock")
    assert "held by execution e-first" in str(getattr(told, "progress", ""))
    await rig.bus.publish(ended("e-first", slow))
    stopped = await rig.wait_for(slow)
    assert isinstance(stopped, TerraformerTaskCompleted) and stopped.status == "CANCELED"
    planned = await rig.wait_for(waiting)
    assert isinstance(planned, TerraformerTaskCompleted)
    assert planned.status == "SUCCEEDED", planned.error


async def applying(process: asyncio.subprocess.Process) -> list[str]:
    """What the dying Terraformer says once Terraform applies (it logs to its stdout too)."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        said = line.decode().split()
        if said[:1] == ["applying"]:
            return said
    raise AssertionError("the dying Terraformer ended before Terraform applied")


async def test_a_terraformer_killed_mid_apply_fails_the_run_naming_the_lock(rig: TerraformerRig) -> None:
    db = rig.db
    host, port = await db.client.address or ("127.0.0.1", 27017)
    dying = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.terraformer.dying_terraformer",
        f"mongodb://{host}:{port}",
        db.name,
        str(rig.root),
        str(rig.repository),
        "s-dying",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        said = await asyncio.wait_for(applying(dying), 60)
        os.killpg(int(said[1]), signal.SIGKILL)  # the machine died: Terraform (first: it would be interrupted)
    finally:
        dying.kill()  # and its Terraformer
        await dying.wait()

    failed = await rig.wait_for("s-dying", timeout=30)
    assert isinstance(failed, TerraformerTaskCompleted) and failed.status == "TERMINAL"
    assert failed.error is not None
    assert "stopped while running terraform apply (workspace doomed)" in failed.error
    assert "the state lock of" in failed.error and "was left: ID " in failed.error
    assert "OperationTypeApply" in failed.error and "force-unlock" in failed.error
    assert "not started again" in failed.error
    run = await db["terraformer_runs"].find_one({"stage_id": "s-dying"})
    assert run is not None and run["status"] == "TERMINAL"
    assert await db["terraformer_locks"].count_documents({}) == 0


async def test_finished_runs_and_planfiles_are_forgotten_after_keep_days(rig: TerraformerRig) -> None:
    day = 86_400_000
    now = int(time.time() * 1000)
    old = {"status": "SUCCEEDED", "ended": now - 31 * day, "published": True, "lock_key": "k"}
    await rig.db["terraformer_runs"].insert_many([{"_id": "r-old", **old}, {**old, "_id": "r-new", "ended": now}])
    await rig.db["terraformer_planfiles"].insert_many(
        [{"_id": "p-old", "created": now - 31 * day}, {"_id": "p-new", "created": now}]
    )
    store = TerraformerStore(rig.db)
    policy = OutboundPolicy(OutboundSettings())
    tasks = TerraformTasks(
        store, TerraformerSettings(), Sources(OutboundClient(OutboundSettings()), policy), owner="t", work_root=rig.root
    )
    await Recovery(store, tasks, keep_days=30).reconcile(rig.bus)
    assert await rig.db["terraformer_runs"].find_one({"_id": "r-old"}) is None
    assert await rig.db["terraformer_runs"].find_one({"_id": "r-new"}) is not None
    assert [doc["_id"] async for doc in rig.db["terraformer_planfiles"].find({"_id": {"$in": ["p-old", "p-new"]}})] == [
        "p-new"
    ]
