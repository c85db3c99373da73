"""Listing executions on the embedded store: Orca's ``ExecutionStore.search`` as Gate's reads ask it.

Orca answers ``/applications/{app}/pipelines`` (an application's newest ``limit`` pipeline
executions), ``/executions?pipelineConfigIds=`` (a config's newest) and the tasks list with one
sorted, limited find. This times those finds at ``--counts`` stored executions (default 1,000 and
5,000), on the embedded store as ``gennaker up`` runs it (mongoeco's wire server over SQLite in a
temp dir, reached with PyMongo's async client over TCP).

Baseline, measured in the same run on the same store: the same ``limit`` documents read one by one
by ``_id`` (a key lookup each), about what any listing must pay to bring them back. Each
figure is the median of ``--rounds`` rounds, the listing and the baseline alternating, each round
the median of ``--reads`` reads; the spread (max/min of the rounds) is printed beside it, and the
CPU time of the process per read (client, wire server and engine all run in it), which a busy
machine inflates far less than the wall time.

Executions are ``--stages``-stage (10) pipelines of ``--apps`` applications (the one listed holds
a share of them) and some ad-hoc tasks (ORCHESTRATION), as a day of work leaves them.

    .venv/bin/python benchmarks/executions_list.py [--counts 1000 5000] [--limit 10] [--rounds 7]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ulid import ULID  # noqa: E402

from gennaker.store import EmbeddedStore, mongo_client  # noqa: E402
from schemas.authority import Authority  # noqa: E402
from schemas.orca_engine import StartExecution  # noqa: E402
from workers.orca.engine.plan import new_execution  # noqa: E402
from workers.orca.engine.status import ExecutionStatus  # noqa: E402
from workers.orca.engine.store import ExecutionStore, _document  # noqa: E402

LISTED = "billing"
EPOCH_MS = 1_764_000_000_000
"""When the first execution was built: epoch milliseconds, as Orca stamps ``buildTime``."""
ADMIN = Authority(user="bench", admin=True)


def documents(count: int, *, apps: int, stages: int, start: int) -> list[dict[str, Any]]:
    """``count`` finished executions, one in ``apps`` of the listed application, every tenth a task."""
    made = []
    for n in range(count):
        application = LISTED if n % apps == 0 else f"app{n % apps}"
        config = f"{application}-config-{n % 3}"
        steps = [
            {"refId": str(k), "type": "wait", "name": f"wait {k}", "waitTime": 0, "requisiteStageRefIds": [str(k - 1)]}
            for k in range(1, stages + 1)
        ]
        steps[0]["requisiteStageRefIds"] = []
        pipeline = {"id": config, "application": application, "name": "deploy", "stages": steps}
        command = StartExecution(authority=ADMIN, execution_id=str(ULID()), pipeline=pipeline)
        execution = new_execution(command, start + n * 1000)
        execution.status = ExecutionStatus.SUCCEEDED
        if n % 10 == 9:
            execution.type = "ORCHESTRATION"
        made.append(_document(execution))
    return made


async def median_ms(read: Callable[[], Awaitable[object]], reads: int) -> tuple[float, float]:
    """The median wall time of one ``read`` and its median CPU time (this process's: the client,
    the store and its engine thread all run here), in milliseconds."""
    wall, cpu = [], []
    for _ in range(reads):
        began, began_cpu = time.perf_counter(), time.process_time()
        await read()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "executions_list", "limit": args.limit, "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="gennaker-executions-list-") as directory:
        async with EmbeddedStore(Path(directory) / "store.sqlite") as embedded:
            client = mongo_client(embedded.url)
            try:
                store = ExecutionStore(client["gennaker"])
                await store.prepare()
                stored = 0
                for count in sorted(args.counts):
                    made = documents(count - stored, apps=args.apps, stages=args.stages, start=EPOCH_MS + stored * 1000)
                    for first in range(0, len(made), 500):
                        await store.collection.insert_many(made[first : first + 500])
                    stored = count
                    figures[str(count)] = await measure_at(store, args)
                    print_row(count, figures[str(count)])
            finally:
                await client.close()
    return figures


async def measure_at(store: ExecutionStore, args: argparse.Namespace) -> dict[str, Any]:
    newest = await store.search(application=LISTED, pipeline_config_ids=(), statuses=(), limit=args.limit)
    ids = [execution.id for execution in newest]
    config = f"{LISTED}-config-0"

    async def application() -> object:
        found = await store.search(
            application=LISTED, pipeline_config_ids=(), statuses=(), limit=args.limit, types=("PIPELINE",)
        )
        assert len(found) == args.limit
        return found

    async def by_config() -> object:
        found = await store.search(
            application=None, pipeline_config_ids=[config], statuses=(), limit=args.limit, types=("PIPELINE",)
        )
        assert len(found) == args.limit
        return found

    async def by_id() -> object:
        return [await store.collection.find_one({"_id": execution_id}) for execution_id in ids]

    reads: dict[str, Callable[[], Awaitable[object]]] = {
        "application": application,
        "config": by_config,
        "by_id": by_id,
    }
    for read in reads.values():
        await read()  # warm the engine's caches
    rounds: dict[str, list[float]] = {name: [] for name in reads}
    cpu: dict[str, list[float]] = {name: [] for name in reads}
    for _ in range(args.rounds):
        for name, read in reads.items():
            wall_ms, cpu_ms = await median_ms(read, args.reads)
            rounds[name].append(wall_ms)
            cpu[name].append(cpu_ms)
    row: dict[str, Any] = {}
    for name, values in rounds.items():
        row[f"{name}_ms"] = round(statistics.median(values), 2)
        row[f"{name}_spread"] = round(max(values) / min(values), 2)
        row[f"{name}_cpu_ms"] = round(statistics.median(cpu[name]), 2)
    row["application_vs_by_id"] = round(row["application_ms"] / row["by_id_ms"], 2)
    return row


def print_row(count: int, row: dict[str, Any]) -> None:
    print(
        f"{count:>6} executions: application list p50 {row['application_ms']:.2f} ms "
        f"(cpu {row['application_cpu_ms']:.2f}, spread {row['application_spread']}), "
        f"config list {row['config_ms']:.2f} ms (cpu {row['config_cpu_ms']:.2f}, spread {row['config_spread']}); "
        f"baseline, the same documents by _id {row['by_id_ms']:.2f} ms (cpu {row['by_id_cpu_ms']:.2f}, "
        f"spread {row['by_id_spread']}) -> list {row['application_vs_by_id']}x baseline",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reads", type=int, default=9)
    parser.add_argument("--apps", type=int, default=2, help="applications the executions belong to")
    parser.add_argument("--stages", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args))))


if __name__ == "__main__":
    main()
