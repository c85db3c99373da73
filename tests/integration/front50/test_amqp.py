"""The Front50 worker on the real RabbitMQ: a command, its event and a query make the round trip."""

from __future__ import annotations

import pytest

from bus.amqp import AmqpBus
from bus.errors import QueryFailed
from schemas import Event, Query, Reply
from schemas.front50 import GetPipelineConfig, PipelineFound, PipelineSaved, SavePipeline
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client, pipeline, run_front50
from tests.mongo import start_store

pytestmark = pytest.mark.amqp

ATTEMPTS = 5
"""Front50's queues have fixed names, so another Front50 on the same broker (a ``gennaker up`` or a
parallel test run) competes for our messages and may dead-letter what it cannot handle; a retry
reaches ours. Saves are retried with the same pipeline id, so a retry replaces rather than doubles."""


async def send_until_answered(client: Front50Client, command: SavePipeline) -> Event:
    for _ in range(ATTEMPTS):
        envelope = await client.bus.send(command)
        try:
            return (await client.caused_by(envelope.id, timeout=3))[0]
        except TimeoutError:
            continue
    raise AssertionError(f"no answer to {command.message_type} after {ATTEMPTS} attempts")


async def ask_until_answered(client: Front50Client, query: Query) -> Reply:
    for _ in range(ATTEMPTS - 1):
        try:
            return await client.ask(query)
        except QueryFailed as error:
            if "not handled here" not in str(error):
                raise
    return await client.ask(query)


async def test_save_and_read_a_pipeline_over_rabbitmq(amqp_url: str, unique: str) -> None:
    server, mongo = await start_store(tz_aware=True)
    bus = await AmqpBus.connect(amqp_url, source="/test")
    host, client, tap = await run_front50(bus, mongo["gennaker"])
    try:
        body = pipeline(application=unique, id=f"{unique}-deploy")
        event = await send_until_answered(client, SavePipeline(authority=ADMIN, pipeline=body))
        assert isinstance(event, PipelineSaved) and event.pipeline["id"] == f"{unique}-deploy"
        found = await ask_until_answered(client, GetPipelineConfig(application=unique, name="deploy"))
        assert isinstance(found, PipelineFound) and found.pipeline == event.pipeline
    finally:
        await host.stop()
        await tap.stop()
        await bus.close()
        await mongo.close()
        await server.close()
