"""Front50's read cache: each replica answers repeated queries from memory, never out of date.

Spinnaker's Front50 serves reads from an in-memory cache of its objects. Here each replica keeps
the replies it gave, already serialised (:class:`bus.EncodedReply`), keyed by the query, and
labelled with the store's *revision*: a counter that every Front50 command increments after its
writes and before it publishes its result event (:meth:`Front50Store.bump_revision`).

Before answering, a query learns the revision from MongoDB through a check that *began after the
query arrived*; if the revision moved, the replica empties its cache first. Hence a query sees
every write whose result event was published before the query was asked, whichever replica made
the write. That is the gateway's read-after-write: it answers a write only once the result event
has arrived, so the client's next read is asked after the revision moved. Front50's own events
could not promise this across replicas — another replica may still have the event in its queue
when the client's next query reaches it — so the revision, not the events, decides.

One check at a time runs, and every query that arrived before it began waits for the next one, so
under load one small read of MongoDB serves many queries. Any write clears the whole cache of
every replica; writes are rare next to reads.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bus import EncodedReply
from schemas import Query, Reply

MAX_BYTES = 64 * 1024 * 1024
"""What one replica's cache may hold; the least recently used replies go first."""


class ReadCache:
    """Encoded replies by query, valid for one revision of the store.

    ``read_revision`` reads the current revision from the database; ``answer`` does the rest.
    """

    def __init__(self, read_revision: Callable[[], Coroutine[Any, Any, int]], *, max_bytes: int = MAX_BYTES) -> None:
        self._read_revision = read_revision
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], EncodedReply] = OrderedDict()
        self._bytes = 0
        self._revision: int | None = None
        self._check: asyncio.Task[int] | None = None
        self._checks_started = 0
        self._check_number = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def answer(self, query: Query, compute: Callable[[], Awaitable[Reply]]) -> EncodedReply:
        """The reply to ``query``: from the cache if nothing changed since it was stored, else ``compute()``'s."""
        revision = await self._fresh_revision()
        if revision != self._revision:
            self.clear()
            self._revision = revision
        key = (query.message_type, query.model_dump_json())
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        encoded = EncodedReply(await compute())
        # computed from reads that began after ``revision`` was seen: keep it unless another query
        # has seen a newer revision meanwhile (then it may lack that change)
        if self._revision == revision:
            self._store(key, encoded)
        return encoded

    def clear(self) -> None:
        """Forget every reply."""
        self._entries.clear()
        self._bytes = 0

    def _store(self, key: tuple[str, str], encoded: EncodedReply) -> None:
        if len(encoded) > self.max_bytes // 8:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous)
        self._entries[key] = encoded
        self._bytes += len(encoded)
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    async def _fresh_revision(self) -> int:
        """The revision as read by a check that began after this call did: one check serves many queries."""
        arrived = self._checks_started
        while True:
            check = self._check
            if check is not None and self._check_number > arrived:
                return await asyncio.shield(check)
            if check is None or check.done():
                self._checks_started += 1
                self._check_number = self._checks_started
                self._check = asyncio.create_task(self._read_revision(), name="front50 revision check")
                self._check.add_done_callback(_retrieve)
                continue
            await asyncio.wait([check])


def _retrieve(task: asyncio.Task[int]) -> None:
    """Mark a failed check's error as seen: the queries that waited for it were answered with it."""
    if not task.cancelled():
        task.exception()
