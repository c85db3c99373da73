"""Gateway read throughput against a bare aiohttp handler serving the same JSON, measured in the same run.

Workload: an application with ``--pipelines`` (100) pipeline configs, saved through the API; then
``--clients`` (50) concurrent HTTP clients, each with its own keep-alive connection, read
``GET /applications/{app}/pipelineConfigs`` for ``--seconds`` after a short warm-up. Every gateway
request checks the caller may READ the application; the list is asked of Front50 over the bus
unless Front50 has announced no change since the gateway last asked (:mod:`gateway.held_replies`),
and Front50 answers from its read cache once a (shared) check of the store's revision in MongoDB
says nothing changed (the embedded mongoeco wire server on SQLite in a temp dir, or ``--mongo-url``).

The baseline is a bare aiohttp handler in the same process returning the very bytes the gateway
answered, under the same load: what the Python HTTP stack alone costs on this machine. Both
servers run on this process's event loop; the load runs in a separate process so it does not
take the servers' CPU. Loopback only. ``--amqp-url`` runs the stack over RabbitMQ instead of the
in-process bus.

    .venv/bin/python benchmarks/gateway.py [--rounds 3] [--seconds 5] [--clients 50] [--amqp-url amqp://...]

The two servers are measured in alternating rounds (gateway, bare, gateway, bare ...), and the
medians are printed with the ratio of each round, so a machine that other work slows for a while
slows both. Beside throughput and latency, each server's CPU time per answered request in this
process (every thread) is printed: on a shared machine it moves far less than throughput does.

The last line printed is one JSON object with every figure, for comparing runs over time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gate_seed import create_application  # noqa: E402
from gennaker.commands._common import connect_bus  # noqa: E402
from gennaker.commands._runtime import host_workers, open_store, serve_gateway  # noqa: E402
from gennaker.logging import configure_logging  # noqa: E402
from gennaker.settings import Settings  # noqa: E402

APPLICATION = "benchshop"
WARM_UP_SECONDS = 2.0


def pipeline(number: int) -> dict[str, Any]:
    """A realistic pipeline config: a trigger, a parameter and a three-stage graph."""
    return {
        "application": APPLICATION,
        "name": f"deploy-{number:03d}",
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "parameterConfig": [{"name": "tag", "default": "latest", "required": True}],
        "triggers": [{"type": "cron", "enabled": True, "cronExpression": "0 0 12 ? * MON-FRI"}],
        "stages": [
            {"refId": "1", "requisiteStageRefIds": [], "type": "wait", "name": "Wait", "waitTime": 30},
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "manualJudgment", "name": "Approve"},
            {
                "refId": "3",
                "requisiteStageRefIds": ["2"],
                "type": "deployManifest",
                "name": "Deploy",
                "account": "staging",
                "cloudProvider": "kubernetes",
                "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{number}"}}],
            },
        ],
    }


async def seed(url: str, count: int) -> bytes:
    """Create the application (a task, polled) and ``count`` pipelines; returns the list's JSON bytes."""
    async with aiohttp.ClientSession(url) as session:
        await create_application(session, APPLICATION, "b@example.com", within=30)
        limit = asyncio.Semaphore(10)

        async def save(number: int) -> None:
            async with limit, session.post("/pipelines", json=pipeline(number)) as response:
                if response.status != 200:
                    raise RuntimeError(f"saving pipeline {number}: {response.status} {await response.text()}")

        await asyncio.gather(*(save(number) for number in range(count)))
        async with session.get(f"/applications/{APPLICATION}/pipelineConfigs") as response:
            response.raise_for_status()
            body = await response.read()
    listed = json.loads(body)
    if len(listed) != count:
        raise RuntimeError(f"expected {count} pipelines, the gateway lists {len(listed)}")
    return body


# --- the load (runs in a separate process) ----------------------------------------------------


def run_load(url: str, clients: int, seconds: float, expected_size: int) -> dict[str, Any]:
    """``clients`` keep-alive clients reading ``url`` for ``seconds`` after a warm-up; the figures."""
    return asyncio.run(_load(url, clients, seconds, expected_size))


async def _load(url: str, clients: int, seconds: float, expected_size: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    answered = 0
    loop = asyncio.get_running_loop()
    measuring_from = loop.time() + WARM_UP_SECONDS
    stop_at = measuring_from + seconds

    async def client() -> None:
        connector = aiohttp.TCPConnector(limit=1)
        nonlocal answered
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
            while (started := loop.time()) < stop_at:
                try:
                    async with session.get(url) as response:
                        body = await response.read()
                        problem = None if response.status == 200 else f"HTTP {response.status}"
                except (aiohttp.ClientError, TimeoutError) as error:
                    problem = type(error).__name__
                    body = b""
                if problem is None and len(body) != expected_size:
                    problem = f"body of {len(body)} bytes, expected {expected_size}"
                answered += 1
                if started >= measuring_from:
                    if problem is None:
                        latencies.append(loop.time() - started)
                    else:
                        errors[problem] = errors.get(problem, 0) + 1

    await asyncio.gather(*(client() for _ in range(clients)))
    latencies.sort()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "errors": errors,
        "answered": answered,
    }


# --- the servers --------------------------------------------------------------------------------


async def serve_bare(stack: AsyncExitStack, body: bytes) -> str:
    """A bare aiohttp server answering every GET with ``body``; returns its URL."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/applications/{application}/pipelineConfigs", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def measure(pool: ProcessPoolExecutor, base_url: str, args: argparse.Namespace, size: int) -> dict[str, Any]:
    """One round of load on ``base_url``, with this process's CPU time per answered request (every
    thread: the servers, the workers and the embedded store; the load runs in another process)."""
    url = f"{base_url}/applications/{APPLICATION}/pipelineConfigs"
    loop = asyncio.get_running_loop()
    before = resource.getrusage(resource.RUSAGE_SELF)
    figures = await loop.run_in_executor(pool, run_load, url, args.clients, args.seconds, size)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures["cpu_us"] = cpu / max(figures["answered"], 1) * 1e6
    return figures


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over ``rounds``, and every error seen."""
    errors: dict[str, int] = {}
    for figures in rounds:
        for problem, count in figures["errors"].items():
            errors[problem] = errors.get(problem, 0) + count
    keys = ("rps", "p50_ms", "p99_ms", "cpu_us")
    return {key: statistics.median(figures[key] for figures in rounds) for key in keys} | {"errors": errors}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per server per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of gateway then bare (default 3)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--pipelines", type=int, default=100, help="pipelines in the application (default 100)")
    parser.add_argument("--amqp-url", help="run the stack over this RabbitMQ instead of the in-process bus")
    parser.add_argument("--mongo-url", help="use this MongoDB instead of the embedded store")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if (args.seconds + WARM_UP_SECONDS) * 2 * args.rounds > 110:
        parser.error("--seconds times --rounds would take the run past two minutes")
    configure_logging("WARNING")

    with tempfile.TemporaryDirectory(prefix="gennaker-bench-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            gateway_host="127.0.0.1",
            gateway_port=0,
            amqp_url=args.amqp_url,
            mongo_url=args.mongo_url,
            mongo_database="gennaker_bench",
        )
        pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        pool.submit(int).result()  # start the load process before anything is timed
        async with AsyncExitStack() as stack:
            stack.callback(pool.shutdown)
            started = time.perf_counter()
            resources, store = await open_store(stack, settings, embedded=True)
            bus, bus_description = await connect_bus(settings, source="/gennaker/benchmark")
            stack.push_async_callback(bus.close)
            await host_workers(stack, bus, ("front50", "orca"), resources)
            gateway_url = await serve_gateway(stack, bus, settings)
            body = await seed(gateway_url, args.pipelines)
            bare_url = await serve_bare(stack, body)
            print(
                f"stack up and seeded in {time.perf_counter() - started:.1f}s: bus {bus_description}, "
                f"store {store.split(' ')[0]}; {args.pipelines} pipelines, {len(body):,} bytes per answer",
                flush=True,
            )
            gateway_rounds: list[dict[str, Any]] = []
            bare_rounds: list[dict[str, Any]] = []
            for _ in range(args.rounds):
                gateway_rounds.append(await measure(pool, gateway_url, args, len(body)))
                bare_rounds.append(await measure(pool, bare_url, args, len(body)))

    ratios = [g["rps"] / b["rps"] if b["rps"] else 0.0 for g, b in zip(gateway_rounds, bare_rounds, strict=True)]
    ratio = statistics.median(ratios)
    gateway, bare = medians(gateway_rounds), medians(bare_rounds)
    print(
        f"{args.clients} clients, {args.rounds} alternating rounds of {args.seconds:g}s each, "
        f"GET /applications/{APPLICATION}/pipelineConfigs (medians)"
    )
    print(f"{'':22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU us/req':>12}{'errors':>8}")
    for label, figures in (("gateway (bus+Front50)", gateway), ("bare aiohttp", bare)):
        errors = sum(figures["errors"].values())
        print(
            f"{label:22}{figures['rps']:10,.0f}{figures['p50_ms']:10.1f}{figures['p99_ms']:10.1f}"
            f"{figures['cpu_us']:12,.0f}{errors:8}"
        )
    print(f"gateway / bare throughput: median {ratio:.3f} of rounds {', '.join(f'{r:.3f}' for r in ratios)}")
    for label, figures in (("gateway", gateway), ("bare", bare)):
        if figures["errors"]:
            print(f"{label} errors: {figures['errors']}")
    summary = {
        "gateway_rps": round(gateway["rps"], 1),
        "gateway_p50_ms": round(gateway["p50_ms"], 2),
        "gateway_p99_ms": round(gateway["p99_ms"], 2),
        "gateway_cpu_us_per_request": round(gateway["cpu_us"]),
        "gateway_errors": sum(gateway["errors"].values()),
        "bare_rps": round(bare["rps"], 1),
        "bare_p50_ms": round(bare["p50_ms"], 2),
        "bare_p99_ms": round(bare["p99_ms"], 2),
        "bare_cpu_us_per_request": round(bare["cpu_us"]),
        "bare_errors": sum(bare["errors"].values()),
        "ratio": round(ratio, 4),
        "ratio_spread": [round(min(ratios), 4), round(max(ratios), 4)],
        "rounds": args.rounds,
        "clients": args.clients,
        "seconds": args.seconds,
        "pipelines": args.pipelines,
        "bytes": len(body),
        "bus": "amqp" if args.amqp_url else "memory",
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
