"""The Orca chaos test: 50 pipelines through two ``gennaker worker orca`` processes, one of them
SIGKILLed and restarted every few seconds, and both losing their broker connections in the middle of
webhook calls every few seconds too (``rabbitmqctl close_connection``), end exactly as they should.

Real parts only: RabbitMQ (a throwaway virtual host, so no other test's workers take our messages
and the dead-letter queue is ours alone), mongoeco's MongoDB wire server in its own process
(:mod:`tests.integration.orca.store_process`), a Front50 worker holding the pipeline configs, and two Orca workers, all
started through the CLI with their production settings. The pipelines wait, call webhooks on a
local HTTP server that counts every call (answering 500 once, fail-fast codes and a status to
poll), and run child pipelines. Some are meant to fail, some are cancelled mid-wait, so the final
statuses differ. Afterwards: every execution and child has the status it should, no webhook was
called more often than its stage allows, every call carried an ``Idempotency-Key`` and every call
made again carried the first one's, nothing is dead-lettered, nothing is left running.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ulid import ULID

from bus.amqp import AmqpBus
from gennaker.store import mongo_client
from schemas.front50 import GetPipelineConfig, PipelineFound, SavePipeline
from schemas.idempotency import HEADER
from schemas.json_types import Json
from schemas.orca_engine import CancelExecution, TriggerPipeline
from tests.authorities import ADMIN, admin
from tests.broker import close_connections, own_vhost
from tests.integration.test_up import ROOT, Process, cli_env
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.orca.engine.trigger_pipeline import keyed_execution_id

pytestmark = pytest.mark.amqp

APPLICATION = "chaos"
FINAL = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"}
MAX_ATTEMPTS = 5
"""Every webhook stage's ``maxAttempts``: the most calls one stage may make to its endpoint. Every
attempt the chaos spoils counts (an Orca killed after claiming a call cannot say whether it made it, so
its attempt is given up and the next one made): an ``ok`` stage, failed once on purpose, must then
survive three spoiled attempts in a row, as it must while the kills and closes go on for a minute."""
CALL_TIMEOUT_SECONDS = 10
"""Every webhook stage's ``timeoutSeconds``: longer than the calls are ever held (until the Orcas'
connections are closed, three ``rabbitmqctl`` runs of a few seconds on a loaded machine), so a held
call is answered, and an attempt is spoiled only by its Orca being killed."""
POLLS = 2
"""The poll that first answers SUCCEEDED."""
KILL_EVERY = 3.0
"""Seconds between kills (longer while the other Orca is still starting: one always runs)."""
CLOSE_EVERY = 4.0
"""Seconds between closing both Orcas' broker connections, each time while webhook calls are held."""
CHAOS_SECONDS = 25.0
MIN_KILLS = 5
"""The chaos goes on past ``CHAOS_SECONDS`` until this many kills happened (on a loaded machine an
Orca takes longer to start, and one is never killed while the other starts), up to ``CHAOS_STRETCH``
times as long."""
CHAOS_STRETCH = 6
"""How much longer than ``CHAOS_SECONDS`` the chaos may go on to reach ``MIN_KILLS``: on a machine with
a load of four on two cores an Orca took 15 s to start, so five kills took more than three times 25 s."""
SETTLE = 80.0
"""Seconds from the end of the chaos until every execution must have finished. A kill can strand a
durable timer for its 30 s lease (``EngineOptions.timer_lease_ms``), and a call lost with its command
is given up only ``CALL_TIMEOUT_SECONDS`` + 30 s after it was sent, so the last kills need both."""
STARTS_OVER = 15.0
"""Seconds over which the 50 executions are started, so the kills hit them in every phase."""

SCENARIOS: list[tuple[str, int]] = [("ok", 20), ("poll", 10), ("failfast", 8), ("cancel", 6), ("childfail", 6)]
EXPECTED: dict[str, tuple[str, set[str | None]]] = {
    # mode: (parent status, child statuses allowed; None: no child)
    "ok": ("SUCCEEDED", {"SUCCEEDED"}),
    "poll": ("SUCCEEDED", {"SUCCEEDED"}),
    "failfast": ("TERMINAL", {"CANCELED", None}),  # the child may not have started when the webhook failed
    "cancel": ("CANCELED", {"CANCELED"}),
    "childfail": ("TERMINAL", {"TERMINAL"}),
}


# --- the webhook endpoint -------------------------------------------------------------------------


@dataclass
class Endpoint:
    """Answers the pipelines' webhooks by path ``/{hook}/{mode}/{execution id}`` and counts every call."""

    base: str = ""
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(hook, method, execution id) → calls."""
    keys: dict[tuple[str, str, str], list[str | None]] = field(default_factory=dict)
    """(hook, method, execution id) → the ``Idempotency-Key`` of each of its calls, in order."""
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while calls are held (answered only once :meth:`release` is called): a call is in flight."""
    held: int = 0
    _hold: asyncio.Event | None = None

    def hold(self) -> None:
        """Hold the calls arriving from now on until :meth:`release`."""
        self.holding.clear()
        self._hold = asyncio.Event()

    def release(self) -> None:
        if self._hold is not None:
            self._hold.set()
            self._hold = None

    async def handle(self, request: web.Request) -> web.Response:
        hook, mode, execution_id = request.match_info["hook"], request.match_info["mode"], request.match_info["id"]
        self.calls[hook, request.method, execution_id] += 1
        self.keys.setdefault((hook, request.method, execution_id), []).append(request.headers.get(HEADER))
        seen = self.calls[hook, request.method, execution_id]
        if self._hold is not None:
            self.held += 1
            self.holding.set()
            await self._hold.wait()
        if hook == "create":
            if mode == "failfast":
                return web.json_response({"error": "not a teapot today"}, status=418)
            if mode == "ok" and seen == 1:
                return web.json_response({"error": "try again"}, status=500)
            return web.json_response({"created": execution_id})
        if hook == "poll":
            if request.method == "GET":
                return web.json_response({"status": "SUCCEEDED" if seen >= POLLS else "RUNNING", "progress": seen})
            return web.json_response({"status": "RUNNING"})
        if hook == "child":
            if mode == "childfail":
                return web.json_response({"error": "the child fails"}, status=418)
            return web.json_response({"ok": True})
        return web.json_response({"error": f"no hook {hook}"}, status=404)

    def count(self, hook: str, execution_id: str, method: str = "POST") -> int:
        return self.calls[hook, method, execution_id]


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    server = Endpoint()
    app = web.Application()
    app.router.add_route("*", "/{hook}/{mode}/{id}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


# --- the system -----------------------------------------------------------------------------------


@pytest.fixture
def vhost_url(amqp_url: str, unique: str) -> Iterator[str]:
    """A virtual host of our own on the test broker, deleted afterwards with everything in it."""
    with own_vhost(amqp_url, f"gennaker-chaos-{unique}") as url:
        yield url


@dataclass
class System:
    """The processes: the store, Front50 and the two Orcas (replaced as they are killed)."""

    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)
    orcas: list[Process] = field(default_factory=list)
    kills: int = 0
    killed_logs: list[str] = field(default_factory=list)
    restart_seconds: list[float] = field(default_factory=list)
    vhost: str = ""
    closes: int = 0
    """How many Orca connections the broker closed while a webhook call was in flight."""

    async def start(self, *argv: str) -> Process:
        process = await Process.start(*argv, env=self.env)
        self.processes.append(process)
        return process

    async def start_store(self) -> str:
        """The store process; returns its URL."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.orca.store_process",
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        store = Process(process)
        self.processes.append(store)
        return (await store.stdout_line()).removeprefix("store ")

    async def start_orca(self) -> Process:
        orca = await self.start("worker", "orca")
        await orca.wait_for_stderr("worker running")
        return orca

    async def kill_and_restart(self, index: int) -> asyncio.Task[None]:
        """SIGKILL Orca ``index`` and start its replacement; the task ends once it runs."""
        victim = self.orcas[index]
        await victim.kill()
        self.kills += 1
        self.killed_logs.append(f"--- orca killed (#{self.kills}) ---\n" + "\n".join(victim.stderr[-15:]))
        replacement = await self.start("worker", "orca")
        self.orcas[index] = replacement
        started = time.monotonic()

        async def running() -> None:
            await replacement.wait_for_stderr("worker running")
            self.restart_seconds.append(time.monotonic() - started)

        return asyncio.create_task(running())

    async def chaos(self, seconds: float) -> None:
        """Kill an Orca every ``KILL_EVERY`` seconds for ``seconds`` (and on until ``MIN_KILLS``), the
        two in turn, but never while the other is still starting: one Orca always runs."""
        began = time.monotonic()
        starting: list[asyncio.Task[None] | None] = [None, None]
        victim = 0
        longest = CHAOS_STRETCH * seconds
        while (elapsed := time.monotonic() - began) < seconds or (self.kills < MIN_KILLS and elapsed < longest):
            await asyncio.sleep(KILL_EVERY)
            other = starting[1 - victim]
            if other is not None:
                await other
            starting[victim] = await self.kill_and_restart(victim)
            victim = 1 - victim
        await asyncio.gather(*filter(None, starting))

    async def close_mid_call(self, seconds: float, endpoint: Endpoint) -> None:
        """Every ``CLOSE_EVERY`` seconds for ``seconds``: hold the webhook calls arriving, and once one
        is in flight close every Orca's broker connection (as a network failure or a broker restart
        would; the rest of the broker goes on), then answer them."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.sleep(CLOSE_EVERY)
            endpoint.hold()
            try:
                await asyncio.wait_for(endpoint.holding.wait(), CLOSE_EVERY)
            except TimeoutError:
                continue  # no call came: try again later
            finally:
                if not endpoint.holding.is_set():
                    endpoint.release()
            self.closes += await asyncio.to_thread(close_connections, self.vhost, "/gennaker/orca/")
            await asyncio.sleep(0.3)  # their handlers are cancelled by now
            endpoint.release()

    async def close(self) -> None:
        for process in reversed(self.processes):
            await process.kill()

    def logs(self) -> str:
        live = [f"--- orca {n} (pid {o.process.pid}) ---\n{o.logs()}" for n, o in enumerate(self.orcas)]
        return "\n".join([*self.killed_logs[-4:], *live])


@pytest.fixture
async def system(vhost_url: str, tmp_path: Path) -> AsyncIterator[System]:
    fast_reconnect = f"{vhost_url}?reconnect_interval=1"
    env = cli_env(
        GENNAKER_AMQP_URL=fast_reconnect,
        GENNAKER_DATA_DIR=str(tmp_path),
        GENNAKER_LOG_LEVEL="INFO",
        GENNAKER_OUTBOUND=LOOPBACK_TEST_SERVERS.model_dump_json(),
    )
    running = System(env, vhost=vhost_url.rsplit("/", 1)[1])
    try:
        running.env["GENNAKER_MONGO_URL"] = await running.start_store()
        front50 = await running.start("worker", "front50")
        running.orcas = list(await asyncio.gather(running.start_orca(), running.start_orca()))
        await front50.wait_for_stderr("worker running")
        yield running
    finally:
        await running.close()


@pytest.fixture
async def bus(vhost_url: str, system: System) -> AsyncIterator[AmqpBus]:
    connected = await AmqpBus.connect(vhost_url, source="/test/chaos")
    yield connected
    await connected.close()


# --- the pipelines --------------------------------------------------------------------------------


def webhook_stage(ref_id: str, url: str, *, after: tuple[str, ...] = (), **context: Any) -> Json:
    return {
        "refId": ref_id,
        "type": "webhook",
        "name": f"webhook {ref_id}",
        "requisiteStageRefIds": list(after),
        "method": "POST",
        "url": url,
        "payload": {"execution": "${execution.id}"},
        "failFastStatusCodes": [418],
        "maxAttempts": MAX_ATTEMPTS,
        "retryBackoffMs": 300,
        "timeoutSeconds": CALL_TIMEOUT_SECONDS,
        **context,
    }


def wait_stage(ref_id: str, wait: str, *, after: tuple[str, ...] = ()) -> Json:
    return {
        "refId": ref_id,
        "type": "wait",
        "name": f"wait {ref_id}",
        "requisiteStageRefIds": list(after),
        "waitTime": wait,
    }


def configs(base: str) -> list[Json]:
    """The child pipeline (wait, then a webhook) and the parent: a branch that waits, calls a webhook
    and (only in mode ``poll``) calls another and polls it until it says SUCCEEDED; a parallel branch
    running the child."""
    hook = base + "/{}/${{trigger.parameters.mode}}/${{execution.id}}"
    child = {
        "id": "chaos-child",
        "application": APPLICATION,
        "name": "chaos child",
        "stages": [
            wait_stage("1", "${trigger.parameters.childWait}"),
            webhook_stage("2", base + "/child/${trigger.parameters.mode}/${trigger.parentExecution.id}", after=("1",)),
        ],
    }
    parent = {
        "id": "chaos-parent",
        "application": APPLICATION,
        "name": "chaos parent",
        "parameterConfig": [{"name": name} for name in ("mode", "wait", "childWait")],
        "stages": [
            wait_stage("1", "${parameters.wait}"),
            webhook_stage("2", hook.format("create"), after=("1",)),
            {
                "refId": "3",
                "type": "pipeline",
                "name": "child",
                "requisiteStageRefIds": [],
                "application": APPLICATION,
                "pipeline": "chaos-child",
                "pipelineParameters": {"mode": "${parameters.mode}", "childWait": "${parameters.childWait}"},
            },
            webhook_stage(
                "4",
                hook.format("poll"),
                after=("2",),
                waitForCompletion=True,
                statusUrlResolution="getMethod",
                statusJsonPath="$.status",
                successStatuses="SUCCEEDED",
                terminalStatuses="FAILED",
                progressJsonPath="$.progress",
                monitorIntervalMs=300,
                stageEnabled={"type": "expression", "expression": "${parameters.mode == 'poll'}"},
            ),
        ],
    }
    return [child, parent]


@dataclass(frozen=True)
class Run:
    """One execution the test starts: its mode decides what it should end as."""

    execution_id: str
    mode: str
    parameters: Json


def runs() -> list[Run]:
    made: list[Run] = []
    for mode, count in SCENARIOS:
        for n in range(count):
            wait, child_wait = {
                "ok": (str(1 + n % 2), str(n % 2)),
                "poll": ("1", "1"),
                "failfast": ("2", "300"),
                "cancel": ("300", "300"),
                "childfail": ("300", "1"),
            }[mode]
            key = str(ULID())
            made.append(
                Run(keyed_execution_id(key), mode, {"mode": mode, "wait": wait, "childWait": child_wait, "key": key})
            )
    # interleave the modes, so every phase of the chaos sees every kind
    return sorted(made, key=lambda run: run.parameters["key"][-6:])


# --- watching ---------------------------------------------------------------------------------------


def child_id(parent: Json) -> str | None:
    stage = next((s for s in parent["stages"] if s["refId"] == "3"), None)
    found = (stage or {}).get("context", {}).get("executionId")
    return str(found) if found else None


def line(execution: Json) -> str:
    stages = " ".join(f"{s['refId']}={s['status']}" for s in execution["stages"])
    return f"{execution['_id']} {execution['name']:>12} {execution['status']:<10} {stages}"


def failure_reasons(execution: Json) -> list[str]:
    """Why each stage of ``execution`` that failed did, with its last call (as the stage recorded it)."""
    reasons = []
    for stage in execution["stages"]:
        context = stage.get("context", {})
        error = context.get("exception", {}).get("details", {}).get("error")
        if error is not None:
            call = json.dumps(context.get("webhookCall"), default=str)
            reasons.append(f"  {execution['_id']} stage {stage['refId']}: {error}; last call {call}")
    return reasons


def diagnostics(
    executions: dict[str, Json],
    stuck: list[Json],
    ended_wrong: list[Json],
    problems: list[str],
    system: System,
    endpoint: Endpoint,
) -> str:
    shown = [json.dumps({k: v for k, v in e.items() if k != "initialConfig"}, default=str)[:8000] for e in stuck[:3]]
    return "\n".join(
        [
            f"{len(problems)} problems:",
            *problems[:40],
            "executions:",
            *sorted(line(e) for e in executions.values()),
            "why those that ended otherwise than expected failed:",
            *[reason for e in ended_wrong for reason in failure_reasons(e)],
            f"stuck: {len(stuck)}; the first three in full:",
            *shown,
            f"webhook calls: {dict(endpoint.calls)}",
            f"kills: {system.kills}",
            system.logs(),
        ]
    )


SUMMARY = {
    "status": 1,
    "name": 1,
    "buildTime": 1,
    "endTime": 1,
    "stages.refId": 1,
    "stages.status": 1,
    "stages.context.executionId": 1,
}
"""What the test reads of each execution while it waits (whole documents would load the store)."""


@pytest.mark.timeout(CHAOS_STRETCH * CHAOS_SECONDS + SETTLE + 120)
async def test_fifty_executions_survive_orca_being_killed(system: System, bus: AmqpBus, endpoint: Endpoint) -> None:
    for config in configs(endpoint.base):
        await bus.send(SavePipeline(pipeline=config, authority=admin("chaos")))
    for config in configs(endpoint.base):
        await until_saved(bus, config["id"])

    planned = runs()
    by_id = {run.execution_id: run for run in planned}
    client = mongo_client(system.env["GENNAKER_MONGO_URL"])
    collection = client["gennaker"]["orca_executions"]
    executions: dict[str, Json] = {}
    cancelled: set[str] = set()
    began = time.monotonic()

    async def trigger() -> None:
        for n, run in enumerate(planned):
            trigger = {"type": "manual", "user": "chaos", "parameters": run.parameters}
            key = run.parameters["key"]
            await bus.send(
                TriggerPipeline(
                    authority=ADMIN,
                    application=APPLICATION,
                    pipeline_name_or_id="chaos-parent",
                    trigger=trigger,
                    idempotency_key=key,
                )
            )
            await asyncio.sleep(max(0.0, began + STARTS_OVER * (n + 1) / len(planned) - time.monotonic()))

    async def cancel_mid_wait() -> None:
        """Cancel each ``cancel`` run once its child runs (both then wait for minutes)."""
        for execution_id, run in by_id.items():
            parent = executions.get(execution_id)
            if run.mode != "cancel" or execution_id in cancelled or parent is None:
                continue
            child = executions.get(child_id(parent) or "")
            if child is not None and child["status"] == "RUNNING":
                await bus.send(
                    CancelExecution(execution_id=execution_id, authority=admin("chaos"), reason="cancelled mid-wait")
                )
                cancelled.add(execution_id)

    def all_done() -> bool:
        return all(run_id in executions for run_id in by_id) and all(e["status"] in FINAL for e in executions.values())

    triggering = asyncio.create_task(trigger())
    killing = asyncio.create_task(system.chaos(CHAOS_SECONDS))
    closing = asyncio.create_task(system.close_mid_call(CHAOS_SECONDS, endpoint))
    try:
        settle_from: float | None = None
        while settle_from is None or time.monotonic() - settle_from < SETTLE:
            executions = {doc["_id"]: doc async for doc in collection.find({"applicationKey": APPLICATION}, SUMMARY)}
            await cancel_mid_wait()
            if triggering.done() and all_done() and (killing.done() or system.kills >= MIN_KILLS):
                break
            if settle_from is None and killing.done():
                settle_from = time.monotonic()
            await asyncio.sleep(1.0)
        finished_after = time.monotonic() - began
        killing.cancel()
        closing.cancel()
        endpoint.release()
        await asyncio.gather(killing, closing, triggering, return_exceptions=True)
        letters = await bus.dead_letters()
        unfinished = {"_id": {"$in": [i for i, e in executions.items() if e["status"] not in FINAL]}}
        stuck = [doc async for doc in collection.find(unfinished)]
        wrong = {"_id": {"$in": [run.execution_id for run in planned if run_problems(run, executions, endpoint)]}}
        ended_wrong = [doc async for doc in collection.find(wrong)]
    finally:
        killing.cancel()
        closing.cancel()
        triggering.cancel()
        endpoint.release()
        await client.close()

    problems = [problem for run in planned for problem in run_problems(run, executions, endpoint)]
    problems.extend(key_problems(endpoint))
    problems.extend(f"still {e['status']}: {line(e)}" for e in executions.values() if e["status"] not in FINAL)
    problems.extend(
        f"dead letter from {letter.queue}: {letter.reason} {letter.body_text()[:300]}" for letter in letters
    )
    assert not problems, diagnostics(executions, stuck, ended_wrong, problems, system, endpoint)
    extra = sum(endpoint.calls.values()) - sum(ideal_calls(run, endpoint) for run in planned)
    print(
        f"chaos: {len(executions)} executions done in {finished_after:.1f}s; {system.kills} kills; "
        f"{extra} webhook calls beyond the ideal"
    )
    slowest = max((e["endTime"] - e["buildTime"]) / 1000 for e in executions.values())
    restarts = ", ".join(f"{seconds:.1f}" for seconds in system.restart_seconds)
    print(f"slowest execution {slowest:.1f}s; restarts took {restarts}s")
    repeated = sum(len(keys) - 1 for (_, method, _), keys in endpoint.keys.items() if method == "POST")
    print(
        f"{system.closes} Orca connections closed mid-call ({endpoint.held} calls held then); "
        f"{repeated} POSTs made again, each with its first call's Idempotency-Key"
    )
    assert system.kills >= MIN_KILLS, f"only {system.kills} kills happened"
    assert system.closes >= 2, f"Orca's connections were closed mid-call only {system.closes} times"


def run_problems(run: Run, executions: dict[str, Json], endpoint: Endpoint) -> list[str]:
    """How ``run`` (and its child) ended differently from what its mode says."""
    parent = executions.get(run.execution_id)
    if parent is None:
        return [f"{run.mode} {run.execution_id}: never created"]
    expected_parent, expected_children = EXPECTED[run.mode]
    problems = []
    if parent["status"] != expected_parent:
        problems.append(f"{run.mode} {run.execution_id}: {parent['status']}, expected {expected_parent}")
    child = executions.get(child_id(parent) or "")
    child_status = child["status"] if child else None
    if child_status not in expected_children:
        problems.append(f"{run.mode} {run.execution_id}: child {child_status}, expected one of {expected_children}")
    return problems + webhook_problems(run, endpoint)


def webhook_problems(run: Run, endpoint: Endpoint) -> list[str]:
    """Calls beyond what each stage allows (or missing where the outcome needs them)."""
    bounds = {  # hook: (at least, at most) POSTs
        "ok": {"create": (2, MAX_ATTEMPTS), "poll": (0, 0), "child": (1, MAX_ATTEMPTS)},
        "poll": {"create": (1, MAX_ATTEMPTS), "poll": (1, MAX_ATTEMPTS), "child": (1, MAX_ATTEMPTS)},
        "failfast": {"create": (1, MAX_ATTEMPTS), "poll": (0, 0), "child": (0, 0)},
        "cancel": {"create": (0, 0), "poll": (0, 0), "child": (0, 0)},
        "childfail": {"create": (0, 0), "poll": (0, 0), "child": (1, MAX_ATTEMPTS)},
    }[run.mode]
    problems = []
    for hook, (least, most) in bounds.items():
        made = endpoint.count(hook, run.execution_id)
        if not least <= made <= most:
            problems.append(f"{run.mode} {run.execution_id}: {made} POSTs to {hook}, expected {least}..{most}")
    polls = endpoint.count("poll", run.execution_id, "GET")
    if run.mode == "poll" and polls < POLLS:
        problems.append(f"poll {run.execution_id}: polled {polls} times, but only poll {POLLS} says SUCCEEDED")
    return problems


def key_problems(endpoint: Endpoint) -> list[str]:
    """Calls without an ``Idempotency-Key``, and POSTs made again without the first call's key (a poll,
    a GET, is a request of its own each time: it has a key of its own)."""
    problems = []
    for (hook, method, execution_id), keys in endpoint.keys.items():
        if None in keys:
            problems.append(f"{hook} {method} {execution_id}: a call without an Idempotency-Key")
        elif method == "POST" and len(set(keys)) > 1:
            problems.append(f"{hook} POST {execution_id}: made again with another key: {keys}")
    return problems


def ideal_calls(run: Run, endpoint: Endpoint) -> int:
    """The calls a run makes when nothing is killed (the polls are what they were)."""
    polls = endpoint.count("poll", run.execution_id, "GET")
    return {"ok": 2 + 1, "poll": 1 + 1 + polls + 1, "failfast": 1, "cancel": 0, "childfail": 1}[run.mode]


async def until_saved(bus: AmqpBus, config_id: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            found = await bus.ask(GetPipelineConfig(id=config_id), timeout=2)
        except Exception:
            found = None
        if isinstance(found, PipelineFound) and found.pipeline is not None:
            return
        assert time.monotonic() < deadline, f"Front50 did not store pipeline config {config_id}"
        await asyncio.sleep(0.1)
