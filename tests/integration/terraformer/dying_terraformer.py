"""``python -m tests.integration.terraformer.dying_terraformer MONGO_URI DATABASE ROOT REPOSITORY STAGE_ID``:
a Terraformer of its own process that starts a long apply, says ``applying`` once Terraform is
applying, and waits to be killed (the test kills it with SIGKILL, Terraform with it)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pymongo import AsyncMongoClient

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from tests.authorities import ADMIN
from tests.integration.terraformer.rig import backend_artifact, settings
from workers.terraformer.worker import build_service


async def main(uri: str, database: str, root: Path, repository: str, stage_id: str) -> None:
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri)
    db = client[database]
    bus = MemoryBus(source="/dying")
    host = ServiceHost(bus, build_service(WorkerResources(settings=settings(root), db=db)))
    await host.start()
    repo = {"type": "git/repo", "reference": repository, "version": "main", "metadata": {"subPath": "infra"}}
    context = {
        "action": "apply",
        "artifacts": [repo],
        "backendArtifact": backend_artifact(root / "state"),
        "workspace": "doomed",
        "overrides": {"sleep": 120},
    }
    task = RunExternalTask(
        execution_id="e-dying",
        stage_id=stage_id,
        task_id="1",
        attempt=1,
        application="infra",
        stage_type="terraform",
        context=context,
        authority=ADMIN,
    )
    await bus.send(task, to="terraformer")
    while True:
        run = await db["terraformer_runs"].find_one({"stage_id": stage_id})
        if run and run.get("phase") == "apply" and any("making" in line for line in run.get("log") or []):
            print("applying", run["pid"], flush=True)
            break
        await asyncio.sleep(0.1)
    await asyncio.Event().wait()


if __name__ == "__main__":
    uri, database, root, repository, stage_id = sys.argv[1:6]
    asyncio.run(main(uri, database, Path(root), repository, stage_id))
