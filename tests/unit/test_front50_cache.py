"""The rules that keep Front50's read cache from answering with data older than the question."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from schemas.front50 import ListPipelineConfigs, PipelineList
from workers.front50.cache import ReadCache


class Store:
    """A revision counter and one list of pipeline names, with reads that can be held back."""

    def __init__(self) -> None:
        self.revision = 0
        self.names: list[str] = []
        self.revision_reads = 0
        self.hold_revision: asyncio.Event | None = None

    async def read_revision(self) -> int:
        self.revision_reads += 1
        seen = self.revision
        if self.hold_revision is not None:
            await self.hold_revision.wait()
        return seen

    def write(self, name: str) -> None:
        self.names.append(name)
        self.revision += 1


def listed(encoded: object) -> list[str]:
    data = json.loads(getattr(encoded, "json"))  # noqa: B009
    return [pipeline["name"] for pipeline in data["pipelines"]]


QUERY = ListPipelineConfigs(application="billing")


async def test_answers_from_memory_until_the_revision_moves() -> None:
    store = Store()
    cache = ReadCache(store.read_revision)
    computed = 0

    async def compute() -> PipelineList:
        nonlocal computed
        computed += 1
        return PipelineList(pipelines=[{"name": name} for name in store.names])

    assert listed(await cache.answer(QUERY, compute)) == []
    assert listed(await cache.answer(QUERY, compute)) == []
    assert computed == 1
    store.write("deploy")
    assert listed(await cache.answer(QUERY, compute)) == ["deploy"]
    assert computed == 2


async def test_a_read_that_raced_a_write_does_not_fill_the_cache() -> None:
    store = Store()
    cache = ReadCache(store.read_revision)
    release = asyncio.Event()

    async def slow_compute() -> PipelineList:
        snapshot = list(store.names)  # read before the write below
        await release.wait()
        return PipelineList(pipelines=[{"name": name} for name in snapshot])

    async def compute() -> PipelineList:
        return PipelineList(pipelines=[{"name": name} for name in store.names])

    slow = asyncio.create_task(cache.answer(QUERY, slow_compute))
    await asyncio.sleep(0.01)
    store.write("deploy")
    assert listed(await cache.answer(QUERY, compute)) == ["deploy"], "a query asked after the write sees it"
    release.set()
    assert listed(await slow) == [], "asked before the write was done: either answer is right"
    assert listed(await cache.answer(QUERY, compute)) == ["deploy"], "the slow read's old answer was not kept"


async def test_a_query_never_trusts_a_check_that_began_before_it_arrived() -> None:
    store = Store()
    cache = ReadCache(store.read_revision)

    async def compute() -> PipelineList:
        return PipelineList(pipelines=[{"name": name} for name in store.names])

    await cache.answer(QUERY, compute)  # cached at revision 0
    store.hold_revision = asyncio.Event()
    early = asyncio.create_task(cache.answer(QUERY, compute))
    await asyncio.sleep(0.01)  # its check has read revision 0 and is held
    store.write("deploy")  # done, and the event published, while that check is in flight
    late = [asyncio.create_task(cache.answer(QUERY, compute)) for _ in range(10)]
    await asyncio.sleep(0.01)
    store.hold_revision.set()
    assert listed(await early) == []
    assert [listed(answer) for answer in await asyncio.gather(*late)] == [["deploy"]] * 10
    assert store.revision_reads == 3, "one check for the early query, one shared by the ten late ones"


async def test_a_failed_check_fails_the_queries_waiting_for_it_and_the_next_one_retries() -> None:
    store = Store()
    failures = iter([True, False])

    async def read_revision() -> int:
        if next(failures):
            raise ConnectionError("database unavailable")
        return store.revision

    cache = ReadCache(read_revision)

    async def compute() -> PipelineList:
        return PipelineList(pipelines=[])

    try:
        await cache.answer(QUERY, compute)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed check was not reported")
    assert listed(await cache.answer(QUERY, compute)) == []


async def test_the_least_recently_used_replies_go_when_full() -> None:
    store = Store()
    cache = ReadCache(store.read_revision, max_bytes=4000)

    def compute_for(size: int) -> Callable[[], Awaitable[PipelineList]]:
        async def compute() -> PipelineList:
            return PipelineList(pipelines=[{"name": "x" * size}])

        return compute

    for number in range(10):
        await cache.answer(ListPipelineConfigs(application=f"app{number}"), compute_for(450))
    assert 0 < len(cache) < 10
    await cache.answer(ListPipelineConfigs(application="huge"), compute_for(1000))
    assert len(cache) < 10, "a reply above an eighth of the cache is answered but not kept"
