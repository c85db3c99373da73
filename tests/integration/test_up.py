"""``gennaker up`` as a real process: it comes up, answers /health, follows events, stops on SIGTERM.

The CLI's gateway path (``events publish`` / ``events tail`` without ``GENNAKER_AMQP_URL``) is
exercised against it, and data written to its embedded store survives a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from ulid import ULID

from bus import DeadLetter
from gennaker.dead_letters import StoredDeadLetters
from gennaker.host import free_port
from gennaker.store import mongo_client
from schemas.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 30.0
STOP_DEADLINE = 30.0
"""Above the gateway's 5 s and the workers' 10 s grace (``GENNAKER_STOP_GRACE``) for what is in flight."""
UP_LINE = re.compile(r"^Gennaker is up: gateway (?P<gateway>http://\S+) .*store (?P<store>mongodb://\S+)")


def cli_env(**settings: str) -> dict[str, str]:
    """This process's environment without GENNAKER_* settings, plus ``settings``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GENNAKER_")}
    env.update(settings)
    return env


class Process:
    """A ``gennaker`` sub-process whose stderr is drained (and kept) so it never blocks on a full pipe."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []
        self._marks: list[tuple[str, asyncio.Future[object]]] = []
        self._drain = asyncio.create_task(self._read_stderr())

    @classmethod
    async def start(cls, *argv: str, env: Mapping[str, str]) -> Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gennaker.cli",
            *argv,
            cwd=ROOT,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr.append(line)
            for text, seen in self._marks:
                if text in line and not seen.done():
                    seen.set_result(None)

    async def wait_for_stderr(self, text: str, timeout: float = START_DEADLINE) -> None:
        """Wait until a stderr line contains ``text``."""
        if any(text in line for line in self.stderr):
            return
        seen: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._marks.append((text, seen))
        exited: asyncio.Future[object] = asyncio.ensure_future(self.process.wait())
        try:
            waiting: set[asyncio.Future[object]] = {seen, exited}
            await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
        assert seen.done(), f"no stderr line with {text!r} within {timeout}s:\n{self.logs()}"

    async def stdout_line(self, timeout: float = START_DEADLINE) -> str:
        """The next line on stdout; fails with the process's logs if none comes in time."""
        assert self.process.stdout is not None
        try:
            raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            pytest.fail(f"no output within {timeout}s:\n{self.logs()}")
        if not raw:
            await asyncio.sleep(0.2)
            pytest.fail(f"exited ({self.process.returncode}) before printing:\n{self.logs()}")
        return raw.decode().rstrip("\n")

    async def stop(self, timeout: float = STOP_DEADLINE) -> int:
        """SIGTERM, then the exit status; kills it and fails if it does not exit in time."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def wait(self, timeout: float = STOP_DEADLINE) -> int:
        try:
            status = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            pytest.fail(f"did not exit within {timeout}s:\n{self.logs()}")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain, 5)
        return status

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._drain.cancel()

    def logs(self) -> str:
        return "\n".join(self.stderr[-60:])


class Up:
    """A running ``gennaker up`` and where it listens."""

    def __init__(self, process: Process, gateway: str, store: str) -> None:
        self.process = process
        self.gateway = gateway
        self.store = store


async def start_up(data_dir: Path) -> Up:
    port = free_port()
    env = cli_env(GENNAKER_DATA_DIR=str(data_dir), GENNAKER_GATEWAY_PORT=str(port))
    process = await Process.start("up", env=env)
    line = await process.stdout_line()
    match = UP_LINE.match(line)
    assert match, f"unexpected start-up line: {line!r}"
    assert match["gateway"] == f"http://127.0.0.1:{port}"
    assert "bus memory" in line and "swagger-ui.html" in line
    return Up(process, match["gateway"], match["store"])


@pytest.fixture
async def up(tmp_path: Path) -> AsyncIterator[Up]:
    running = await start_up(tmp_path / "data")
    yield running
    await running.process.kill()


async def health(gateway: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway}/health") as response:
        return response.status, await response.json()


async def test_up_serves_every_service_and_stops_on_sigterm(up: Up) -> None:
    deadline = asyncio.get_running_loop().time() + START_DEADLINE
    while True:
        status, body = await health(up.gateway)
        if status == 200 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status == 200, body
    assert body["status"] == "UP"
    services = body["services"]
    assert isinstance(services, dict)
    assert set(services) == set(SERVICES)
    assert all(service["status"] == "UP" and service["version"] == "0.1.0" for service in services.values())

    started = asyncio.get_running_loop().time()
    assert await up.process.stop() == 0, up.process.logs()
    assert asyncio.get_running_loop().time() - started < 10
    logs = [json.loads(line) for line in up.process.stderr if line.startswith("{")]
    stopped = {entry.get("service") for entry in logs if entry.get("event") == "worker stopped"}
    assert stopped == set(SERVICES)
    assert all("timestamp" in entry and "level" in entry for entry in logs)


async def test_events_publish_then_tail_through_the_gateway(up: Up) -> None:
    env = cli_env(GENNAKER_GATEWAY_URL=up.gateway)
    subject = f"run-{ULID()}"
    tail = await Process.start("events", "tail", "com.example.*", "--execution", subject, "--count", "1", env=env)
    tail_json = await Process.start(
        "events", "tail", "com.#", "--json", "--execution", subject, "--count", "1", env=env
    )
    try:
        await tail.wait_for_stderr("following events")
        await tail_json.wait_for_stderr("following events")
        data = json.dumps({"result": "SUCCESS", "instance": "pipeline-7"})
        publish = await Process.start(
            "events", "publish", "com.example.build", "--data", data, "--subject", subject, env=env
        )
        published = await publish.stdout_line()
        assert await publish.wait() == 0, publish.logs()
        assert published.startswith("published com.example.build ")
        message_id = published.rsplit(" ", 1)[1]

        line = await tail.stdout_line(timeout=15)
        assert f"com.example.build  subject={subject}  source=/gennaker/gateway/events/" in line
        assert '"instance":"pipeline-7"' in line
        assert await tail.wait() == 0, tail.logs()

        envelope = json.loads(await tail_json.stdout_line(timeout=15))
        assert envelope["id"] == message_id
        assert envelope["type"] == "com.example.build"
        assert envelope["data"] == {"result": "SUCCESS", "instance": "pipeline-7"}
        assert await tail_json.wait() == 0, tail_json.logs()
    finally:
        await tail.kill()
        await tail_json.kill()


async def test_dlq_list_through_the_gateway(up: Up) -> None:
    env = cli_env(GENNAKER_GATEWAY_URL=up.gateway)
    listing = await Process.start("dlq", "list", env=env)
    assert await listing.stdout_line() == "no dead letters"
    assert await listing.wait() == 0, listing.logs()
    as_json = await Process.start("dlq", "list", "--output", "json", env=env)
    assert await as_json.stdout_line() == "[]"
    assert await as_json.wait() == 0, as_json.logs()
    missing = await Process.start("dlq", "show", "01NOSUCHLETTER", env=env)
    assert await missing.wait() == 2
    assert any("no dead letter '01NOSUCHLETTER'" in line for line in missing.stderr), missing.logs()


async def test_publish_refuses_an_invalid_event_before_sending(up: Up) -> None:
    env = cli_env(GENNAKER_GATEWAY_URL=up.gateway)
    publish = await Process.start("events", "publish", "system.worker.stopped", "--data", "{}", env=env)
    assert await publish.wait() == 2
    assert any("'system.worker.stopped' is an internal event" in line for line in publish.stderr)


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = await start_up(data_dir)
    try:
        client = mongo_client(first.store)
        await client["gennaker"]["probe"].insert_one({"_id": "kept", "n": 1})
        await client.close()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{first.gateway}/dlq") as response:
                assert response.status == 200 and await response.json() == []
            body = json.dumps({"type": "com.example.poison"}).encode()  # a letter as the bus keeps one
            letter = DeadLetter(id="01POISON", queue="gennaker.echo.commands", reason="test", dead_at=datetime.now(UTC),
                                attempts=1, body=body)  # fmt: skip
        client = mongo_client(first.store)
        await StoredDeadLetters(client["gennaker"]).keep(letter)
        await client.close()
        assert await first.process.stop() == 0, first.process.logs()
    finally:
        await first.process.kill()
    assert (data_dir / "store.sqlite").is_file()

    second = await start_up(data_dir)
    try:
        client = mongo_client(second.store)
        assert await client["gennaker"]["probe"].find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
        await client.close()
        async with aiohttp.ClientSession() as session, session.get(f"{second.gateway}/dlq") as response:
            listed = await response.json()
        assert [(item["id"], item["reason"]) for item in listed] == [("01POISON", "test")], "dead letters survive"
        assert await second.process.stop() == 0, second.process.logs()
    finally:
        await second.process.kill()


async def test_store_serve_prints_its_url_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    port = free_port()
    for round_ in range(2):
        store = await Process.start("store", "serve", "--port", str(port), "--path", str(path), env=cli_env())
        try:
            url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
            assert await store.stdout_line() == f"Gennaker store is up: {url} (file {path})"
            client = mongo_client(url)
            probe = client["gennaker"]["probe"]
            if round_ == 0:
                await probe.insert_one({"_id": "shared"})
            else:
                assert await probe.find_one({"_id": "shared"}) == {"_id": "shared"}
            await client.close()
            assert await store.stop() == 0, store.logs()
        finally:
            await store.kill()


async def test_worker_alone_in_memory_starts_and_stops(tmp_path: Path) -> None:
    worker = await Process.start("worker", "front50", "--memory", env=cli_env(GENNAKER_DATA_DIR=str(tmp_path)))
    try:
        await worker.wait_for_stderr("worker running")
        assert await worker.stop() == 0, worker.logs()
        assert (tmp_path / "store.sqlite").is_file()
    finally:
        await worker.kill()
