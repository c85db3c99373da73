"""The behaviour every ``Bus`` promises, run against MemoryBus and AmqpBus alike."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter

import pytest

from bus import DeadLetter, EncodedReply, Endpoint, Envelope, MessageContext, QueryFailed, QueryTimeout
from schemas import cloudevent_type
from tests.contract.conftest import FAST_RETRY, Harness
from tests.contract.messages import Answer, AskSomething, DoWork, Greet, Probe, StageCompleted

pytestmark = pytest.mark.timeout(90)


async def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def dead_letters_of(harness: Harness, queue: str) -> list[DeadLetter]:
    bus = await harness.bus()
    return [letter for letter in await bus.dead_letters() if letter.queue == queue]


async def wait_for_dead_letters(harness: Harness, queue: str, timeout: float = 15.0) -> list[DeadLetter]:
    deadline = time.monotonic() + timeout
    while not (found := await dead_letters_of(harness, queue)):
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing was dead-lettered from {queue}")
        await asyncio.sleep(0.1)
    return found


async def test_command_goes_to_exactly_one_of_competing_consumers(harness: Harness, unique: str) -> None:
    handled: Counter[str] = Counter()
    by_consumer: Counter[int] = Counter()

    def handler_for(consumer: int):
        async def handle(message: DoWork, context: MessageContext) -> None:
            handled[message.job] += 1
            by_consumer[consumer] += 1
            await asyncio.sleep(0.01)

        return handle

    for consumer in range(3):
        bus = await harness.bus()
        await bus.consume(
            Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": handler_for(consumer)}, prefetch=2)
        )
    sender = await harness.bus()
    for n in range(30):
        await sender.send(DoWork(job=f"job-{n}"), to=unique)
    await wait_until(lambda: sum(handled.values()) >= 30)
    await asyncio.sleep(0.3)
    assert set(handled) == {f"job-{n}" for n in range(30)}
    assert all(count == 1 for count in handled.values()), handled
    assert len(by_consumer) >= 2, f"work was not shared: {by_consumer}"


async def test_topic_patterns_route_like_amqp(harness: Harness, unique: str) -> None:
    one_word: list[str] = []
    everything: list[str] = []
    bus = await harness.bus()

    async def record_into(target: list[str]):
        async def handle(message: Probe | StageCompleted, context: MessageContext) -> None:
            target.append(f"{message.message_type}:{message.n}")

        return handle

    handlers_one = {
        "contract.probe": await record_into(one_word),
        "contract.stage.completed": await record_into(one_word),
    }
    handlers_all = {
        "contract.probe": await record_into(everything),
        "contract.stage.completed": await record_into(everything),
    }
    await bus.consume(Endpoint(service=f"{unique}-a", kind="events", patterns=("contract.*",), handlers=handlers_one))
    await bus.consume(Endpoint(service=f"{unique}-b", kind="events", patterns=("#",), handlers=handlers_all))
    publisher = await harness.bus()
    await publisher.publish(Probe(n=1))
    await publisher.publish(StageCompleted(n=2))
    await wait_until(lambda: len(everything) >= 2)
    await asyncio.sleep(0.3)
    assert one_word == ["contract.probe:1"]
    assert sorted(everything) == ["contract.probe:1", "contract.stage.completed:2"]


async def test_event_reaches_every_subscriber_group_once(harness: Harness, unique: str) -> None:
    seen: Counter[str] = Counter()

    def handler_for(group: str):
        async def handle(message: Probe, context: MessageContext) -> None:
            seen[group] += 1

        return handle

    bus = await harness.bus()
    for group in (f"{unique}-a", f"{unique}-b"):
        # two bindings that both match must still deliver once per queue
        await bus.consume(
            Endpoint(
                service=group,
                kind="events",
                patterns=("contract.probe", "contract.*"),
                handlers={"contract.probe": handler_for(group)},
            )
        )
    await (await harness.bus()).publish(Probe(n=7))
    await wait_until(lambda: sum(seen.values()) >= 2)
    await asyncio.sleep(0.3)
    assert seen == {f"{unique}-a": 1, f"{unique}-b": 1}


async def test_query_gets_its_reply_and_correlation(harness: Harness, unique: str) -> None:
    async def answer(query: AskSomething, context: MessageContext) -> Answer:
        await asyncio.sleep(query.delay)
        return Answer(text=f"{query.question}!")

    server = await harness.bus()
    await server.consume(Endpoint(service=unique, kind="queries", handlers={"contract.AskSomething": answer}))
    client = await harness.bus()
    replies = await asyncio.gather(
        *(client.ask(AskSomething(question=f"q{n}"), to=unique, timeout=10) for n in range(5))
    )
    assert [reply.text for reply in replies if isinstance(reply, Answer)] == [f"q{n}!" for n in range(5)]


async def test_query_deadline_raises_timeout(harness: Harness, unique: str) -> None:
    async def slow(query: AskSomething, context: MessageContext) -> Answer:
        await asyncio.sleep(query.delay)
        return Answer(text="late")

    server = await harness.bus()
    await server.consume(Endpoint(service=unique, kind="queries", handlers={"contract.AskSomething": slow}))
    client = await harness.bus()
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match=unique):
        await client.ask(AskSomething(question="slow", delay=2.0), to=unique, timeout=0.3)
    assert time.monotonic() - started < 1.5
    with pytest.raises(QueryTimeout):
        await client.ask(AskSomething(question="nobody"), to=f"{unique}-a", timeout=0.3)


async def test_a_raw_ask_gets_the_reply_json_and_its_errors(harness: Harness, unique: str) -> None:
    async def answer(query: AskSomething, context: MessageContext) -> Answer:
        if query.question == "fail":
            raise RuntimeError("database unavailable")
        return Answer(text=f"{query.question}!")

    server = await harness.bus()
    await server.consume(Endpoint(service=unique, kind="queries", handlers={"contract.AskSomething": answer}))
    client = await harness.bus()
    raw = await client.ask_raw(AskSomething(question="q"), to=unique, timeout=10)
    assert (raw.reply_type, raw.json, raw.field("text")) == (Answer, b'{"text":"q!"}', b'"q!"')
    cached = EncodedReply(Answer(text="cached"))

    async def from_cache(query: AskSomething, context: MessageContext) -> EncodedReply:
        return cached

    await server.consume(
        Endpoint(service=f"{unique}-c", kind="queries", handlers={"contract.AskSomething": from_cache})
    )
    held = await client.ask_raw(AskSomething(question="c"), to=f"{unique}-c", timeout=10)
    assert held.tag == cached.tag
    assert await client.ask_raw(AskSomething(question="c"), to=f"{unique}-c", timeout=10, known=held) is held
    with pytest.raises(QueryFailed, match="database unavailable"):
        await client.ask_raw(AskSomething(question="fail"), to=unique, timeout=10)
    with pytest.raises(QueryTimeout):
        await client.ask_raw(AskSomething(question="nobody"), to=f"{unique}-a", timeout=0.3)


async def test_query_handler_error_is_answered_not_timed_out(harness: Harness, unique: str) -> None:
    async def broken(query: AskSomething, context: MessageContext) -> Answer:
        raise RuntimeError("database unavailable")

    server = await harness.bus()
    await server.consume(Endpoint(service=unique, kind="queries", handlers={"contract.AskSomething": broken}))
    client = await harness.bus()
    with pytest.raises(QueryFailed, match="database unavailable"):
        await client.ask(AskSomething(question="x"), to=unique, timeout=5)


async def test_failing_handler_is_retried_with_growing_delay_then_dead_lettered(harness: Harness, unique: str) -> None:
    attempts: list[tuple[int, float]] = []

    async def flaky(message: DoWork, context: MessageContext) -> None:
        attempts.append((context.attempt, time.monotonic()))
        raise RuntimeError(f"boom {context.attempt}")

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": flaky}))
    sent = await bus.send(DoWork(job="doomed"), to=unique)
    await wait_until(lambda: len(attempts) >= FAST_RETRY.max_attempts, timeout=20)
    queue = f"gennaker.{unique}.commands"
    letters = await wait_for_dead_letters(harness, queue)
    assert [attempt for attempt, _ in attempts] == [1, 2, 3, 4]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(attempts)]
    expected = [FAST_RETRY.delay_ms(n) / 1000 for n in (1, 2, 3)]
    assert all(gap >= want * 0.9 for gap, want in zip(gaps, expected, strict=True)), (gaps, expected)
    assert gaps[0] < gaps[1] < gaps[2], gaps
    [letter] = letters
    assert letter.id == sent.id
    assert "boom 4" in letter.reason and "gave up after 4 attempts" in letter.reason
    assert letter.traceback and "RuntimeError: boom 4" in letter.traceback
    assert letter.attempts == 4
    assert json.loads(letter.body)["data"]["job"] == "doomed"


async def test_transient_failure_succeeds_on_retry(harness: Harness, unique: str) -> None:
    done: list[int] = []

    async def flaky(message: DoWork, context: MessageContext) -> None:
        if context.attempt <= message.fail_times:
            raise RuntimeError("not yet")
        done.append(context.attempt)

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": flaky}))
    await bus.send(DoWork(job="eventually", fail_times=2), to=unique)
    await wait_until(lambda: bool(done))
    assert done == [3]
    assert await dead_letters_of(harness, f"gennaker.{unique}.commands") == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid CloudEvents envelope"),
        (b'{"specversion": "1.0", "id": "x", "source": "/s", "data": {}}', "type: Field required"),
        (
            Envelope(source="/s", type=cloudevent_type("contract.NoSuchThing", 1), data={}).to_bytes(),
            "unknown message type 'contract.NoSuchThing'",
        ),
        (Envelope(source="/s", type="com.example.other", data={}).to_bytes(), "unknown message type"),
        (
            Envelope(source="/s", type=cloudevent_type("contract.DoWork", 1), data={"job": 5}).to_bytes(),
            "invalid contract.DoWork v1: job: Input should be a valid string",
        ),
        (
            Envelope(source="/s", type=cloudevent_type("contract.DoWork", 9), data={"job": "x"}).to_bytes(),
            "newer than this service knows",
        ),
    ],
    ids=["malformed-json", "missing-type", "unknown-type", "foreign-type", "failed-validation", "future-version"],
)
async def test_bad_message_is_dead_lettered_at_once_and_consumer_keeps_going(
    harness: Harness, unique: str, body: bytes, reason: str
) -> None:
    calls: list[str] = []

    async def handle(message: DoWork, context: MessageContext) -> None:
        calls.append(message.job)

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": handle}))
    queue = f"gennaker.{unique}.commands"
    await bus.put_raw(queue, body)
    await bus.send(DoWork(job="after"), to=unique)
    await wait_until(lambda: calls == ["after"])
    letters = await wait_for_dead_letters(harness, queue)
    [letter] = letters
    assert reason in letter.reason
    assert letter.attempts == 1
    assert letter.body == body


async def test_dead_letter_replay_returns_it_to_its_queue(harness: Harness, unique: str) -> None:
    calls: list[int] = []

    async def handle(message: DoWork, context: MessageContext) -> None:
        calls.append(context.attempt)
        if message.fail_times and len(calls) <= FAST_RETRY.max_attempts:
            raise RuntimeError("down")

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": handle}))
    sent = await bus.send(DoWork(job="replay-me", fail_times=1), to=unique)
    queue = f"gennaker.{unique}.commands"
    await wait_for_dead_letters(harness, queue)
    assert await bus.replay([sent.id]) == 1
    await wait_until(lambda: len(calls) == FAST_RETRY.max_attempts + 1)
    assert calls[-1] == 1, "a replayed message starts its attempts again"
    assert await dead_letters_of(harness, queue) == []


async def test_old_version_is_upcast_before_the_handler_sees_it(harness: Harness, unique: str) -> None:
    greeted: list[Greet] = []

    async def handle(message: Greet, context: MessageContext) -> None:
        greeted.append(message)

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.Greet": handle}))
    v1 = Envelope(source="/old-producer", type=cloudevent_type("contract.Greet", 1), data={"name": "Ada"})
    await bus.send_envelope(v1, to=unique)
    await bus.send(Greet(full_name="Grace"), to=unique)
    await wait_until(lambda: len(greeted) == 2)
    assert sorted(message.full_name for message in greeted) == ["Ada", "Grace"]


async def test_correlation_and_causation_flow_through_handlers(harness: Harness, unique: str) -> None:
    seen: list[Envelope] = []

    async def first(message: DoWork, context: MessageContext) -> None:
        await context.publish(Probe(n=1))

    async def second(message: Probe, context: MessageContext) -> None:
        seen.append(context.envelope)

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": first}))
    await bus.consume(
        Endpoint(
            service=f"{unique}-a", kind="events", patterns=("contract.probe",), handlers={"contract.probe": second}
        )
    )
    sent = await bus.send(DoWork(job="cause"), to=unique, subject="exec-1")
    await wait_until(lambda: bool(seen))
    [effect] = seen
    assert effect.correlationid == sent.correlationid
    assert effect.causationid == sent.id
    assert effect.subject == "exec-1"


async def test_unacked_message_is_redelivered_when_its_consumer_dies(harness: Harness, unique: str) -> None:
    sender = await harness.bus()
    await harness.crash_consumer_holding_one(unique, lambda: sender.send(DoWork(job="survivor"), to=unique))
    received: list[tuple[str, bool]] = []

    async def handle(message: DoWork, context: MessageContext) -> None:
        received.append((message.job, context.redelivered))

    survivor = await harness.bus()
    await survivor.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": handle}))
    await wait_until(lambda: bool(received), timeout=30)
    await asyncio.sleep(0.3)
    assert received == [("survivor", True)]


async def test_graceful_stop_finishes_in_flight_handler(harness: Harness, unique: str) -> None:
    finished: list[str] = []
    started = asyncio.Event()

    async def slow(message: DoWork, context: MessageContext) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(message.job)

    bus = await harness.bus()
    consumption = await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": slow}))
    await bus.send(DoWork(job="in-flight"), to=unique)
    await asyncio.wait_for(started.wait(), 10)
    await consumption.stop()
    assert finished == ["in-flight"]
    # acknowledged, so a new consumer does not see it again
    again: list[str] = []

    async def record(message: DoWork, context: MessageContext) -> None:
        again.append(message.job)

    await bus.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": record}))
    await bus.send(DoWork(job="next"), to=unique)
    await wait_until(lambda: bool(again))
    await asyncio.sleep(0.3)
    assert again == ["next"]


async def test_stop_with_grace_gives_unfinished_messages_back_once(harness: Harness, unique: str) -> None:
    """A handler still running when the grace ends is cancelled; its message is neither retried
    nor lost but handed, once, to the next consumer, as if the first had crashed."""
    quick: list[str] = []
    stuck = asyncio.Event()

    async def hang_on_slow(message: DoWork, context: MessageContext) -> None:
        if message.job.startswith("slow"):
            stuck.set()
            await asyncio.Event().wait()
        quick.append(message.job)

    bus = await harness.bus()
    first = await bus.consume(
        Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": hang_on_slow}, prefetch=8)
    )
    for n in range(5):
        await bus.send(DoWork(job=f"slow-{n}"), to=unique)
    await bus.send(DoWork(job="quick"), to=unique)
    await asyncio.wait_for(stuck.wait(), 10)
    await wait_until(lambda: quick == ["quick"])
    began = time.monotonic()
    await first.stop(grace=0.3)
    assert time.monotonic() - began < 5

    seen: Counter[tuple[str, int, bool]] = Counter()

    async def record(message: DoWork, context: MessageContext) -> None:
        seen[(message.job, context.attempt, context.redelivered)] += 1

    successor = await harness.bus()
    await successor.consume(Endpoint(service=unique, kind="commands", handlers={"contract.DoWork": record}))
    await wait_until(lambda: sum(seen.values()) >= 5, timeout=30)
    await asyncio.sleep(0.5)  # a retry copy would arrive after FAST_RETRY's first delay
    assert seen == Counter({(f"slow-{n}", 1, True): 1 for n in range(5)})
