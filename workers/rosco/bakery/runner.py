"""The bake queue: at most ``maxConcurrentBakes`` Packer processes per Rosco, the rest PENDING in order.

Each Rosco claims the oldest queued bake under a lease (renewed every ``renew_seconds`` while
Packer runs) and records Packer's pid. A Rosco that dies (SIGKILL) leaves its bakes RUNNING: the
next Rosco on the same host sees that the owner's process is gone, any Rosco sees the lease lapse,
and claims the bake again — its old Packer process group is killed first (reaped), then Packer
runs again from the start (the ``local`` template replaces its image atomically, cloud templates
make a new image), and the bake's waiters get one answer, from the run that ends it.

Packer's output goes to the bake's log in chunks as it comes; the Orca tasks waiting for the
bake get a heartbeat with its last line. A cancel (the bake's state changes under the runner)
kills Packer at the next renewal. A graceful stop puts the bakes back in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import time
from typing import Any

import structlog

from bus import Bus
from bus.context import Sender
from gennaker.host import process_alive
from schemas.json_types import Json
from schemas.orca_engine import TaskOutcome
from schemas.rosco import BakeCompleted, RoscoTaskCompleted, RoscoTaskHeartbeat
from workers.rosco.bakery import packer
from workers.rosco.bakery.recipe import Bakery
from workers.rosco.bakery.shapes import bake_details, bake_status, stage_context
from workers.rosco.bakery.store import BakeStore, Document

log = structlog.get_logger("gennaker.rosco.bakery")
FAILED_LINES = 20


def _now() -> int:
    return int(time.time() * 1000)


def dead_owners(owners: list[str], host: str) -> list[str]:
    """The owners (``host:pid:random``) on ``host`` whose process is gone."""
    dead = []
    for owner in owners:
        parts = owner.split(":")
        if len(parts) >= 3 and parts[0] == host and parts[1].isdigit() and not process_alive(int(parts[1])):
            dead.append(owner)
    return dead


async def answer_waiters(bus: Sender, bake: Document, logs: str | None = None, *, announce: bool = True) -> None:
    """Tell every waiting Orca task how the bake ended, and (``announce``) publish that it ended."""
    status = bake_status(bake)
    success = bake.get("state") == "COMPLETED" and bake.get("result") == "SUCCESS"
    outcome: TaskOutcome
    error: str | None
    if success:
        outcome, error = "SUCCEEDED", None
    elif bake.get("state") == "CANCELED":
        outcome, error = "CANCELED", f"Bake {bake['_id']} was canceled."
    else:
        tail = "\n".join((logs or "").splitlines()[-FAILED_LINES:])
        outcome = "TERMINAL"
        error = f"{bake.get('error') or 'The bake failed.'}\n{tail}".strip()
    for waiter in bake.get("waiters") or []:
        ended = "canceled" if outcome == "CANCELED" else f"completed: {bake.get('result')}"
        context: Json = {"status": status, "bakeId": bake["_id"], "progress": f"Bake {bake['_id']} {ended}"}
        if success:
            context.update(stage_context(bake))
        else:
            context["logsTail"] = "\n".join((logs or "").splitlines()[-FAILED_LINES:])
        await bus.publish(
            RoscoTaskCompleted(
                execution_id=waiter["execution_id"],
                stage_id=waiter["stage_id"],
                task_id=waiter["task_id"],
                attempt=waiter["attempt"],
                application=waiter.get("application"),
                status=outcome,
                context=context,
                outputs=stage_context(bake) if success else {},
                error=error,
            ),
            subject=waiter["execution_id"],
        )
    if not announce:
        return
    await bus.publish(
        BakeCompleted(
            application=str(bake.get("application") or ""),
            status=status,
            bake=bake_details(bake, str(bake.get("region"))) if success else None,
        ),
        subject=str(bake["_id"]),
    )


class BakeRunner:
    """Runs queued bakes, at most ``max_concurrent`` at once (:meth:`run` is a service background loop)."""

    def __init__(
        self,
        store: BakeStore,
        bakery: Bakery,
        *,
        owner: str,
        max_concurrent: int = 2,
        lease_ms: int = 15_000,
        renew_seconds: float = 1.0,
        poll_seconds: float = 0.5,
        timeout_seconds: float = 3600.0,
    ) -> None:
        self.store = store
        self.bakery = bakery
        self.owner = owner
        self.max_concurrent = max_concurrent
        self.lease_ms = lease_ms
        self.renew_seconds = renew_seconds
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.wake = asyncio.Event()
        self.running: dict[str, asyncio.Task[None]] = {}
        self.host = socket.gethostname()

    async def run(self, bus: Bus) -> None:
        """Claim and run bakes until cancelled; a stop puts running bakes back in the queue."""
        await self.store.ensure_indexes()
        try:
            while True:
                await self._fill(bus)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
                self.wake.clear()
        finally:
            tasks = list(self.running.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _fill(self, bus: Bus) -> None:
        dead: list[str] | None = None
        while len(self.running) < self.max_concurrent:
            if dead is None:
                dead = dead_owners(await self.store.running_owners(), self.host)
            bake = await self.store.claim_next(self.owner, _now(), self.lease_ms, dead)
            if bake is None:
                return
            bake_id = str(bake["_id"])
            task = asyncio.create_task(self._bake(bus, bake), name=f"bake {bake_id}")
            self.running[bake_id] = task
            task.add_done_callback(functools.partial(self._done, bake_id))

    def _done(self, bake_id: str, _: object = None) -> None:
        self.running.pop(bake_id, None)
        self.wake.set()

    async def _bake(self, bus: Bus, bake: Document) -> None:
        bake_id = str(bake["_id"])
        run = int(bake.get("runs") or 0) + 1
        lines: list[str] = []
        if bake.get("state") == "RUNNING" and bake.get("pid"):
            stopped = packer.stop_group(int(bake["pid"]))
            lines.append(
                f"Rosco {bake.get('owner')} stopped running this bake; baking again"
                + (" (its Packer process was killed)" if stopped else "")
            )
        try:
            await self._packer(bus, bake, run, lines)
        except asyncio.CancelledError:
            await self.store.bakes.update_one(
                {"_id": bake_id, "owner": self.owner, "state": "RUNNING"},
                {"$set": {"state": "PENDING", "owner": None, "pid": None}},
            )
            raise
        except Exception as error:  # a bake that cannot run fails alone
            log.exception("rosco.bake_crashed", bake_id=bake_id)
            await self._end(bus, bake_id, {"state": "COMPLETED", "result": "FAILURE", "error": repr(error)})

    async def _packer(self, bus: Bus, bake: Document, run: int, lines: list[str]) -> None:
        bake_id = str(bake["_id"])
        command = [self.bakery.packer, *list(bake["recipe"]["command"])[1:]]
        self.bakery.config_dir.mkdir(parents=True, exist_ok=True)
        process = await packer.start(command, self.bakery.config_dir)
        await self.store.mark(bake_id, self.owner, {"pid": process.pid, "runs": run, "updated": _now()})
        seq = 0
        last_flush = time.monotonic()
        state: dict[str, Any] = {"lost": False, "last": ""}

        async def flush(force: bool = False) -> None:
            nonlocal seq, last_flush
            if not lines or (not force and time.monotonic() - last_flush < self.renew_seconds and len(lines) < 200):
                return
            chunk = lines[:]
            lines.clear()
            await self.store.append_log(bake_id, run, seq, chunk)
            seq += 1
            last_flush = time.monotonic()

        async def on_line(line: str) -> None:
            lines.append(line)
            state["last"] = line
            await flush()

        async def keep_lease() -> None:
            while True:
                await asyncio.sleep(self.renew_seconds)
                fields = {"lease_until": _now() + self.lease_ms, "updated": _now(), "progress": state["last"]}
                if not await self.store.mark(bake_id, self.owner, fields):
                    state["lost"] = True
                    packer.stop_group(process.pid)
                    return
                await flush(force=True)
                current = await self.store.bake(bake_id) or bake
                for waiter in current.get("waiters") or []:
                    await bus.publish(
                        RoscoTaskHeartbeat(
                            execution_id=waiter["execution_id"],
                            stage_id=waiter["stage_id"],
                            task_id=waiter["task_id"],
                            attempt=waiter["attempt"],
                            application=waiter.get("application"),
                            progress=f"Baking: {state['last']}"[:512],
                            context={"status": bake_status(current)},
                        ),
                        subject=waiter["execution_id"],
                    )

        renewing = asyncio.create_task(keep_lease())
        try:
            code = await asyncio.wait_for(packer.follow(process, on_line), self.timeout_seconds)
        except TimeoutError:
            packer.stop_group(process.pid)
            await process.wait()
            code = None
        except asyncio.CancelledError:
            packer.stop_group(process.pid)
            await process.wait()
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        await flush(force=True)
        if state["lost"]:
            return  # canceled (whoever canceled answered) or reclaimed by another Rosco
        logs = await self.store.log_text(bake_id)
        if code == 0:
            found = packer.scrape(str(bake["recipe"]["cloud_provider"]), str(bake["region"]), logs)
            if not found:
                found = {"image_name": bake["recipe"]["name"]}
            await self._end(bus, bake_id, {"state": "COMPLETED", "result": "SUCCESS", "made": found}, logs)
        else:
            reason = (
                f"Packer did not finish within {self.timeout_seconds:g}s"
                if code is None
                else f"Packer exited with status {code}"
            )
            await self._end(bus, bake_id, {"state": "COMPLETED", "result": "FAILURE", "error": reason}, logs)

    async def _end(self, bus: Bus, bake_id: str, fields: Document, logs: str | None = None) -> None:
        ended = await self.store.finish(bake_id, self.owner, {**fields, "updated": _now()})
        if ended is None:
            return
        log.info("rosco.bake_ended", bake_id=bake_id, result=ended.get("result"), error=ended.get("error"))
        await answer_waiters(bus, ended, logs if logs is not None else await self.store.log_text(bake_id))
