"""Listing executions and pipeline configs on the embedded store, as Gate's reads ask Orca and Front50.

Orca answers ``/applications/{app}/pipelines`` (an application's newest ``limit`` pipeline
executions), ``/executions?pipelineConfigIds=`` (a config's newest) and the tasks list with one
sorted, limited find (``ExecutionStore.search``); Front50 answers ``/applications/{app}/pipelineConfigs``
with the application's configs by name (``Front50Store.all``); ``/applications/{app}/executions/search``
asks Orca for the application's executions of one trigger ``eventId`` (limit 1,000). This times those reads at
``--counts`` stored executions (default 1,000 and 5,000) and ``--configs`` stored configs.

Two stores hold the same documents, each mongoeco's wire server over SQLite in a temp dir, reached
with PyMongo's async client over TCP: ``gennaker``, the engine ``gennaker up`` runs
(:mod:`gennaker.store_engine`, which serves these reads from an index), and ``mongoeco``, mongoeco's
own SQLite engine (what the reads cost before). The baseline, on the same store in the same run:
the same ``limit`` executions read one by one by ``_id`` (a key lookup each), about what any
listing must pay to bring them back. Each figure is the median of ``--rounds`` rounds, every read
and store alternating, each round the median of ``--reads`` reads; the spread (max/min of the
rounds) beside it, and the CPU time of this process per read (client, wire servers and engines all
run in it), which a busy machine inflates far less than the wall time.

Executions are ``--stages``-stage (10) pipelines of ``--apps`` applications (the one listed holds
a share of them) and some ad-hoc tasks (ORCHESTRATION), as a day of work leaves them.

    .venv/bin/python benchmarks/executions_list.py [--counts 1000 5000] [--limit 10] [--rounds 7]
        [--configs 200] [--config-kb 20] [--skip-mongoeco]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mongoeco.engines.sqlite import SQLiteEngine  # noqa: E402
from pymongo.asynchronous.database import AsyncDatabase  # noqa: E402
from ulid import ULID  # noqa: E402

from gennaker.store import mongo_client  # noqa: E402
from gennaker.store_engine import ENGINE_THREADS, string_id_engine  # noqa: E402
from gennaker.store_server import LoggingProxyServer  # noqa: E402
from schemas.authority import Authority  # noqa: E402
from schemas.orca_engine import StartExecution  # noqa: E402
from workers.front50.store import Front50Store  # noqa: E402
from workers.orca.engine.plan import new_execution  # noqa: E402
from workers.orca.engine.status import ExecutionStatus  # noqa: E402
from workers.orca.engine.store import COLLECTION, ExecutionStore, _document  # noqa: E402

LISTED = "billing"
EPOCH_MS = 1_764_000_000_000
"""When the first execution was built: epoch milliseconds, as Orca stamps ``buildTime``."""
ADMIN = Authority(user="bench", admin=True)
Read = Callable[[], Awaitable[object]]


def executions(count: int, *, apps: int, stages: int, start: int) -> list[dict[str, Any]]:
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
        execution.trigger["eventId"] = f"event-{start + n}"
        if n % 10 == 9:
            execution.type = "ORCHESTRATION"
        made.append(_document(execution))
    return made


async def save_configs(front50: Front50Store, count: int, *, apps: int, kilobytes: int) -> None:
    """``count`` pipeline configs of about ``kilobytes`` each, one in ``apps`` of the listed application."""
    filler = "x" * 1000
    for n in range(count):
        application = LISTED if n % apps == 0 else f"app{n % apps}"
        body = {
            "id": f"config-{n}",
            "application": application,
            "name": f"pipeline {n}",
            "stages": [{"refId": str(k), "type": "wait", "name": filler} for k in range(kilobytes)],
        }
        await front50.pipelines.insert_one(
            {"_id": body["id"], "applicationKey": application, "nameKey": body["name"], "body": json.dumps(body)}
        )


@contextlib.asynccontextmanager
async def serving(path: Path, engine: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """The ``gennaker`` database of a wire server over ``engine``'s SQLite engine on ``path``."""
    chosen = (
        string_id_engine(path) if engine == "gennaker" else SQLiteEngine(str(path), executor_workers=ENGINE_THREADS)
    )
    server = LoggingProxyServer(engine=chosen, host="127.0.0.1", port=0)
    address = await server.start()
    client = mongo_client(str(address.uri))
    try:
        yield client["gennaker"]
    finally:
        await client.close()
        await server.close()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "executions_list", "limit": args.limit, "rounds": args.rounds}
    engines = ["gennaker"] + ([] if args.skip_mongoeco else ["mongoeco"])
    with tempfile.TemporaryDirectory(prefix="gennaker-executions-list-") as directory:
        files = {engine: Path(directory) / f"{engine}.sqlite" for engine in engines}
        stored = 0
        for count in sorted(args.counts):
            made = executions(count - stored, apps=args.apps, stages=args.stages, start=EPOCH_MS + stored * 1000)
            for path in files.values():
                # written through gennaker's engine, whose inserts by string id scan nothing (mongoeco's
                # scan the collection per insert); the file is the same for both engines
                async with serving(path, "gennaker") as db:
                    if stored == 0:
                        await ExecutionStore(db).prepare()
                        await Front50Store(db).ensure_indexes()
                        await save_configs(Front50Store(db), args.configs, apps=args.apps * 5, kilobytes=args.config_kb)
                    for first in range(0, len(made), 500):
                        await db[COLLECTION].insert_many([dict(document) for document in made[first : first + 500]])
            stored = count
            async with contextlib.AsyncExitStack() as stack:
                reads: dict[str, Read] = {}
                for engine, path in files.items():
                    db = await stack.enter_async_context(serving(path, engine))
                    reads.update(await reads_of(engine, ExecutionStore(db), Front50Store(db), args))
                figures[str(count)] = row = await timed(reads, args)
            print_row(count, engines, row)
    return figures


async def reads_of(
    engine: str, store: ExecutionStore, front50: Front50Store, args: argparse.Namespace
) -> dict[str, Read]:
    newest = await store.search(application=LISTED, pipeline_config_ids=(), statuses=(), limit=args.limit)
    ids = [execution.id for execution in newest]
    config = f"{LISTED}-config-0"
    configs = len(await front50.all(front50.pipelines, {"applicationKey": LISTED}))

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

    event = newest[-1].trigger["eventId"]

    async def search() -> object:
        found = await store.search(
            application=LISTED,
            pipeline_config_ids=(),
            statuses=(),
            limit=1000,
            types=("PIPELINE",),
            trigger_event_id=event,
        )
        assert len(found) == 1
        return found

    async def by_id() -> object:
        return [await store.collection.find_one({"_id": execution_id}) for execution_id in ids]

    async def pipeline_configs() -> object:
        found = await front50.all(front50.pipelines, {"applicationKey": LISTED})
        assert len(found) == configs
        return found

    return {
        f"{engine}.application": application,
        f"{engine}.config": by_config,
        f"{engine}.search": search,
        f"{engine}.by_id": by_id,
        f"{engine}.pipeline_configs": pipeline_configs,
    }


async def timed(reads: dict[str, Read], args: argparse.Namespace) -> dict[str, Any]:
    for read in reads.values():
        await read()  # warm the engines' caches
    wall: dict[str, list[float]] = {name: [] for name in reads}
    cpu: dict[str, list[float]] = {name: [] for name in reads}
    for _ in range(args.rounds):
        for name, read in reads.items():
            times, cpu_times = [], []
            for _ in range(args.reads):
                began, began_cpu = time.perf_counter(), time.process_time()
                await read()
                times.append((time.perf_counter() - began) * 1000)
                cpu_times.append((time.process_time() - began_cpu) * 1000)
            wall[name].append(statistics.median(times))
            cpu[name].append(statistics.median(cpu_times))
    row: dict[str, Any] = {}
    for name in reads:
        row[f"{name}_ms"] = round(statistics.median(wall[name]), 2)
        row[f"{name}_cpu_ms"] = round(statistics.median(cpu[name]), 2)
        row[f"{name}_spread"] = round(max(wall[name]) / min(wall[name]), 2)
    return row


def print_row(count: int, engines: list[str], row: dict[str, Any]) -> None:
    for engine in engines:
        figure = {
            name: f"{row[f'{engine}.{name}_ms']:.2f} ms (cpu {row[f'{engine}.{name}_cpu_ms']:.2f}, "
            f"spread {row[f'{engine}.{name}_spread']})"
            for name in ("application", "config", "search", "by_id", "pipeline_configs")
        }
        print(
            f"{count:>6} executions, {engine:>8} engine: application list {figure['application']}, "
            f"config list {figure['config']}, search by eventId {figure['search']}; "
            f"baseline, the same by _id {figure['by_id']}; "
            f"front50 pipeline configs {figure['pipeline_configs']}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reads", type=int, default=5)
    parser.add_argument("--apps", type=int, default=2, help="applications the executions belong to")
    parser.add_argument("--stages", type=int, default=10)
    parser.add_argument("--configs", type=int, default=200, help="pipeline configs stored (a tenth of the listed app)")
    parser.add_argument("--config-kb", type=int, default=20, help="size of each pipeline config")
    parser.add_argument("--skip-mongoeco", action="store_true", help="time only the engine gennaker up runs")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args))))


if __name__ == "__main__":
    main()
