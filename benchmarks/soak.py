"""A day's load in miniature: a fixed-rate mix of triggers, reads, webhooks and event-stream
subscribers against a running Gennaker, reporting latency per endpoint, resident memory over time
and anything lost.

Set-ups (``--setup``): ``up`` is one ``gennaker up`` process (in-process bus, embedded store);
``amqp`` is the distributed layout on RabbitMQ — ``gennaker store serve``, one ``gennaker worker
NAME`` process per service and ``gennaker gateway`` — in a virtual host created for the run and
deleted after it (``--amqp-url`` names the broker; ``rabbitmqctl`` must be on PATH). Both run in
a temporary data directory, on ports of their own.

The mix, open-loop (each kind on its own clock, whether or not earlier requests answered), after an
application ``soak`` and a few pipelines are saved:

* ``--triggers`` per second ``POST /pipelines/soak/quick`` (a 1 s ``wait``, then ``evaluateVariables``);
* ``--webhooks`` per second ``POST /webhooks/webhook/<source>``, which Echo turns into an execution
  of ``hooked`` (``evaluateVariables``, then a 0 s ``wait``);
* ``--reads`` per second, in turn: ``/applications``, the application's ``pipelineConfigs``, its
  executions, the newest triggered execution, and a pipeline config that does not exist (an
  expected 404);
* ``--subscribers`` clients of ``GET /events/stream`` (the first following ``#``, the others
  ``orca.execution.*``), connected before the mix starts.

A follower finds each webhook's execution by its ``eventId`` (``/applications/soak/executions/search``)
and reads the unfinished executions' status every 2 s (``/executions?executionIds=``); its requests
are figures of their own. After ``--seconds`` the mix stops and the follower goes on for at most
``--drain-seconds`` until every execution finished and every subscriber saw its completion.

Lost is anything of: an execution asked for but never found (``not_found``) or never finished
(``not_finished``), one that finished other than SUCCEEDED, a webhook that started two, a subscriber
that missed an execution's ``orca.execution.completed`` or saw it twice, a request answered 5xx,
an unexpected 4xx, or not answered (connection error, 30 s timeout), and a tick of the mix that
found ``MAX_IN_FLIGHT`` requests still waiting (backlog). Each process's resident memory is read
from ``/proc`` every ``--sample-seconds``; its growth is the median of the last third of the
samples taken after ``--warm-up`` minus that of the first third (and the least-squares slope), and
growth above ``--max-growth-mib`` is flagged. Latencies count after the warm-up; losses all along.
The services' own warnings and errors (their JSON logs) are counted too.

Baseline, same run, after the set-up is stopped: a bare aiohttp server in its own process answering
every request of the same mix, at the same rates, with the bytes the gateway answered (the event
stream: a comment, then heartbeats), for ``--baseline-seconds``: what the HTTP stack and this load
generator cost on this machine at this moment.

    .venv/bin/python benchmarks/soak.py [--setup up|amqp] [--seconds 60] [--triggers 1] [--webhooks 0.5]
        [--reads 6] [--subscribers 3] [--amqp-url amqp://guest:guest@127.0.0.1:5672/] [--keep-logs DIR]

Exit status 1 when anything was lost or memory grew past the threshold. The last line printed is
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
from ulid import ULID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gate_seed import create_application  # noqa: E402
from benchmarks.soak_load import APPLICATION, HOOKED, QUICK, TERMINAL, Mix, Traffic  # noqa: E402
from benchmarks.soak_stack import (  # noqa: E402
    Stack,
    healthy,
    resident_bytes,
    running,
    start_distributed,
    start_up,
)
from benchmarks.soak_summary import MIB, growth, latency_figures, percentile  # noqa: E402
from gennaker.host import free_port  # noqa: E402
from tests.broker import own_vhost  # noqa: E402

FILLERS = 8
"""Pipelines besides the two the mix runs, so the configs read is an application's, not a toy's."""
BARE = """
import asyncio, json, sys
from aiohttp import web
canned = json.loads(open(sys.argv[1]).read())
async def answer(request):
    endpoint = request.headers.get("X-Soak-Endpoint", "")
    await request.read()
    if endpoint == "events/stream":
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            await response.write(b": following\\n\\n")
            while True:
                await asyncio.sleep(5)
                await response.write(b": heartbeat\\n\\n")
        except ConnectionError:
            return response
    status, body = canned[endpoint]
    return web.Response(status=status, body=body.encode(), content_type="application/json")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


def stages(*kinds: str) -> list[dict[str, Any]]:
    """A chain of cheap stages: ``wait1`` (1 s), ``wait0`` (0 s) or ``variables``."""
    made: list[dict[str, Any]] = []
    for number, kind in enumerate(kinds, start=1):
        stage: dict[str, Any] = {"refId": str(number), "requisiteStageRefIds": [str(number - 1)] if number > 1 else []}
        if kind.startswith("wait"):
            stage.update(type="wait", name="Wait", waitTime=int(kind[4:]))
        else:
            stage.update(type="evaluateVariables", name="Variables", variables=[{"key": "soak", "value": "${1 + 1}"}])
        made.append(stage)
    return made


def pipelines(source: str) -> list[dict[str, Any]]:
    """The two pipelines the mix runs, and the fillers."""
    common = {"application": APPLICATION, "limitConcurrent": False, "keepWaitingPipelines": False}
    hook = {"type": "webhook", "enabled": True, "source": source}
    return [
        {**common, "name": QUICK, "stages": stages("wait1", "variables")},
        {**common, "name": HOOKED, "triggers": [hook], "stages": stages("variables", "wait0")},
        *({**common, "name": f"filler-{n}", "stages": stages("wait1", "variables", "wait1")} for n in range(FILLERS)),
    ]


async def seed(url: str, source: str) -> None:
    """The application, its pipelines, and one webhook seen to start ``hooked`` (Echo knows it)."""
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await create_application(session, APPLICATION, "s@example.com", within=60)
        for pipeline in pipelines(source):
            async with session.post("/pipelines", json=pipeline) as response:
                if response.status != 200:
                    raise RuntimeError(f"saving {pipeline['name']}: {response.status} {await response.text()}")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            async with session.post(f"/webhooks/webhook/{source}", json={"branch": "seed"}) as response:
                event_id = (await response.json())["eventId"]
            for _ in range(10):
                await asyncio.sleep(0.5)
                params = {"eventId": event_id, "triggerTypes": "webhook"}
                async with session.get(f"/applications/{APPLICATION}/executions/search", params=params) as response:
                    if response.status == 200 and await response.json():
                        return
        raise RuntimeError(f"Echo started no execution of {HOOKED} for a webhook in 90 s")


async def canned_answers(url: str, traffic: Traffic) -> dict[str, tuple[int, str]]:
    """What the gateway answers each endpoint of the mix, for the baseline server to repeat."""
    known = next((s.execution_id for s in traffic.triggered if s.execution_id), "none")
    reads = {
        "applications": "/applications",
        "pipelineConfigs": f"/applications/{APPLICATION}/pipelineConfigs",
        "executions": f"/applications/{APPLICATION}/pipelines?limit=20&expand=false",
        "execution": f"/pipelines/{known}",
        "missing (404)": f"/applications/{APPLICATION}/pipelineConfigs/no-such-pipeline",
    }
    canned = {
        "trigger": (202, json.dumps({"ref": f"/pipelines/{known}"})),
        "webhook": (200, json.dumps({"eventProcessed": True, "eventId": str(ULID())})),
    }
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=30)) as session:
        for endpoint, path in reads.items():
            async with session.get(path) as response:
                canned[endpoint] = (response.status, await response.text())
    return canned


class Sampler:
    """Reads every process's resident memory every few seconds while the mix runs."""

    def __init__(self, stack: Stack | None, pid: int | None, every: float) -> None:
        self.stack, self.pid, self.every = stack, pid, every
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.exited: list[str] = []

    def now(self) -> dict[str, int]:
        if self.stack is not None:
            return self.stack.resident_bytes()
        return {"bare aiohttp": resident_bytes(self.pid or 0)}

    async def run(self, traffic: Traffic, progress: bool) -> None:
        while True:
            rss = self.now()
            self.samples.append((time.monotonic(), rss))
            if self.stack is not None and not self.exited:
                self.exited = self.stack.exited()
            if progress and len(self.samples) % max(1, round(15 / self.every)) == 0:
                done = sum(1 for s in (*traffic.triggered, *traffic.webhooks.values()) if s.status in TERMINAL)
                asked = len(traffic.triggered) + len(traffic.webhooks)
                print(
                    f"  t={time.monotonic() - traffic.tally.started:5.0f}s  executions finished {done}/{asked}  "
                    f"failed requests {traffic.tally.failures()}  rss {sum(rss.values()) / MIB:,.0f} MiB",
                    flush=True,
                )
            await asyncio.sleep(self.every)

    def growth(self, start: float, end: float) -> dict[str, Any]:
        """Each process's growth between ``start`` and ``end`` (monotonic), and all together as ``total``."""
        window = [(at, rss) for at, rss in self.samples if start <= at <= end]
        names = list(window[0][1]) if window else []
        found = {name: growth([(at - start, rss[name]) for at, rss in window]) for name in names}
        found["total"] = growth([(at - start, sum(rss.values())) for at, rss in window])
        return found


async def drive(url: str, mix: Mix, sampler: Sampler, drain_seconds: float, *, follow: bool) -> tuple[Traffic, float]:
    """Run the mix against ``url`` with memory sampled; the traffic and the drain's seconds."""
    traffic = Traffic(url, mix, follow=follow)
    sampling = asyncio.create_task(sampler.run(traffic, progress=follow))
    try:
        drain = await traffic.run(drain_seconds)
    finally:
        sampling.cancel()
    return traffic, drain


def losses(traffic: Traffic) -> dict[str, int]:
    """What the run lost, by kind (all zero is a clean run)."""
    asked = [*traffic.triggered, *traffic.webhooks.values()]
    answered = [s for s in asked if s.execution_id is not None or s.how == "webhook"]
    found = [s for s in asked if s.execution_id is not None and s.status is not None]
    finished = {s.execution_id for s in found if s.status in TERMINAL}
    missed = sum(len(finished - set(subscriber.completions)) for subscriber in traffic.subscribers)
    return {
        "not_found": len(answered) - len(found),
        "not_finished": len(found) - len(finished),
        "not_succeeded": sum(1 for s in found if s.status in TERMINAL and s.status != "SUCCEEDED"),
        "webhooks_doubled": len(traffic.doubled),
        "completions_missed": missed,
        "completions_twice": sum(subscriber.duplicates for subscriber in traffic.subscribers),
        "http_5xx": sum(traffic.tally.server_errors.values()),
        "http_unexpected_4xx": sum(traffic.tally.unexpected_4xx.values()),
        "connection_errors": sum(traffic.tally.connection_errors.values()),
        "backlog": traffic.tally.backlog,
    }


def run_times(traffic: Traffic) -> list[float]:
    """Seconds from each request that started an execution to its completion at the first subscriber."""
    seen: dict[str, float] = {}
    for subscriber in traffic.subscribers:
        for execution_id, at in subscriber.completions.items():
            seen[execution_id] = min(at, seen.get(execution_id, at))
    asked = [*traffic.triggered, *traffic.webhooks.values()]
    return [
        seen[s.execution_id] - s.sent
        for s in asked
        if s.execution_id in seen and s.sent >= traffic.tally.started + traffic.mix.warm_up
    ]


async def soak(args: argparse.Namespace, work: Path, stack: Stack) -> dict[str, Any]:
    """Seed, run the mix against ``stack``, stop it, run the baseline; every figure."""
    started = time.perf_counter()
    await healthy(stack)
    source = f"soak-{str(ULID()).lower()[-8:]}"
    await seed(stack.url, source)
    print(f"{stack.setup} set-up healthy and seeded in {time.perf_counter() - started:.1f}s", flush=True)
    mix = Mix(args.triggers, args.webhooks, args.reads, args.subscribers, args.seconds, args.warm_up, source)
    sampler = Sampler(stack, None, args.sample_seconds)
    stack.mark()
    traffic, drain = await drive(stack.url, mix, sampler, args.drain_seconds, follow=True)
    measured_from = traffic.tally.started + mix.warm_up
    memory = sampler.growth(measured_from, traffic.tally.started + mix.seconds)
    canned = await canned_answers(stack.url, traffic)
    stack.stop()
    complaints = stack.complaints()

    canned_file = work / "canned.json"
    canned_file.write_text(json.dumps(canned))
    port = free_port()
    bare = subprocess.Popen(  # noqa: ASYNC220 (started once, before anything is timed)
        [sys.executable, "-c", BARE, str(canned_file), str(port)], stderr=subprocess.DEVNULL
    )
    try:
        bare_url = f"http://127.0.0.1:{port}"
        await wait_listening(bare_url)
        bare_mix = Mix(args.triggers, args.webhooks, args.reads, args.subscribers, args.baseline_seconds, 2.0, source)
        bare_sampler = Sampler(None, bare.pid, args.sample_seconds)
        baseline, _ = await drive(bare_url, bare_mix, bare_sampler, 0, follow=False)
    finally:
        bare.terminate()
        bare.wait(10)
    bare_latencies = [seconds for values in baseline.tally.latencies.values() for seconds in values]
    return report(args, traffic, drain, memory, sampler.exited, complaints, bare_latencies, baseline)


async def wait_listening(url: str) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession(url) as session:
        while True:
            try:
                async with session.get("/", headers={"X-Soak-Endpoint": "applications"}):
                    return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


def report(
    args: argparse.Namespace,
    traffic: Traffic,
    drain: float,
    memory: dict[str, Any],
    exited: list[str],
    complaints: Any,
    bare_latencies: list[float],
    baseline: Traffic,
) -> dict[str, Any]:
    """Print the figures and return them as the JSON line's object."""
    lost = losses(traffic)
    flagged = sorted(
        name
        for name, grew in memory.items()
        if grew.growth_mib > args.max_growth_mib and (name != "total" or len(memory) == 2)
    )
    asked = [*traffic.triggered, *traffic.webhooks.values()]
    runs = run_times(traffic)
    print()
    print(
        f"{args.setup}: {args.seconds:g}s of {args.triggers:g} trigger/s, {args.webhooks:g} webhook/s, "
        f"{args.reads:g} reads/s, {args.subscribers} event-stream subscribers "
        f"(latencies after {args.warm_up:g}s warm-up)"
    )
    print(f"{'endpoint':24}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}")
    endpoints: dict[str, dict[str, float]] = {}
    tally = traffic.tally
    names = sorted(
        set(tally.latencies) | set(tally.server_errors) | set(tally.connection_errors) | set(tally.unexpected_4xx)
    )
    for name in names:
        figures = latency_figures(tally.latencies.get(name, []))
        failed = tally.server_errors[name] + tally.connection_errors[name] + tally.unexpected_4xx[name]
        print(f"{name:24}{figures['requests']:>10}{figures['p50_ms']:>10.1f}{figures['p99_ms']:>10.1f}{failed:>8}")
        if figures["requests"]:
            endpoints[name] = {"p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"]}
    bare = latency_figures(bare_latencies)
    print(
        f"{'bare aiohttp, same mix':24}{bare['requests']:>10}{bare['p50_ms']:>10.1f}{bare['p99_ms']:>10.1f}"
        f"{baseline.tally.failures():>8}  (baseline, {args.baseline_seconds:g}s)"
    )
    print(
        f"executions: {len(asked)} asked for, {sum(1 for s in asked if s.status == 'SUCCEEDED')} succeeded; "
        f"request to completion event p50 {percentile(runs, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(runs, 0.99) * 1000:.0f} ms; "
        f"drain {drain:.1f}s"
    )
    events = [subscriber.events for subscriber in traffic.subscribers]
    print(f"subscribers saw {events} events, reconnected {sum(s.reconnects for s in traffic.subscribers)} times")
    print(f"{'resident memory (MiB)':24}{'first':>8}{'last':>8}{'max':>8}{'growth':>8}{'MiB/min':>9}")
    for name, grew in memory.items():
        shown = grew.figures()
        mark = "  GROWING" if name in flagged else ""
        print(
            f"{name:24}{shown['first_mib']:>8.1f}{shown['last_mib']:>8.1f}{shown['max_mib']:>8.1f}"
            f"{shown['growth_mib']:>8.1f}{shown['slope_mib_per_min']:>9.2f}{mark}"
        )
    problems = {kind: count for kind, count in lost.items() if count}
    print(f"lost: {problems or 'nothing'}")
    for example in tally.examples[:10]:
        print(f"  e.g. {example}")
    if exited:
        print(f"processes that exited during the run: {exited}")
    if complaints:
        print(f"the services logged {sum(complaints.values())} warnings/errors:")
        for line, count in complaints.most_common(10):
            print(f"  {count:5} x {line}")
    verdict = "CLEAN" if not problems and not flagged and not exited else "PROBLEMS"
    print(f"verdict: {verdict}")
    return {
        "benchmark": "soak",
        "setup": args.setup,
        "seconds": args.seconds,
        "mix": (
            f"{args.triggers:g} trigger/s, {args.webhooks:g} webhook/s, {args.reads:g} reads/s, "
            f"{args.subscribers} subscribers"
        ),
        "endpoints": endpoints,
        "baseline_bare_p50_ms": bare["p50_ms"],
        "baseline_bare_p99_ms": bare["p99_ms"],
        "requests": sum(len(values) for values in tally.latencies.values()),
        "executions": len(asked),
        "succeeded": sum(1 for s in asked if s.status == "SUCCEEDED"),
        "run_p50_ms": round(percentile(runs, 0.5) * 1000, 1),
        "run_p99_ms": round(percentile(runs, 0.99) * 1000, 1),
        "events_seen": sum(events),
        "lost": lost,
        "rss_total": memory["total"].figures(),
        "rss_growth_mib": {name: round(grew.growth_mib, 1) for name, grew in memory.items() if name != "total"},
        "rss_growth_flagged": flagged,
        "logged_warnings": sum(complaints.values()),
        "verdict": verdict,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", choices=("up", "amqp"), default="up")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds the mix runs (default 60)")
    parser.add_argument("--triggers", type=float, default=1.0, help="pipeline triggers per second (default 1)")
    parser.add_argument("--webhooks", type=float, default=0.5, help="webhooks per second (default 0.5)")
    parser.add_argument("--reads", type=float, default=6.0, help="reads per second (default 6)")
    parser.add_argument("--subscribers", type=int, default=3, help="event-stream clients (default 3)")
    parser.add_argument(
        "--warm-up", type=float, help="seconds not counted for latency and memory growth (default: a third, at most 60)"
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=60.0, help="most seconds to wait for executions to finish"
    )
    parser.add_argument("--sample-seconds", type=float, default=2.0, help="seconds between memory samples (default 2)")
    parser.add_argument(
        "--max-growth-mib", type=float, default=10.0, help="memory growth (MiB) flagged in any one process (default 10)"
    )
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="seconds of the bare aiohttp baseline")
    parser.add_argument("--keep-logs", type=Path, help="copy every process's log into this directory at the end")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/", help="the broker for --setup amqp")
    args = parser.parse_args()
    if args.seconds <= 0 or args.subscribers < 1 or min(args.triggers, args.webhooks, args.reads) < 0:
        parser.error("--seconds must be positive, --subscribers at least 1 and the rates not negative")
    if args.warm_up is None:
        args.warm_up = min(60.0, args.seconds / 3)
    with tempfile.TemporaryDirectory(prefix="gennaker-soak-") as work_dir, ExitStack() as cleanup:
        work = Path(work_dir)
        if args.setup == "up":
            stack = start_up(work)
        else:
            url = cleanup.enter_context(own_vhost(args.amqp_url, f"gennaker-soak-{str(ULID()).lower()[-8:]}"))
            stack = start_distributed(work, url)
        with running(stack):
            try:
                figures = await soak(args, work, stack)
            finally:
                if args.keep_logs is not None:
                    args.keep_logs.mkdir(parents=True, exist_ok=True)
                    for part in stack.parts:
                        shutil.copy(part.log, args.keep_logs / part.log.name)
    print(json.dumps(figures))
    return 0 if figures["verdict"] == "CLEAN" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
