"""The last tagged reply the gateway relayed for each query, so an unchanged answer need not travel again.

A service answering from its cache tags the reply (:attr:`bus.RawReply.tag`, a digest of its
JSON). The gateway asks the same query again with the reply it holds (``ask_raw(..., known=)``);
the service still receives, checks and answers the query, but when its answer is the one held it
leaves the data out — 80 KB of pipeline list, or megabytes of server groups, that would otherwise
cross the broker twice per read. A reply is kept only as the answer to exactly the query it
answered (its JSON, authority included), and the least recently asked go first beyond
:data:`MAX_BYTES`.
"""

from __future__ import annotations

from collections import OrderedDict

from bus import RawReply
from schemas.base import Query

MAX_BYTES = 32 * 1024 * 1024
"""What the replies held may add up to."""


class HeldReplies:
    """Query → the tagged :class:`bus.RawReply` last received for it."""

    def __init__(self, *, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._held: OrderedDict[tuple[str, str], RawReply] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._held)

    @staticmethod
    def key(query: Query) -> tuple[str, str]:
        """What identifies ``query``: its type and every field of it."""
        return query.message_type, query.model_dump_json()

    def get(self, key: tuple[str, str]) -> RawReply | None:
        """The reply held for the query ``key``, if any."""
        held = self._held.get(key)
        if held is not None:
            self._held.move_to_end(key)
        return held

    def keep(self, key: tuple[str, str], reply: RawReply) -> None:
        """Hold ``reply`` as the answer to ``key`` (a reply without a tag is not held)."""
        if reply.tag is None or len(reply.json) > self.max_bytes // 8:
            return
        previous = self._held.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous.json)
        self._held[key] = reply
        self._bytes += len(reply.json)
        while self._bytes > self.max_bytes:
            _, evicted = self._held.popitem(last=False)
            self._bytes -= len(evicted.json)


HELD = HeldReplies()
"""The process's replies: tags are digests of the bytes, so every app may share them."""
