"""What becomes of a run whose Terraformer died: it fails, naming the state lock; it is never run again.

A Terraformer killed mid-``apply`` may leave the state half-changed and its lock held (a remote
backend's lock outlives the process; the local backend leaves its ``.lock.info``) — its Terraform is
interrupted as it dies (:mod:`workers.terraformer.launch`), but a machine that dies takes both at once. Running the
same command again could apply on top of that unseen, so :class:`Recovery` (a background loop of
every Terraformer) looks for runs still RUNNING whose owner is a dead process on this host, or
whose lease lapsed, and answers them TERMINAL: which Terraform command was running, in which
workspace, and the lock's state as Terraform recorded it (ID, operation, who, since) with what
to do about it. It releases the store's lock on the directory + workspace, publishes any
answer stored but never published, and deletes finished runs and stored planfiles older than
``[terraformer] keep_days``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
from pathlib import Path

import structlog

from bus import Bus
from schemas.json_types import Json
from workers.terraformer.stage_task import TerraformTasks, now_ms
from workers.terraformer.store import RUNNING, TerraformerStore

log = structlog.get_logger("gennaker.terraformer")


def owner_is_dead(owner: str) -> bool:
    """``owner`` (``host:pid:token``) was a process on this host that is gone."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        with open(f"/proc/{pid_text}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def lock_state(state_lock: Json | None) -> str:
    """The state lock a dead run may have left, as its failure names it."""
    if not state_lock:
        return "Terraform had not reached its backend yet, so no state lock was taken"
    if state_lock.get("backend") != "local":
        return (
            f"the {state_lock.get('backend')} backend may still hold the state lock: Terraform names it when the "
            "next run fails to take it ('terraform force-unlock LOCK_ID' releases it once you have checked the state)"
        )
    try:
        info = json.loads(Path(str(state_lock.get("lock_info"))).read_text())
    except (OSError, ValueError):
        return f"the state {state_lock.get('state')} holds no lock record"
    return (
        f"the state lock of {info.get('Path') or state_lock.get('state')} was left: ID {info.get('ID')}, "
        f"{info.get('Operation')} by {info.get('Who')} since {info.get('Created')} "
        f"(lock record {state_lock.get('lock_info')}; 'terraform force-unlock {info.get('ID')}' releases it once "
        "you have checked the state)"
    )


def interrupted(run: Json) -> str:
    """The failure of a run whose Terraformer died."""
    return (
        f"Terraformer {run.get('owner')} stopped while running terraform {run.get('phase') or run.get('action')} "
        f"(workspace {run.get('workspace')}); the run is not started again, as the state may be partly changed: "
        f"{lock_state(run.get('state_lock'))}. Check the state, then run the stage again"
    )


class Recovery:
    """The background loop failing the runs of dead Terraformers and publishing unpublished answers."""

    def __init__(
        self, store: TerraformerStore, tasks: TerraformTasks, *, interval: float = 2.0, keep_days: float = 30.0
    ) -> None:
        self.store = store
        self.tasks = tasks
        self.interval = interval
        self.keep_ms = int(keep_days * 86_400_000)

    async def loop(self, bus: Bus) -> None:
        """Reconcile every ``interval`` seconds while the service runs."""
        while True:
            await self.reconcile(bus)
            await asyncio.sleep(self.interval)

    async def reconcile(self, bus: Bus) -> int:
        """One pass; how many runs it failed."""
        failed = 0
        now = now_ms()
        for run in await self.store.running():
            owner = str(run.get("owner") or "")
            lapsed = int(run.get("lease_until") or 0) < now
            if owner == self.tasks.owner and (self.tasks.runs(str(run["_id"])) or not lapsed):
                continue  # ours and running here (a run of ours that died with its task is failed too)
            if owner != self.tasks.owner and not owner_is_dead(owner) and not lapsed:
                continue
            reason = interrupted(run)
            answer = {"status": "TERMINAL", "outputs": {}, "context": {"terraformRunId": run["_id"]}, "error": reason}
            if await self.store.finish(str(run["_id"]), owner, answer, now):
                failed += 1
                log.warning("terraformer.run_interrupted", run_id=run["_id"], owner=owner, phase=run.get("phase"))
                await self.store.release(str(run.get("lock_key")), str(run["_id"]))
                shutil.rmtree(self.tasks.work_root / str(run["_id"]), ignore_errors=True)
        for run in await self.store.unpublished():
            if run.get("status") != RUNNING and run.get("answer"):
                await self.tasks.publish(bus, run)
        await self.store.forget_before(now - self.keep_ms)
        return failed
