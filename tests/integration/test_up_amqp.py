"""The CLI on RabbitMQ: a worker process, the event tail and publisher, and the dead-letter commands.

These fail, never skip, when RabbitMQ does not answer at ``GENNAKER_TEST_AMQP_URL``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import aiohttp
import pytest
from ulid import ULID

from bus import Endpoint, Envelope, MessageContext, PermanentError
from bus.amqp import AmqpBus
from gennaker.host import free_port
from gennaker.store import EmbeddedStore
from schemas.services import SERVICES
from schemas.system import Ping, Pong
from tests.contract.messages import DoWork
from tests.integration.test_up import UP_LINE, Process, cli_env

pytestmark = pytest.mark.amqp


@pytest.fixture
async def bus(amqp_url: str) -> AsyncIterator[AmqpBus]:
    connected = await AmqpBus.connect(amqp_url, source="/test")
    yield connected
    await connected.close()


@pytest.fixture
async def queues(amqp_url: str) -> AsyncIterator[list[str]]:
    """Names of throwaway queues a test made; deleted afterwards so the broker is left as found."""
    made: list[str] = []
    yield made
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in made:
            channel = await connection.channel()
            await channel.queue_delete(name)
            await channel.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[str]:
    async with EmbeddedStore(tmp_path / "store.sqlite") as embedded:
        yield embedded.url


async def test_worker_process_answers_ping_serves_metrics_and_stops(
    bus: AmqpBus, amqp_url: str, store: str, tmp_path: Path
) -> None:
    stopped: asyncio.Queue[Envelope] = asyncio.Queue()

    async def collect(envelope: Envelope, context: MessageContext) -> None:
        if envelope.data.get("service") == "echo":
            await stopped.put(envelope)

    await bus.consume(
        Endpoint(service="test", kind="events", patterns=("system.worker.stopped",), raw_handler=collect, durable=False)
    )
    env = cli_env(GENNAKER_AMQP_URL=amqp_url, GENNAKER_MONGO_URL=store, GENNAKER_DATA_DIR=str(tmp_path))
    worker = await Process.start("worker", "echo", env=env)
    try:
        await worker.wait_for_stderr("worker running")
        logs = [json.loads(line) for line in worker.stderr if line.startswith("{")]
        port = next(entry["port"] for entry in logs if entry.get("event") == "metrics served")
        running = next(entry for entry in logs if entry.get("event") == "worker running")
        assert running["service"] == "echo"
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert "gennaker_messages_handled_total" in await response.text()
        reply = await bus.ask(Ping(), to="echo", timeout=10)
        assert isinstance(reply, Pong) and reply.service == "echo"
        assert await worker.stop() == 0, worker.logs()
        while True:
            envelope = await asyncio.wait_for(stopped.get(), 10)
            if envelope.data["instance"] == running["instance"]:
                break
    finally:
        await worker.kill()


async def test_worker_refuses_to_start_without_a_store(amqp_url: str, tmp_path: Path) -> None:
    worker = await Process.start("worker", "echo", env=cli_env(GENNAKER_AMQP_URL=amqp_url))
    assert await worker.wait() == 1
    assert any("GENNAKER_MONGO_URL is not set" in line for line in worker.stderr), worker.logs()


async def test_events_publish_then_tail_on_rabbitmq(amqp_url: str) -> None:
    """The CLI publishes as an outsider, to the external exchange; the tail sees it like any event."""
    env = cli_env(GENNAKER_AMQP_URL=amqp_url)
    subject = f"run-{ULID()}"
    tail = await Process.start("events", "tail", "com.example.*", "--execution", subject, "--count", "1", env=env)
    try:
        await tail.wait_for_stderr("following events")
        data = json.dumps({"result": "SUCCESS"})
        publish = await Process.start(
            "events", "publish", "com.example.build", "--data", data, "--subject", subject, env=env
        )
        published = await publish.stdout_line()
        assert await publish.wait() == 0, publish.logs()
        line = await tail.stdout_line(timeout=15)
        assert f"com.example.build  subject={subject}  source=/gennaker/cli" in line
        assert await tail.wait() == 0, tail.logs()
        assert published.startswith("published com.example.build ")
        refused = await Process.start("events", "publish", "system.worker.started", "--data", "{}", env=env)
        assert await refused.wait() == 2
    finally:
        await tail.kill()


async def test_dlq_list_show_and_replay_on_rabbitmq(
    bus: AmqpBus, amqp_url: str, unique: str, queues: list[str]
) -> None:
    queues.append(f"gennaker.{unique}.commands")
    calls: list[str] = []

    async def refuse_once(command: DoWork, context: MessageContext) -> None:
        calls.append(command.job)
        if len(calls) == 1:
            raise PermanentError("cannot do this yet")

    await bus.consume(Endpoint(service=unique, kind="commands", handlers={DoWork.message_type: refuse_once}))
    sent = await bus.send(DoWork(job="later"), to=unique)
    queue = f"gennaker.{unique}.commands"
    deadline = asyncio.get_running_loop().time() + 15
    while not any(letter.id == sent.id for letter in await bus.dead_letters()):
        assert asyncio.get_running_loop().time() < deadline, "the command was not dead-lettered"
        await asyncio.sleep(0.1)

    env = cli_env(GENNAKER_AMQP_URL=amqp_url)
    listing = await Process.start("dlq", "list", env=env)
    assert await listing.wait() == 0, listing.logs()
    show = await Process.start("dlq", "show", sent.id, env=env)
    shown = []
    while line := await show.process.stdout.readline() if show.process.stdout else b"":
        shown.append(line.decode())
    assert await show.wait() == 0, show.logs()
    text = "".join(shown)
    assert f"queue:    {queue}" in text
    assert "handler refused the message: cannot do this yet" in text
    assert '"job": "later"' in text

    replay = await Process.start("dlq", "replay", sent.id, "01NOTADEADLETTER", env=env)
    assert await replay.stdout_line() == "replayed 1 dead letter"
    assert await replay.wait() == 1
    assert any("no dead letters with ids: 01NOTADEADLETTER" in line for line in replay.stderr), replay.logs()
    deadline = asyncio.get_running_loop().time() + 15
    while len(calls) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the replayed command was not handled"
        await asyncio.sleep(0.1)
    assert calls == ["later", "later"]
    assert not any(letter.id == sent.id for letter in await bus.dead_letters())


async def test_dlq_list_prints_a_header_and_one_line_per_letter(
    bus: AmqpBus, amqp_url: str, unique: str, queues: list[str]
) -> None:
    queues.append(f"gennaker.{unique}.commands")
    consumption = await bus.consume(Endpoint(service=unique, kind="commands"))
    await bus.put_raw(f"gennaker.{unique}.commands", b"not a cloudevent")
    deadline = asyncio.get_running_loop().time() + 15
    while not any(letter.queue == f"gennaker.{unique}.commands" for letter in await bus.dead_letters()):
        assert asyncio.get_running_loop().time() < deadline, "the garbage was not dead-lettered"
        await asyncio.sleep(0.1)
    listing = await Process.start("dlq", "list", env=cli_env(GENNAKER_AMQP_URL=amqp_url))
    lines = []
    while line := await listing.process.stdout.readline() if listing.process.stdout else b"":
        lines.append(line.decode().rstrip("\n"))
    assert await listing.wait() == 0, listing.logs()
    assert lines[0].split() == ["ID", "QUEUE", "DEAD", "AT", "REASON"], lines[:2]
    ours = [line for line in lines if f"  gennaker.{unique}.commands  " in line]
    assert len(ours) == 1
    assert "invalid CloudEvents envelope" in ours[0]
    letter_id = ours[0].split("  ", 1)[0]
    # Leave nothing behind: with no consumer the replayed garbage waits on its queue, deleted afterwards.
    await consumption.stop()
    assert await bus.replay([letter_id]) == 1


async def test_up_on_rabbitmq(amqp_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(GENNAKER_AMQP_URL=amqp_url, GENNAKER_DATA_DIR=str(tmp_path), GENNAKER_GATEWAY_PORT=str(port))
    up = await Process.start("up", env=env)
    try:
        line = await up.stdout_line()
        assert UP_LINE.match(line) and "bus amqp amqp://guest:***@127.0.0.1:5672/" in line, line
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/health") as response:
            body = await response.json()
        assert response.status == 200, body
        assert set(body["services"]) == set(SERVICES)
        assert await up.stop() == 0, up.logs()
    finally:
        await up.kill()


async def test_gateway_alone_on_rabbitmq(amqp_url: str) -> None:
    port = free_port()
    gateway = await Process.start("gateway", env=cli_env(GENNAKER_AMQP_URL=amqp_url, GENNAKER_GATEWAY_PORT=str(port)))
    try:
        assert await gateway.stdout_line() == (
            f"Gennaker gateway is up: http://127.0.0.1:{port} (swagger: http://127.0.0.1:{port}/swagger-ui.html)"
        )
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/openapi.json") as response:
            assert response.status == 200
        assert await gateway.stop() == 0, gateway.logs()
    finally:
        await gateway.kill()


async def test_unreachable_rabbitmq_is_reported_with_the_fix() -> None:
    url = f"amqp://guest:secret@127.0.0.1:{free_port()}/"
    tail = await Process.start("events", "tail", env=cli_env(GENNAKER_AMQP_URL=url))
    assert await tail.wait() == 1
    errors = [line for line in tail.stderr if line.startswith("gennaker: ")]
    assert errors and "cannot connect to RabbitMQ" in errors[0] and "GENNAKER_AMQP_URL" in errors[0]
    assert "secret" not in "\n".join(tail.stderr)
