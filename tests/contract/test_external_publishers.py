"""The bus is not a back door: what outsiders publish is marked external by the transport, never by them.

Run on MemoryBus and on RabbitMQ alike. ``publish_external`` is what an outside system (or the
gateway's ``POST /events`` on its behalf) does: on RabbitMQ a publish to ``gennaker.external``. An
internal type arriving so is dead-lettered with the reason before any handler, typed or raw, sees
it, and the consumer keeps going; foreign CloudEvents and external events are handled, knowing they
came from outside. Routing keys carry the test's unique name, so the shared broker's other
subscribers never see these messages.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bus import Endpoint, Envelope, MessageContext
from tests.contract.conftest import Harness
from tests.contract.messages import Noticed, Probe
from tests.contract.test_bus_contract import dead_letters_of, wait_for_dead_letters, wait_until

pytestmark = pytest.mark.timeout(90)


def envelope_of(message: Probe | Noticed) -> bytes:
    return Envelope(
        source="https://outside.example", type=message.cloudevent_type(), data=message.model_dump()
    ).to_bytes()


def foreign(event_id: str) -> bytes:
    return json.dumps(
        {"specversion": "1.0", "id": event_id, "source": "https://ci.example", "type": "com.example.build.finished"}
    ).encode()


async def test_an_internal_type_from_outside_is_dead_lettered_unread_and_the_consumer_keeps_going(
    harness: Harness, unique: str
) -> None:
    typed: list[tuple[int, bool]] = []
    raw: list[str] = []

    async def handle(message: Probe, context: MessageContext) -> None:
        typed.append((message.n, context.external))

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        raw.append(envelope.type)

    bus = await harness.bus()
    await bus.consume(
        Endpoint(service=unique, kind="events", patterns=(f"{unique}.#",), handlers={Probe.message_type: handle})
    )
    await bus.consume(Endpoint(service=f"{unique}-a", kind="events", patterns=(f"{unique}.#",), raw_handler=tap))
    outsider = await harness.bus()

    await outsider.publish_external(envelope_of(Probe(n=1)), routing_key=f"{unique}.probe")
    await bus.publish_raw(envelope_of(Probe(n=2)), routing_key=f"{unique}.probe")

    await wait_until(lambda: typed and raw)
    for queue in (f"gennaker.{unique}.events", f"gennaker.{unique}-a.events"):
        letters = await wait_for_dead_letters(harness, queue)
        assert len(letters) == 1
        assert "internal type from an external publisher" in letters[0].reason
        assert "'io.gennaker.contract.probe.v1'" in letters[0].reason
        assert letters[0].external
        assert json.loads(letters[0].body)["data"] == {"n": 1}
    await asyncio.sleep(0.3)
    assert typed == [(2, False)], "only the services' own publish was acted on"
    assert raw == [Probe.cloudevent_type()]


async def test_foreign_cloudevents_and_external_events_are_handled_and_known_as_external(
    harness: Harness, unique: str
) -> None:
    typed: list[tuple[int, bool]] = []
    raw: list[tuple[str, bool]] = []

    async def handle(message: Noticed, context: MessageContext) -> None:
        typed.append((message.n, context.external))

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        raw.append((envelope.id, context.external))

    bus = await harness.bus()
    await bus.consume(
        Endpoint(
            service=unique, kind="events", patterns=(f"{unique}.outside.#",), handlers={Noticed.message_type: handle}
        )
    )
    await bus.consume(Endpoint(service=f"{unique}-a", kind="events", patterns=(f"{unique}.build.#",), raw_handler=tap))
    outsider = await harness.bus()

    await outsider.publish_external(envelope_of(Noticed(n=7)), routing_key=f"{unique}.outside.noticed")
    await outsider.publish_external(foreign(f"{unique}-1"), routing_key=f"{unique}.build.finished")
    await bus.publish_raw(foreign(f"{unique}-2"), routing_key=f"{unique}.build.finished")

    await wait_until(lambda: typed and len(raw) == 2)
    assert typed == [(7, True)]
    assert sorted(raw) == [(f"{unique}-1", True), (f"{unique}-2", False)]
    assert await dead_letters_of(harness, f"gennaker.{unique}.events") == []


async def test_an_external_message_stays_external_through_retries_and_replays(harness: Harness, unique: str) -> None:
    """The retry queues and a replay hide the exchange a message first came through: it stays external."""
    seen: list[tuple[int, bool, int]] = []

    async def handle(message: Noticed, context: MessageContext) -> None:
        seen.append((message.n, context.external, context.attempt))
        if context.attempt <= message.fail_times:
            raise RuntimeError("not yet")

    bus = await harness.bus()
    queue = f"gennaker.{unique}.events"
    await bus.consume(
        Endpoint(service=unique, kind="events", patterns=(f"{unique}.#",), handlers={Noticed.message_type: handle})
    )
    outsider = await harness.bus()
    await outsider.publish_external(envelope_of(Noticed(n=1, fail_times=1)), routing_key=f"{unique}.outside")
    await wait_until(lambda: len(seen) == 2)
    assert seen == [(1, True, 1), (1, True, 2)]

    await outsider.publish_external(envelope_of(Probe(n=3)), routing_key=f"{unique}.probe")
    [letter] = await wait_for_dead_letters(harness, queue)
    assert await bus.replay([letter.id]) == 1
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        letters = await dead_letters_of(harness, queue)
        if letters:
            break
        assert asyncio.get_running_loop().time() < deadline, "the replayed forgery was not dead-lettered again"
        await asyncio.sleep(0.1)
    assert letters[0].external and "internal type from an external publisher" in letters[0].reason
    assert [n for n, _, _ in seen] == [1, 1], "the replayed forgery was never handed to a handler"
