"""Orca's pipeline engine: executions per second, stage-transition latency and parked-execution memory.

Two set-ups, each against a baseline measured in the same run on the same bus:

* **embedded**: ``MemoryBus`` and the embedded store (mongoeco's wire server over SQLite in a temp
  dir, reached with PyMongo's async client, as ``gennaker up`` runs it);
* **amqp**: ``AmqpBus`` on ``--amqp-url`` and ``--mongo-url`` if given, else the same embedded
  store (there is no MongoDB on the benchmark machine; the output says which store was used).

Workload: pipelines of ``--stages`` (10) sequential ``evaluateVariables`` stages (no waits, no
timers). Latency: ``--latency-runs`` executions one after the other; a transition is the time from
receiving ``orca.stage.completed`` of stage k to receiving ``orca.stage.started`` of stage k+1, both
timestamped with ``time.perf_counter()`` on arrival at one tap consumer bound to ``orca.#`` (so the
tap's own delivery delay falls on both ends); the same gap between the envelopes' ``time`` fields
(set by Orca when it wrote the event) is printed too. Quick stages settle inside one commit
(``workers/orca/engine/settle.py``), so that gap is now the delivery of two events of one outbox;
what a stage costs is printed as well: the serial runs' wall time divided by their stages.
Throughput: ``--executions`` started at once,
timed until every ``orca.execution.completed`` arrived (with transition latency under that load).

Baseline: a bare chain of ``--stages`` commands, each handler sending the next, on the same bus with
no store and no Orca state: per-hop latency one chain at a time, and chains per second with as many
chains at once as executions.

Parked memory: in a fresh child process (so earlier phases' memory does not skew it), RSS before
and after ``--parked`` executions each parked on a ``manualJudgment`` stage (all RUNNING). The
embedded store runs in that process, so its memory counts; with ``--mongo-url`` it does not.

    .venv/bin/python benchmarks/orca.py [--executions 30] [--parked 300] [--skip-amqp] [--skip-embedded]
        [--long-stages 2000]

Wide fan-out (``--wide-stages``): one pipeline of that many parallel one-second waits (all its
stages change one execution at the same moments), with the same second user meanwhile.

Long pipeline (``--long-stages``): one pipeline of that many quick stages; its wall time per stage
beside the per-stage wall time of the short pipelines run one at a time (the issue's goal: within
2x), and a second user's ``orca.GetExecution`` reads (every 50 ms) and small pipelines (one after
another) while it runs, beside the same for ``--second-user-seconds`` with nothing else running.

The defaults are small so that a run stays under three minutes: on the embedded store the engine
manages about ten 10-stage executions per second under load. ``--parked 10000`` measures the
issue's figure directly (about 4 minutes to park them with the store in its own process, see the
README); otherwise the 10,000 figure is a linear extrapolation and is labelled so.

Orca's queues are ``gennaker.orca.*`` whatever the run: do not point ``--amqp-url`` at a broker where
another Orca consumes. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ulid import ULID  # noqa: E402

from bus import Bus, Endpoint, Envelope, MemoryBus, MessageContext  # noqa: E402
from bus.amqp import AmqpBus  # noqa: E402
from bus.service import ServiceHost  # noqa: E402
from gennaker.logging import configure_logging  # noqa: E402
from gennaker.resources import WorkerResources  # noqa: E402
from gennaker.settings import Settings  # noqa: E402
from gennaker.store import EmbeddedStore, mongo_client  # noqa: E402
from schemas import Command, message, parse_cloudevent_type  # noqa: E402
from schemas.authority import Authority  # noqa: E402
from schemas.limits import PipelineLimits  # noqa: E402
from schemas.orca_engine import GetExecution, StartExecution  # noqa: E402
from workers.orca.engine import EngineOptions  # noqa: E402
from workers.orca.worker import build_service  # noqa: E402

Json = dict[str, Any]
OPTIONS = EngineOptions(pipeline_triggers=False)
SEND_WINDOW = 100
PARKED_MARK = "parked-figures: "


@message
class BenchHop(Command):
    """One link of the baseline chain."""

    message_type: ClassVar[str] = "benchorca.Hop"
    chain: str
    hop: int
    sent_at: float


def pipeline(stages: int) -> Json:
    return {
        "id": "bench-config",
        "application": "bench",
        "name": "bench",
        "stages": [
            {
                "refId": str(n),
                "type": "evaluateVariables",
                "name": f"stage {n}",
                "requisiteStageRefIds": [str(n - 1)] if n > 1 else [],
                "variables": [{"key": f"v{n}", "value": n}],
            }
            for n in range(1, stages + 1)
        ],
    }


def parked_pipeline() -> Json:
    stage = {"refId": "1", "type": "manualJudgment", "name": "judge", "requisiteStageRefIds": []}
    return {"id": "bench-parked", "application": "bench", "name": "parked", "stages": [stage]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _median(values: list[float]) -> float:
    """The median, or NaN when a phase was too short to measure anything (a short long pipeline)."""
    return statistics.median(values) if values else float("nan")


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


@dataclass
class Tap:
    """Every ``orca.#`` event's arrival time, and a future per awaited execution."""

    stage_started: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    stage_completed: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    completed: dict[str, str] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[str]] = field(default_factory=dict)
    started_count: int = 0
    all_started: asyncio.Event = field(default_factory=asyncio.Event)
    expect_started: int = 0

    async def handle(self, envelope: Envelope, context: MessageContext) -> None:
        arrived = time.perf_counter()
        kind = parse_cloudevent_type(envelope.type)[0]
        data = envelope.data
        stamp = (arrived, envelope.time.timestamp())
        if kind == "orca.stage.started":
            self.stage_started[(data["execution_id"], data["ref_id"])] = stamp
            self.started_count += 1
            if self.expect_started and self.started_count >= self.expect_started:
                self.all_started.set()
        elif kind == "orca.stage.completed":
            self.stage_completed[(data["execution_id"], data["ref_id"])] = stamp
        elif kind == "orca.execution.completed":
            execution_id = data["execution_id"]
            self.completed[execution_id] = data["status"]
            future = self.waiting.pop(execution_id, None)
            if future is not None and not future.done():
                future.set_result(data["status"])

    def expect(self, execution_id: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting[execution_id] = future
        return future

    def transitions(self, execution_ids: list[str], stages: int) -> tuple[list[float], list[float]]:
        """Milliseconds from stage k completed to stage k+1 started: by arrival, and by envelope time."""
        local: list[float] = []
        envelope: list[float] = []
        for execution_id in execution_ids:
            for k in range(1, stages):
                done = self.stage_completed.get((execution_id, str(k)))
                started = self.stage_started.get((execution_id, str(k + 1)))
                if done is None or started is None:
                    continue
                local.append((started[0] - done[0]) * 1000)
                envelope.append((started[1] - done[1]) * 1000)
        return local, envelope


@dataclass
class Stack:
    label: str
    bus: Bus
    tap: Tap
    store_label: str


@asynccontextmanager
async def stack(kind: str, args: argparse.Namespace, data_dir: Path) -> AsyncIterator[Stack]:
    """Orca on ``kind``'s bus and store, with a tap on ``orca.#``."""
    async with contextlib.AsyncExitStack() as stack_:
        if args.mongo_url and kind == "amqp":
            url, store_label = args.mongo_url, "MongoDB at --mongo-url"
        else:
            store = EmbeddedStore(data_dir / f"{kind}.sqlite")
            url = await store.start()
            stack_.push_async_callback(store.close)
            store_label = "embedded mongoeco wire server over SQLite (no real MongoDB)"
        client = mongo_client(url)
        stack_.push_async_callback(client.close)
        database = f"gennaker_bench_{os.getpid()}"
        db = client[database]
        if args.mongo_url and kind == "amqp":
            stack_.push_async_callback(client.drop_database, database)
        bus: Bus
        if kind == "amqp":
            bus = await AmqpBus.connect(args.amqp_url, source="/bench/orca")
        else:
            bus = MemoryBus(source="/bench/orca")
        stack_.push_async_callback(bus.close)
        tap = Tap()
        consumption = await bus.consume(
            Endpoint(
                service=f"bench-orca-{os.getpid()}",
                kind="events",
                patterns=("orca.#",),
                raw_handler=tap.handle,
                durable=False,
                prefetch=256,
            )
        )
        stack_.push_async_callback(consumption.stop)
        # the long pipeline is larger than a pipeline may be by default (pipeline_limits.max_stages)
        limits = PipelineLimits(max_stages=max(PipelineLimits().max_stages, args.long_stages, args.wide_stages))
        settings = Settings(pipeline_limits=limits)
        host = ServiceHost(bus, build_service(WorkerResources(settings, db), engine=OPTIONS))
        await host.start()
        stack_.push_async_callback(host.stop)
        yield Stack(kind, bus, tap, store_label)


async def start_all(bus: Bus, config: Json, count: int) -> list[str]:
    ids = [str(ULID()) for _ in range(count)]
    for first in range(0, count, SEND_WINDOW):
        await asyncio.gather(
            *(
                bus.send(
                    StartExecution(
                        authority=Authority.anonymous_admin(),
                        execution_id=i,
                        pipeline=config,
                        trigger={"type": "manual"},
                    )
                )
                for i in ids[first : first + SEND_WINDOW]
            )
        )
    return ids


async def run_one(system: Stack, config: Json, timeout: float) -> str:
    execution_id = str(ULID())
    done = system.tap.expect(execution_id)
    await system.bus.send(
        StartExecution(
            authority=Authority.anonymous_admin(),
            execution_id=execution_id,
            pipeline=config,
            trigger={"type": "manual"},
        )
    )
    status = await asyncio.wait_for(done, timeout)
    if status != "SUCCEEDED":
        raise RuntimeError(f"execution {execution_id} ended {status}")
    return execution_id


async def orca_figures(system: Stack, args: argparse.Namespace) -> Json:
    config = pipeline(args.stages)
    await run_one(system, config, 30)  # warm-up: indexes, connections, imports
    began = time.perf_counter()
    serial = [await run_one(system, config, 30) for _ in range(args.latency_runs)]
    per_stage_ms = (time.perf_counter() - began) * 1000 / (args.latency_runs * args.stages)
    local, envelope = system.tap.transitions(serial, args.stages)

    ids = [str(ULID()) for _ in range(args.executions)]
    futures = [system.tap.expect(i) for i in ids]
    started = time.perf_counter()
    for first in range(0, len(ids), SEND_WINDOW):
        await asyncio.gather(
            *(
                system.bus.send(
                    StartExecution(
                        authority=Authority.anonymous_admin(),
                        execution_id=i,
                        pipeline=config,
                        trigger={"type": "manual"},
                    )
                )
                for i in ids[first : first + SEND_WINDOW]
            )
        )
    statuses = await asyncio.wait_for(asyncio.gather(*futures), args.timeout)
    elapsed = time.perf_counter() - started
    failed = sum(1 for status in statuses if status != "SUCCEEDED")
    loaded, _ = system.tap.transitions(ids, args.stages)
    return {
        "executions_per_s": args.executions / elapsed,
        "failed": failed,
        "transition_p50_ms": statistics.median(local),
        "transition_p99_ms": percentile(local, 99),
        "transition_envelope_p50_ms": statistics.median(envelope),
        "transition_envelope_p99_ms": percentile(envelope, 99),
        "transitions_measured": len(local),
        "loaded_transition_p50_ms": statistics.median(loaded),
        "loaded_transition_p99_ms": percentile(loaded, 99),
        "stage_cost_ms": per_stage_ms,
    }


async def second_user(
    system: Stack, config: Json, stop: asyncio.Event, period: float
) -> tuple[list[float], list[float]]:
    """Another user meanwhile: a read of an execution (``orca.GetExecution``) every ``period``
    seconds, and a small pipeline started and awaited one after another; milliseconds each."""
    reads: list[float] = []
    runs: list[float] = []
    known = await run_one(system, config, 60)

    async def read() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            await system.bus.ask(GetExecution(id=known), timeout=60)
            reads.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(period)

    async def start() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            await run_one(system, config, 120)
            runs.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(read(), start())
    return reads, runs


def wide_pipeline(stages: int) -> Json:
    """One pipeline of ``stages`` parallel one-second waits: a fan-out whose stages all change one
    execution at the same moments."""
    waits = [
        {"refId": str(i), "type": "wait", "name": f"wait {i}", "waitTime": 1, "requisiteStageRefIds": []}
        for i in range(1, stages + 1)
    ]
    return {"application": "bench", "name": "wide", "stages": waits}


async def crowd_figures(system: Stack, args: argparse.Namespace, config: Json, stages: int, prefix: str) -> Json:
    """One big pipeline (``config``, of ``stages`` stages): its cost per stage, and a second user's
    reads and small pipelines meanwhile beside the same with nothing else running."""
    small = pipeline(args.stages)
    stop = asyncio.Event()
    idle = asyncio.create_task(second_user(system, small, stop, 0.05))
    await asyncio.sleep(args.second_user_seconds)
    stop.set()
    idle_reads, idle_runs = await idle
    stop.clear()
    meanwhile = asyncio.create_task(second_user(system, small, stop, 0.05))
    began = time.perf_counter()
    await run_one(system, config, args.timeout)
    elapsed = time.perf_counter() - began
    stop.set()
    reads, runs = await meanwhile
    return {
        f"{prefix}_stages": stages,
        f"{prefix}_seconds": elapsed,
        f"{prefix}_stage_cost_ms": elapsed * 1000 / stages,
        f"{prefix}_idle_read_p50_ms": _median(idle_reads),
        f"{prefix}_idle_read_p99_ms": percentile(idle_reads, 99),
        f"{prefix}_idle_small_run_p50_ms": _median(idle_runs),
        f"{prefix}_read_p50_ms": _median(reads),
        f"{prefix}_read_p99_ms": percentile(reads, 99),
        f"{prefix}_read_max_ms": max(reads, default=float("nan")),
        f"{prefix}_small_run_p50_ms": _median(runs),
        f"{prefix}_small_run_max_ms": max(runs, default=float("nan")),
        f"{prefix}_small_runs": len(runs),
    }


async def baseline_figures(bus: Bus, args: argparse.Namespace) -> Json:
    """A chain of ``--stages`` commands, each handler sending the next: the bus alone."""
    hops: list[float] = []
    record = False
    finished: dict[str, asyncio.Future[None]] = {}
    service = f"benchorca{os.getpid()}"

    async def handle(hop: BenchHop, context: MessageContext) -> None:
        if record:
            hops.append((time.perf_counter() - hop.sent_at) * 1000)
        if hop.hop + 1 < args.stages:
            await bus.send(BenchHop(chain=hop.chain, hop=hop.hop + 1, sent_at=time.perf_counter()), to=service)
        else:
            future = finished.pop(hop.chain, None)
            if future is not None:
                future.set_result(None)

    async def chain() -> None:
        name = str(ULID())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        finished[name] = future
        await bus.send(BenchHop(chain=name, hop=0, sent_at=time.perf_counter()), to=service)
        await asyncio.wait_for(future, args.timeout)

    consumption = await bus.consume(
        Endpoint(service=service, kind="commands", handlers={BenchHop.message_type: handle})
    )
    try:
        await chain()
        record = True
        for _ in range(args.latency_runs):
            await chain()
        record = False
        serial = list(hops)
        started = time.perf_counter()
        await asyncio.gather(*(chain() for _ in range(args.executions)))
        elapsed = time.perf_counter() - started
    finally:
        await consumption.stop()
        if isinstance(bus, AmqpBus):
            await delete_queue(args.amqp_url, f"gennaker.{service}.commands")
    return {
        "chains_per_s": args.executions / elapsed,
        "hop_p50_ms": statistics.median(serial),
        "hop_p99_ms": percentile(serial, 99),
    }


async def delete_queue(url: str, name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
            await channel.queue_delete(name)


async def parked_child(kind: str, args: argparse.Namespace) -> None:
    """In a fresh process: RSS before and after ``--parked`` executions waiting on a judgment."""
    with tempfile.TemporaryDirectory() as data_dir:
        async with stack(kind, args, Path(data_dir)) as system:
            warm = parked_pipeline()
            system.tap.expect_started = 1
            await start_all(system.bus, warm, 1)  # warm-up: one parked execution
            await asyncio.wait_for(system.tap.all_started.wait(), 30)
            await asyncio.sleep(0.5)
            gc.collect()
            before = rss_mib()
            system.tap.all_started.clear()
            system.tap.expect_started = 1 + args.parked
            started = time.perf_counter()
            await start_all(system.bus, warm, args.parked)
            await asyncio.wait_for(system.tap.all_started.wait(), args.timeout)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)  # let each judgment task run once and park
            gc.collect()
            after = rss_mib()
            figures = {"before_mib": before, "after_mib": after, "seconds": elapsed}
    print(PARKED_MARK + json.dumps(figures), flush=True)


def parked_figures(kind: str, args: argparse.Namespace) -> Json:
    command = [sys.executable, __file__, "--parked-child", kind, "--parked", str(args.parked)]
    command += ["--amqp-url", args.amqp_url, "--timeout", str(args.timeout)]
    if args.mongo_url:
        command += ["--mongo-url", args.mongo_url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout + 60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"parked run failed: {result.stderr[-2000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith(PARKED_MARK))
    figures: Json = json.loads(line.removeprefix(PARKED_MARK))
    extra = figures["after_mib"] - figures["before_mib"]
    return {
        "parked": args.parked,
        "parked_extra_mib": extra,
        "parked_kib_each": extra * 1024 / args.parked,
        "parked_extra_mib_at_10000": extra * 10_000 / args.parked,
        "parked_start_seconds": figures["seconds"],
    }


def report_crowd(figures: Json, prefix: str, what: str, orca: Json) -> None:
    f = {key.removeprefix(f"{prefix}_"): value for key, value in figures.items()}
    ratio = f["stage_cost_ms"] / orca["stage_cost_ms"]
    print(
        f"  {what:<17} {f['stages']:,} stages in {f['seconds']:.1f} s: "
        f"{f['stage_cost_ms']:.2f} ms per stage, {ratio:.2f}x a {orca['stage_cost_ms']:.2f} ms stage of the "
        "short pipelines run one at a time"
    )
    print(
        f"    second user     read p50 {f['read_p50_ms']:.1f} ms p99 {f['read_p99_ms']:.1f} ms "
        f"max {f['read_max_ms']:.1f} ms, small pipeline p50 {f['small_run_p50_ms']:.0f} ms "
        f"max {f['small_run_max_ms']:.0f} ms ({f['small_runs']} runs) meanwhile; idle: read p50 "
        f"{f['idle_read_p50_ms']:.1f} ms p99 {f['idle_read_p99_ms']:.1f} ms, small pipeline p50 "
        f"{f['idle_small_run_p50_ms']:.0f} ms"
    )


def report(kind: str, store_label: str, orca: Json, base: Json, parked: Json | None, goal_ms: float) -> None:
    print(f"== {kind}: {store_label}")
    print(
        f"  baseline chain    hop p50 {base['hop_p50_ms']:6.2f} ms  p99 {base['hop_p99_ms']:6.2f} ms   "
        f"{base['chains_per_s']:8,.1f} chains/s (bare bus, no store)"
    )
    print(
        f"  orca transition   p50 {orca['transition_p50_ms']:6.2f} ms  p99 {orca['transition_p99_ms']:6.2f} ms   "
        f"(goal p50 <= {goal_ms:g} ms; {orca['transitions_measured']} transitions, one execution at a time, "
        "arrival times)"
    )
    print(
        f"    by envelope time p50 {orca['transition_envelope_p50_ms']:6.2f} ms  "
        f"p99 {orca['transition_envelope_p99_ms']:6.2f} ms"
    )
    print(f"    per stage        {orca['stage_cost_ms']:6.2f} ms (the one-at-a-time runs' wall time / their stages)")
    print(
        f"  orca throughput   {orca['executions_per_s']:8,.1f} executions/s   "
        f"({orca['executions_per_s'] / base['chains_per_s']:.4f}x baseline chains/s; {orca['failed']} not SUCCEEDED); "
        f"transition under that load p50 {orca['loaded_transition_p50_ms']:.1f} ms "
        f"p99 {orca['loaded_transition_p99_ms']:.1f} ms"
    )
    if parked is not None:
        counted = "store included" if "embedded" in store_label else "store not in this process"
        line = f"  parked            {parked['parked_extra_mib']:6.1f} MiB extra RSS for {parked['parked']:,}"
        line += f" manualJudgment executions ({parked['parked_kib_each']:.1f} KiB each; {counted})"
        print(line)
        if parked["parked"] != 10_000:
            print(
                f"    extrapolated to 10,000: {parked['parked_extra_mib_at_10000']:.0f} MiB "
                "(linear, NOT measured; goal <= 200 MiB)"
            )
        else:
            print("    goal <= 200 MiB")
    print(flush=True)


async def run(kind: str, args: argparse.Namespace, goal_ms: float) -> Json:
    with tempfile.TemporaryDirectory() as data_dir:
        async with stack(kind, args, Path(data_dir)) as system:
            orca = await orca_figures(system, args)
            base = await baseline_figures(system.bus, args)
            long = None
            if args.long_stages > 0:
                long = await crowd_figures(system, args, pipeline(args.long_stages), args.long_stages, "long")
            wide = None
            if args.wide_stages > 0:
                wide = await crowd_figures(system, args, wide_pipeline(args.wide_stages), args.wide_stages, "wide")
            store_label = system.store_label
    parked = None if args.parked <= 0 else await asyncio.to_thread(parked_figures, kind, args)
    report(kind, store_label, orca, base, parked, goal_ms)
    if long is not None:
        report_crowd(long, "long", "long pipeline", orca)
    if wide is not None:
        report_crowd(wide, "wide", "wide fan-out", orca)
    crowds = {**(long or {}), **(wide or {})}
    figures = {f"{kind}_{key}": value for key, value in {**orca, **base, **(parked or {}), **crowds}.items()}
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-url", default=os.environ.get("GENNAKER_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--mongo-url", default=None, help="a real MongoDB for the amqp set-up")
    parser.add_argument("--stages", type=int, default=10)
    parser.add_argument("--executions", type=int, default=30, help="started at once for executions/s")
    parser.add_argument("--latency-runs", type=int, default=20, help="executions run one at a time for latency")
    parser.add_argument("--parked", type=int, default=300, help="executions parked for RSS (0 skips)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds any one phase may take")
    parser.add_argument(
        "--long-stages", type=int, default=0, help="stages of one long pipeline, with a second user meanwhile (0 skips)"
    )
    parser.add_argument(
        "--wide-stages",
        type=int,
        default=0,
        help="parallel one-second waits of one wide pipeline, with a second user meanwhile (0 skips)",
    )
    parser.add_argument("--second-user-seconds", type=float, default=5.0, help="the second user's idle baseline")
    parser.add_argument("--skip-amqp", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--parked-child", choices=("embedded", "amqp"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure_logging("WARNING", stream=sys.stderr)
    if args.parked_child:
        await parked_child(args.parked_child, args)
        return
    figures: Json = {"stages": args.stages, "executions": args.executions, "parked": args.parked}
    if not args.skip_embedded:
        figures.update(await run("embedded", args, 5.0))
    if not args.skip_amqp:
        figures.update(await run("amqp", args, 10.0))
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
