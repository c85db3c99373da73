"""deploy/rabbitmq locks the bus down on the real broker: outsiders write only to gennaker.external.

Each test imports ``deploy/rabbitmq/definitions.json`` as shipped, under throwaway names (its own
virtual host and users), gives the users passwords, and deletes all of it afterwards. With those
permissions the services' user runs the whole bus; the outside user's publishes to the services'
exchanges are refused by the broker itself (ACCESS_REFUSED), and what it publishes to the external
exchange is known as external from the delivery's exchange, never from a header it writes: an
internal type is dead-lettered with the reason, a foreign CloudEvent still starts its pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import aiormq
import pytest
from pymongo.asynchronous.database import AsyncDatabase

import schemas.catalog
from bus import Endpoint, Envelope, MessageContext
from bus.amqp import AmqpBus
from bus.endpoint import (
    COMMANDS_EXCHANGE,
    DEAD_EXCHANGE,
    EVENTS_EXCHANGE,
    EXTERNAL_EXCHANGE,
    QUERIES_EXCHANGE,
    RETRY_EXCHANGE,
)
from schemas.front50 import PipelineSaved
from schemas.trust import internal_models
from tests.broker import rabbitmqctl
from tests.integration.echo.triggers_support import Recorder, config, db, until
from workers.echo.triggers.cloudevents import CloudEventTriggers
from workers.echo.triggers.events import TriggerEvents
from workers.echo.triggers.history import RecentEventsStore
from workers.echo.triggers.pipelines import PipelineIndex

__all__ = ["db"]

pytestmark = [pytest.mark.amqp, pytest.mark.timeout(180)]

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"
CATALOGUE = tuple(module.__name__ for module in schemas.catalog.MODULES)
BUILD_FINISHED = "com.example.build.finished"


@contextlib.contextmanager
def locked_down_vhost(amqp_url: str, name: str) -> Iterator[tuple[str, str]]:
    """The shipped definitions under ``name``: yields the services' and the outsiders' URLs."""
    renamed = {"gennaker": f"{name}-svc", "gennaker-external": f"{name}-ext"}
    definitions = json.loads(DEFINITIONS.read_text())
    assert [vhost["name"] for vhost in definitions["vhosts"]] == ["gennaker"]
    definitions["vhosts"] = [{"name": name}]
    for user in definitions["users"]:
        user["name"] = renamed[user["name"]]
    for permission in definitions["permissions"]:
        permission["user"] = renamed[permission["user"]]
        permission["vhost"] = name
    for item in (*definitions["permissions"], *definitions["exchanges"], *definitions["bindings"]):
        item["vhost"] = name
    # the broker reads the file itself, as its own user: not from pytest's private temporary directory
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix=f"{name}-", delete=False) as file:
        file.write(json.dumps(definitions))
    path = Path(file.name)
    path.chmod(0o644)
    passwords = {user: secrets.token_hex(12) for user in renamed.values()}
    try:
        rabbitmqctl("import_definitions", str(path))
        path.unlink()
        for user, password in passwords.items():
            rabbitmqctl("change_password", user, password)
        parts = urlsplit(amqp_url)

        def url(user: str) -> str:
            netloc = f"{quote(user)}:{passwords[user]}@{parts.hostname}:{parts.port or 5672}"
            return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}"))

        yield url(renamed["gennaker"]), url(renamed["gennaker-external"])
    finally:
        path.unlink(missing_ok=True)
        for user in renamed.values():
            with contextlib.suppress(Exception):
                rabbitmqctl("delete_user", user)
        with contextlib.suppress(Exception):
            rabbitmqctl("delete_vhost", name)


def cloudevent(type_: str, event_id: str, **data: Any) -> bytes:
    return json.dumps(
        {"specversion": "1.0", "id": event_id, "source": "https://ci.example.com", "type": type_, "data": data}
    ).encode()


async def publish_as_outsider(
    connection: aio_pika.abc.AbstractConnection, exchange: str, body: bytes, routing_key: str, **properties: Any
) -> None:
    channel = await connection.channel()
    try:
        target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange, ensure=False)
        await target.publish(aio_pika.Message(body, **properties), routing_key=routing_key)
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def test_outsiders_may_write_only_to_the_external_exchange_and_internal_types_there_are_dead_lettered(
    amqp_url: str, unique: str
) -> None:
    with locked_down_vhost(amqp_url, unique) as (services_url, outside_url):
        bus = await AmqpBus.connect(services_url, source="/gennaker/lockdown")  # declares the topology
        outsider = await aio_pika.connect(outside_url)
        try:
            seen: list[tuple[str, bool]] = []

            async def keep(envelope: Envelope, context: MessageContext) -> None:
                seen.append((envelope.type, context.external))

            await bus.consume(Endpoint(service="tap", kind="events", patterns=("#",), raw_handler=keep))
            forgery = cloudevent("io.gennaker.orca.stage.completed.v1", "f-0")
            for exchange in (EVENTS_EXCHANGE, COMMANDS_EXCHANGE, QUERIES_EXCHANGE, RETRY_EXCHANGE, DEAD_EXCHANGE, ""):
                with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="ACCESS_REFUSED"):
                    await publish_as_outsider(outsider, exchange, forgery, "orca.stage.completed")
            channel = await outsider.channel()
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="ACCESS_REFUSED"):
                await channel.declare_queue(f"gennaker.{unique}.sneaky", durable=True)

            internal = [model for model in internal_models() if model.__module__ in CATALOGUE]
            for n, model in enumerate(internal):
                await publish_as_outsider(
                    outsider,
                    EXTERNAL_EXCHANGE,
                    cloudevent(model.cloudevent_type(), f"f-{n}"),
                    model.message_type,
                    headers={"x-gennaker-origin": "internal"},  # a header the publisher writes proves nothing
                )
            await publish_as_outsider(outsider, EXTERNAL_EXCHANGE, cloudevent(BUILD_FINISHED, "b-1"), BUILD_FINISHED)

            await until(lambda: len(seen) == 1, timeout=60, what="the outsider's own CloudEvent")
            assert seen == [(BUILD_FINISHED, True)], "no internal type reached the handler"
            letters: list[Any] = []
            for _ in range(300):
                letters = await bus.dead_letters()
                if len(letters) >= len(internal):
                    break
                await asyncio.sleep(0.1)
            assert sorted(json.loads(letter.body)["type"] for letter in letters) == sorted(
                model.cloudevent_type() for model in internal
            )
            for letter in letters:
                assert letter.external and letter.queue == "gennaker.tap.events"
                assert "internal type from an external publisher" in letter.reason
        finally:
            await outsider.close()
            await bus.close()


async def test_the_definitions_declare_the_external_exchange_so_outsiders_may_publish_before_any_service_ran(
    amqp_url: str, unique: str
) -> None:
    with locked_down_vhost(amqp_url, unique) as (_, outside_url):
        outsider = await aio_pika.connect(outside_url)
        try:
            await publish_as_outsider(outsider, EXTERNAL_EXCHANGE, cloudevent(BUILD_FINISHED, "early"), BUILD_FINISHED)
        finally:
            await outsider.close()
        bindings = rabbitmqctl("list_bindings", "-p", unique, "source_name", "destination_name", "routing_key")
        assert f"{EXTERNAL_EXCHANGE}\t{EVENTS_EXCHANGE}\t#" in bindings


async def test_an_outsiders_cloudevent_starts_its_pipeline_and_a_forged_save_changes_nothing(
    amqp_url: str, unique: str, db: AsyncDatabase[dict[str, Any]]
) -> None:
    with locked_down_vhost(amqp_url, unique) as (services_url, outside_url):
        bus = await AmqpBus.connect(services_url, source="/gennaker/lockdown")
        outsider = await aio_pika.connect(outside_url)
        index = PipelineIndex(refresh_seconds=3600)
        index.replace_all([config("on-build", {"type": "cloudevent", "enabled": True, "eventType": BUILD_FINISHED})])
        events = TriggerEvents(index, RecentEventsStore(db), CloudEventTriggers(index))
        consumption = await bus.consume(events.endpoint("echo"))
        recorder = await Recorder().start(bus)
        try:
            smuggled = config("smuggled", {"type": "cloudevent", "enabled": True, "eventType": "com.example.evil"})
            saved = Envelope(
                source="/gennaker/front50", type=PipelineSaved.cloudevent_type(), data={"pipeline": smuggled}
            )
            await publish_as_outsider(outsider, EXTERNAL_EXCHANGE, saved.to_bytes(), PipelineSaved.message_type)
            await publish_as_outsider(
                outsider, EXTERNAL_EXCHANGE, cloudevent("com.example.evil", "e-1"), "com.example.evil"
            )
            await publish_as_outsider(
                outsider, EXTERNAL_EXCHANGE, cloudevent(BUILD_FINISHED, "b-1", result="SUCCESS"), BUILD_FINISHED
            )
            await until(lambda: len(recorder.commands) >= 1, timeout=60, what="the outsider's pipeline to start")
            await asyncio.sleep(0.5)
            assert [command.pipeline_name_or_id for command in recorder.commands] == ["on-build"]
            assert all(trigger.get("eventType") != "com.example.evil" for _, trigger in index.triggers("cloudevent"))
            [letter] = await bus.dead_letters()
            assert repr(PipelineSaved.cloudevent_type()) in letter.reason
        finally:
            await consumption.stop()
            await recorder.stop()
            await outsider.close()
            await bus.close()
