"""``gennaker up``'s in-process bus keeps its dead letters in the store: a new bus on the same
store (a restart) lists them, replays them, and forgets them once replayed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bus import Endpoint, MemoryBus, MessageContext, PermanentError
from gennaker.dead_letters import StoredDeadLetters
from tests.contract.messages import DoWork, Noticed
from tests.dead_letters import dead_lettered
from tests.mongo import fresh_database


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_dead_letters_survive_a_new_bus_on_the_same_store_and_replay_from_it() -> None:
    async with fresh_database() as db:
        first = MemoryBus(source="/test", dead_letters=StoredDeadLetters(db))

        async def refuse(message: DoWork, context: MessageContext) -> None:
            raise PermanentError(f"cannot do {message.job}")

        await first.consume(Endpoint(service="kept", kind="commands", handlers={"contract.DoWork": refuse}))
        sent = [await first.send(DoWork(job=job), to="kept") for job in ("a", "b")]
        letters: list[str] = []

        async def listed() -> None:
            while len(await first.dead_letters()) < 2:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(listed(), 5)
        before = await first.dead_letters()
        await first.close()

        second = MemoryBus(source="/test", dead_letters=StoredDeadLetters(db))  # the restarted process
        after = await second.dead_letters()
        assert after == before
        assert [letter.id for letter in after] == [envelope.id for envelope in sent]
        assert after[0].reason.endswith("cannot do a") and after[0].queue == "gennaker.kept.commands"
        assert after[0].dead_at.tzinfo is not None and b'"job":"a"' in after[0].body.replace(b" ", b"")

        async def accept(message: DoWork, context: MessageContext) -> None:
            letters.append(message.job)

        await second.consume(Endpoint(service="kept", kind="commands", handlers={"contract.DoWork": accept}))
        assert await second.replay([sent[1].id]) == 1
        await until(lambda: letters == ["b"])
        assert [letter.id for letter in await second.dead_letters()] == [sent[0].id]
        third = MemoryBus(source="/test", dead_letters=StoredDeadLetters(db))
        assert [letter.id for letter in await third.dead_letters()] == [sent[0].id], "a replayed letter is gone"
        await second.close()
        await third.close()


async def test_an_event_two_services_failed_on_is_two_letters_and_each_replays_to_its_own_queue() -> None:
    async with fresh_database() as db:
        first = MemoryBus(source="/test", dead_letters=StoredDeadLetters(db))

        async def refuse(message: Noticed, context: MessageContext) -> None:
            raise PermanentError("no")

        for service in ("left", "right"):
            handlers = {Noticed.message_type: refuse}
            await first.consume(
                Endpoint(service=service, kind="events", patterns=(Noticed.message_type,), handlers=handlers)
            )
        sent = await first.publish(Noticed(n=1))
        await dead_lettered(first, 2, "both consumers dead-lettered it")
        await first.close()

        second = MemoryBus(source="/test", dead_letters=StoredDeadLetters(db))
        letters = await second.dead_letters()
        assert sorted(letter.queue for letter in letters) == ["gennaker.left.events", "gennaker.right.events"]
        assert {letter.id for letter in letters} == {sent.id}
        seen: list[str] = []

        async def accept(message: Noticed, context: MessageContext) -> None:
            seen.append(context.envelope.id)

        for service in ("left", "right"):
            handlers = {Noticed.message_type: accept}
            await second.consume(
                Endpoint(service=service, kind="events", patterns=(Noticed.message_type,), handlers=handlers)
            )
        assert await second.replay([sent.id]) == 2
        await until(lambda: seen == [sent.id, sent.id])
        assert await second.dead_letters() == []
        await second.close()
