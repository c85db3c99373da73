"""The embedded store's resident memory under Orca's writes and Gate's reads: a leak, or caches that stop?

``gennaker store serve`` runs in a process of its own on a temp SQLite file (as the RabbitMQ set-up
runs it); this process drives it through PyMongo as Orca does (``ExecutionStore``): each tick
stores a new ``--stages``-stage execution and moves it through every stage (one compare-and-set
write per stage, with its outbox entry, then the delivered entry pulled), and reads as Gate does
(the application's newest executions, one execution, some statuses). Two phases of ``--seconds``
each:

* **growing**: every tick adds an execution, as a day of work does (the data grows, and with it
  whatever the engine keeps per page or per document);
* **steady**: the same work on the last ``--steady-set`` executions over and over (their stages
  reset and run again), so the data stops growing: memory that still grows here is a leak.

The store's RSS is read from ``/proc`` every ``--sample-seconds``. Printed per phase: RSS at its
start and end, the least-squares slope (MiB per minute) over its second half, and the ticks done.
Baseline, the same run: the same process's RSS idle for ``--idle-seconds`` before the load starts
(what an unloaded store does on its own).

    .venv/bin/python benchmarks/store_memory.py [--seconds 300] [--steady-set 50] [--stages 10]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ulid import ULID  # noqa: E402

from gennaker.store import mongo_client  # noqa: E402
from schemas.authority import Authority  # noqa: E402
from schemas.orca_engine import StartExecution  # noqa: E402
from workers.orca.engine.model import Execution, OutboxEntry  # noqa: E402
from workers.orca.engine.plan import new_execution  # noqa: E402
from workers.orca.engine.status import ExecutionStatus  # noqa: E402
from workers.orca.engine.store import ExecutionStore, state  # noqa: E402

ADMIN = Authority(user="bench", admin=True)
APPLICATION = "soak"


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """The least-squares slope of (seconds, MiB) ``samples``, in MiB per minute."""
    if len(samples) < 2:
        return 0.0
    times, values = [at for at, _ in samples], [mib for _, mib in samples]
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    spread = sum((at - mean_t) ** 2 for at in times)
    return 60 * sum((at - mean_t) * (mib - mean_v) for at, mib in samples) / spread if spread else 0.0


def fresh(stages: int, at: int) -> Execution:
    steps = [{"refId": str(k), "type": "wait", "name": f"wait {k}", "waitTime": 0} for k in range(stages)]
    pipeline = {"id": "soak-quick", "application": APPLICATION, "name": "quick", "stages": steps}
    return new_execution(StartExecution(authority=ADMIN, execution_id=str(ULID()), pipeline=pipeline), at)


async def run_through(store: ExecutionStore, execution: Execution) -> None:
    """Every stage RUNNING then SUCCEEDED, one write each with an outbox entry, delivered after."""
    for stage in execution.stages:
        for status in (ExecutionStatus.RUNNING, ExecutionStatus.SUCCEEDED):
            loaded = state(execution)
            stage.status = status
            stage.context["at"] = time.time_ns()
            entry = OutboxEntry(id=str(ULID()), envelope={"stage": stage.id, "status": status.value}, to="orca")
            await store.save(execution, [entry], loaded=loaded)
            await store.delivered(execution.id, [entry.id])
            execution.outbox.clear()


async def tick(store: ExecutionStore, execution: Execution, *, insert: bool) -> None:
    if insert:
        assert await store.insert(execution)
    else:
        loaded = state(execution)
        for stage in execution.stages:
            stage.status = ExecutionStatus.NOT_STARTED
        await store.save(execution, [], loaded=loaded)
    await run_through(store, execution)
    await store.search(application=APPLICATION, pipeline_config_ids=(), statuses=(), limit=10, types=("PIPELINE",))
    await store.get(execution.id)
    await store.statuses([execution.id])


async def phase(
    store: ExecutionStore, pid: int, args: argparse.Namespace, steady: list[Execution] | None
) -> dict[str, Any]:
    began = time.monotonic()
    samples: list[tuple[float, float]] = [(0.0, rss_mib(pid))]
    next_sample, ticks, made = began + args.sample_seconds, 0, []
    while (now := time.monotonic()) < began + args.seconds:
        if steady is None:
            execution = fresh(args.stages, int(time.time() * 1000))
            made.append(execution)
            await tick(store, execution, insert=True)
        else:
            await tick(store, steady[ticks % len(steady)], insert=False)
        ticks += 1
        if now >= next_sample:
            samples.append((now - began, rss_mib(pid)))
            next_sample += args.sample_seconds
    samples.append((time.monotonic() - began, rss_mib(pid)))
    second_half = [sample for sample in samples if sample[0] >= args.seconds / 2]
    return {
        "ticks": ticks,
        "rss_start_mib": round(samples[0][1], 1),
        "rss_end_mib": round(samples[-1][1], 1),
        "slope_second_half_mib_per_min": round(slope_per_minute(second_half), 3),
        "samples": [(round(at), round(mib, 1)) for at, mib in samples],
        "made": made,
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "store_memory", "seconds": args.seconds, "stages": args.stages}
    with tempfile.TemporaryDirectory(prefix="gennaker-store-memory-") as directory:
        port = free_port()
        command = [sys.executable, "-m", "gennaker.cli", "store", "serve", "--port", str(port)]
        command += ["--path", str(Path(directory) / "store.sqlite")]
        server = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            client = mongo_client(f"mongodb://127.0.0.1:{port}/?directConnection=true", timeout=30)
            await client.admin.command("ping")
            store = ExecutionStore(client["gennaker"])
            await store.prepare()
            idle_start = rss_mib(server.pid)
            await asyncio.sleep(args.idle_seconds)
            figures["idle"] = {"rss_start_mib": round(idle_start, 1), "rss_end_mib": round(rss_mib(server.pid), 1)}
            growing = await phase(store, server.pid, args, None)
            steady_set = growing.pop("made")[-args.steady_set :]
            print_phase("growing", growing)
            steady = await phase(store, server.pid, args, steady_set)
            steady.pop("made")
            print_phase("steady", steady)
            figures.update(growing=growing, steady=steady)
            print(f"idle: {figures['idle']['rss_start_mib']} -> {figures['idle']['rss_end_mib']} MiB", flush=True)
            await client.close()
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 30)
    return figures


def print_phase(name: str, figures: dict[str, Any]) -> None:
    print(
        f"{name:>8}: {figures['ticks']} ticks, store RSS {figures['rss_start_mib']} -> {figures['rss_end_mib']} MiB, "
        f"slope over the second half {figures['slope_second_half_mib_per_min']} MiB/min; "
        f"samples {figures['samples']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300.0, help="seconds of each phase (default 300)")
    parser.add_argument("--steady-set", type=int, default=50, help="executions the steady phase works on")
    parser.add_argument("--stages", type=int, default=10)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args))))


if __name__ == "__main__":
    main()
