"""The engine's promise: no lost step, no doubled step — through duplicates, crashes and restarts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus import Envelope, MemoryBus, RetryPolicy
from tests.integration.orca.conftest import FAST, Orca, by_ref, pipeline, stage, summary, tap_events
from workers.orca.engine.model import Execution, OutboxEntry, now_ms
from workers.orca.engine.outbox import OutboxRelay
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerPoller, TimerStore

Db = AsyncDatabase[dict[str, Any]]
PIPELINE = pipeline(
    stage("1", waitTime=0.1),
    stage("2", "evaluateVariables", after=("1",), variables=[{"key": "v", "value": 1}]),
    stage("3", after=("1",)),
    stage("4", after=("2", "3")),
)


class DoublingBus(MemoryBus):
    """Delivers every command sent to Orca twice, as an at-least-once broker may."""

    async def send_envelope(self, envelope: Envelope, *, to: str) -> None:
        await super().send_envelope(envelope, to=to)
        if to == "orca":
            await super().send_envelope(envelope, to=to)


async def test_every_message_delivered_twice_changes_nothing_twice(db: Db) -> None:
    bus = DoublingBus(source="/test")
    orca = Orca(bus, db)
    tap = await tap_events(bus, orca)
    await orca.start_host()
    try:
        execution_id = await orca.start(PIPELINE)
        execution = await orca.finished(execution_id)
        await asyncio.sleep(0.3)  # let every duplicate arrive
        execution = await orca.get(execution_id)
        assert summary(execution) == {
            "status": "SUCCEEDED",
            "1": "SUCCEEDED",
            "2": "SUCCEEDED",
            "3": "SUCCEEDED",
            "4": "SUCCEEDED",
        }
        assert by_ref(execution, "2")["outputs"] == {"v": 1}
        assert all(len(stage["tasks"]) == 1 for stage in execution["stages"])
        events = orca.event_types(execution_id)
        assert events.count("orca.execution.started") == 1
        assert events.count("orca.execution.completed") == 1
        assert events.count("orca.stage.started") == 4
        assert events.count("orca.stage.completed") == 4
        assert await bus.dead_letters() == []
    finally:
        await orca.stop_host()
        await tap.stop()
        await bus.close()


async def test_starting_an_execution_again_changes_nothing(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1")))
    first = await orca.finished(execution_id)
    await orca.start(pipeline(stage("1"), stage("2")), execution_id=execution_id)
    await asyncio.sleep(0.2)
    assert await orca.get(execution_id) == first
    assert orca.event_types(execution_id).count("orca.execution.started") == 1


async def test_a_crash_between_state_write_and_publish_is_recovered_by_the_relay(orca: Orca, monkeypatch: Any) -> None:
    """The handler stores its transition and 'dies' before delivering; the message is not redelivered.
    Only the relay's sweep of stale outbox entries can move the execution on."""
    deliver = OutboxRelay.deliver
    dropped: list[list[str]] = []

    async def crash_once(self: OutboxRelay, bus: Any, execution: Execution, **options: Any) -> int:
        types = [entry.envelope["type"] for entry in execution.outbox if entry.id in options.get("own", ())]
        if not dropped and any("StartStage" in type or "stage.started" in type for type in types):
            dropped.append(types)
            return 0
        return await deliver(self, bus, execution, **options)

    monkeypatch.setattr(OutboxRelay, "deliver", crash_once)
    execution_id = await orca.start(pipeline(stage("1"), stage("2", after=("1",))))
    execution = await orca.finished(execution_id, timeout=5)
    await orca.until_event(lambda event: event.subject == execution_id and "execution.completed" in event.type)
    assert dropped, "the simulated crash never happened"
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert orca.event_types(execution_id).count("orca.stage.started") == 2
    await outbox_empties(orca, execution_id)


async def test_a_message_handled_again_after_its_handler_died_delivers_what_that_handler_stored_at_once(
    db: AsyncDatabase[dict[str, Any]], monkeypatch: Any
) -> None:
    """An Orca that stored an execution's start and died before announcing it: the redelivered
    ``StartExecution`` delivers the stored messages at once, not after the sweep's grace period (5 s
    in production, which made such an execution start ~10 s late)."""
    deliver_one = OutboxRelay._deliver_one
    died: list[str] = []

    async def die_once(self: OutboxRelay, bus: Any, execution_id: str, entry: Any) -> None:
        if not died and "execution.started" in entry.envelope["type"]:
            died.append(entry.id)
            raise ConnectionError("the worker died before announcing the start")
        await deliver_one(self, bus, execution_id, entry)

    monkeypatch.setattr(OutboxRelay, "_deliver_one", die_once)
    bus = MemoryBus(source="/test", retry=RetryPolicy(base_delay=0.05))
    orca = Orca(bus, db, options=replace(FAST, outbox_interval=5.0, outbox_grace_ms=5_000))
    tap = await tap_events(bus, orca)
    await orca.start_host()
    try:
        asked = asyncio.get_running_loop().time()
        execution_id = await orca.start(pipeline(stage("1")))
        # the whole pipeline settles in the stored start: what may wait is its announcement
        await orca.until_event(lambda event: event.subject == execution_id and "execution.started" in event.type)
        took = asyncio.get_running_loop().time() - asked
        execution = await orca.finished(execution_id, timeout=10)
        await orca.until_event(lambda event: event.subject == execution_id and "execution.completed" in event.type)
    finally:
        await orca.stop_host()
        await tap.stop()
        await bus.close()
    assert died, "the simulated death never happened"
    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert took < 2.0, f"the stored start waited {took:.1f}s for the outbox sweep"
    assert orca.event_types(execution["id"]).count("orca.execution.started") == 1


async def outbox_empties(orca: Orca, execution_id: str) -> None:
    """Delivered entries leave the stored outbox (with the next save or the relay's pull, soon after)."""
    deadline = asyncio.get_running_loop().time() + 3
    while True:
        document = await orca.db["orca_executions"].find_one({"_id": execution_id})
        assert document is not None
        if document["outbox"] == []:
            return
        assert asyncio.get_running_loop().time() < deadline, document["outbox"]
        await asyncio.sleep(0.05)


async def test_timers_survive_a_worker_restart(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", waitTime=0.5), stage("2", after=("1",))))
    await orca.until(execution_id, lambda e: by_ref(e, "1")["status"] == "RUNNING")
    await asyncio.sleep(0.1)
    await orca.stop_host()
    assert await orca.db["orca_timers"].count_documents({"executionId": execution_id}) == 1
    await asyncio.sleep(0.6)  # the wait is over while no Orca runs
    assert (await orca.db["orca_executions"].find_one({"_id": execution_id}) or {})["status"] == "RUNNING"
    await orca.start_host()  # a new worker on the same store
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert await orca.db["orca_timers"].count_documents({}) == 0


class RecordingBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__(source="/test")
        self.sent: list[str] = []

    async def send_envelope(self, envelope: Envelope, *, to: str) -> None:
        self.sent.append(envelope.id)


async def test_two_replicas_never_both_fire_one_timer(db: Db) -> None:
    timers = TimerStore(db)
    await timers.prepare()
    for index in range(20):
        entry = OutboxEntry(
            id=f"timer-{index}",
            envelope={"id": f"timer-{index}", "source": "/t", "type": "io.gennaker.orca.RunTask.v1"},
            to="orca",
            due_at=now_ms(),
        )
        await timers.schedule("e", entry)
        await timers.schedule("e", entry)  # storing a timer twice stores it once
    bus = RecordingBus()
    replicas = [TimerPoller(TimerStore(db), owner=f"replica-{n}") for n in range(3)]
    fired = await asyncio.gather(*(replica.fire_due(bus) for replica in replicas))
    assert sum(fired) == 20
    assert sorted(bus.sent) == sorted({f"timer-{index}" for index in range(20)})
    assert await timers.count() == 0


async def test_a_timer_not_yet_due_is_not_fired(db: Db) -> None:
    timers = TimerStore(db)
    entry = OutboxEntry(id="later", envelope={"source": "/t", "type": "x"}, to="orca", due_at=now_ms() + 60_000)
    await timers.schedule("e", entry)
    bus = RecordingBus()
    assert await TimerPoller(timers, owner="r").fire_due(bus) == 0
    assert bus.sent == []


async def test_the_sweep_delivers_an_abandoned_entry_once_and_leaves_one_being_removed_alone(db: Db) -> None:
    """An old entry nobody delivered (its writer crashed) is sent once; an old entry this process
    delivered and is removing now (its save is slow) is neither sent again nor looked at twice."""
    store, timers = ExecutionStore(db), TimerStore(db)
    relay = OutboxRelay(store, timers, grace_ms=50)
    old = now_ms() - 60_000

    def entry(name: str) -> OutboxEntry:
        envelope = {"id": name, "source": "/t", "type": "io.gennaker.orca.StartStage.v1", "specversion": "1.0"}
        return OutboxEntry(id=name, envelope=envelope, to="orca", created_at=old)

    abandoned = Execution(id="sweep-abandoned", application="a", name="p", build_time=old, outbox=[entry("lost")])
    being_removed = Execution(id="sweep-removing", application="a", name="p", build_time=old, outbox=[entry("sent")])
    for execution in (abandoned, being_removed):
        assert await store.insert(execution)
    bus = RecordingBus()
    assert await relay.deliver(bus, being_removed, own={"sent"}) == 1
    taken = relay.take_delivered(being_removed.id)  # a save dropping it is under way
    assert taken == {"sent"}

    assert await asyncio.wait_for(relay.redeliver(bus), 5) == 1
    assert bus.sent == ["sent", "lost"]
    stored = await store.get(abandoned.id)
    assert stored is not None and stored.outbox == []

    relay.give_back(being_removed.id, taken)  # the save failed: the pull removes it instead
    assert await asyncio.wait_for(relay.redeliver(bus), 5) == 0
    assert bus.sent == ["sent", "lost"]
    stored = await store.get(being_removed.id)
    assert stored is not None and stored.outbox == []


async def test_one_sweep_pages_through_more_abandoned_outboxes_than_a_page_holds(db: Db) -> None:
    store = ExecutionStore(db)
    relay = OutboxRelay(store, TimerStore(db), grace_ms=50)
    old = now_ms() - 60_000
    for n in range(230):
        envelope = {"id": f"m{n}", "source": "/t", "type": "io.gennaker.orca.StartStage.v1", "specversion": "1.0"}
        entry = OutboxEntry(id=f"m{n}", envelope=envelope, to="orca", created_at=old)
        assert await store.insert(Execution(id=f"x{n:03d}", application="a", name="p", build_time=old, outbox=[entry]))
    bus = RecordingBus()
    assert await relay.redeliver(bus) == 230
    assert sorted(bus.sent) == sorted(f"m{n}" for n in range(230))
    assert await store.with_pending_outbox(now_ms()) == []


async def test_a_stalled_execution_is_found_among_many_with_nothing_to_check(db: Db) -> None:
    """Parked executions (a judgment waiting, no timer) have no ``checkAfter``; however many there
    are, the reconciler's query finds the one execution that is overdue, and only it."""
    store = ExecutionStore(db)
    await store.prepare()
    now = now_ms()
    for n in range(150):
        parked = Execution(id=f"parked-{n:03d}", application="a", name="p", build_time=now, status="RUNNING")
        assert await store.insert(parked)
    overdue = Execution(
        id="overdue", application="a", name="p", build_time=now, status="RUNNING", check_after=now - 1_000
    )
    later = Execution(id="later", application="a", name="p", build_time=now, status="RUNNING", check_after=now + 60_000)
    for execution in (overdue, later):
        assert await store.insert(execution)
    assert [execution.id for execution in await store.stalled(now)] == ["overdue"]


def test_fast_options_keep_the_relay_sweep_quick() -> None:
    assert FAST.outbox_grace_ms <= 100 and FAST.outbox_interval <= 0.1


class LosingBus(MemoryBus):
    """Loses the first command of one type after it was handed over, as a dying in-memory bus would."""

    def __init__(self, lose: str) -> None:
        super().__init__(source="/test")
        self.lose = lose
        self.lost: list[str] = []

    async def send_envelope(self, envelope: Envelope, *, to: str) -> None:
        if not self.lost and envelope.type == f"io.gennaker.orca.{self.lose}.v1":
            self.lost.append(envelope.id)
            return
        await super().send_envelope(envelope, to=to)


@pytest.mark.parametrize("lose", ["StartStage", "RunTask", "CompleteTask", "CompleteStage", "CompleteExecution"])
async def test_the_reconciler_re_drives_an_execution_whose_next_message_vanished(db: Db, lose: str) -> None:
    bus = LosingBus(lose)
    orca = Orca(bus, db, options=replace(FAST, settle_steps=0))  # every step a message, so any can be lost
    tap = await tap_events(bus, orca)
    await orca.start_host()
    try:
        execution_id = await orca.start(pipeline(stage("1"), stage("2", after=("1",), waitTime=0.1)))
        execution = await orca.finished(execution_id, timeout=10)
        assert bus.lost, f"no {lose} was lost"
        assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
        assert orca.event_types(execution_id).count("orca.execution.completed") == 1
    finally:
        await orca.stop_host()
        await tap.stop()
        await bus.close()


async def test_a_waiting_judgment_is_not_re_driven(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", "manualJudgment")))
    await orca.until(execution_id, lambda e: by_ref(e, "1")["status"] == "RUNNING")
    await asyncio.sleep(1.0)  # twice the stall time
    document = await orca.db["orca_executions"].find_one({"_id": execution_id})
    assert document is not None
    assert document["checkAfter"] is None, "a judgment parks its execution at no cost to the reconciler"
    assert by_ref(await orca.get(execution_id), "1")["tasks"][0]["status"] == "RUNNING"
