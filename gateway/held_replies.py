"""The last tagged reply the gateway relayed for each query, so an unchanged answer need not travel again.

A service answering from its cache tags the reply (:attr:`bus.RawReply.tag`, a digest of its
JSON). The gateway asks the same query again with the reply it holds (``ask_raw(..., known=)``);
the service still receives, checks and answers the query, but when its answer is the one held it
leaves the data out — 80 KB of pipeline list, or megabytes of server groups, that would otherwise
cross the broker twice per read. A reply is kept only as the answer to exactly the query it
answered (its JSON, authority included), and the least recently asked go first beyond
:data:`MAX_BYTES`.

A reply of Front50's is also known *current* while Front50 has announced no change since it was
asked (:meth:`gateway.command_results.CommandResults.nothing_since`: Front50 answers every change
with an event, and the gateway's result subscription takes them all): then the gateway answers from
the held reply without asking again (relayed as it is by :meth:`RouteContext.ask_raw
<gateway.route_context.RouteContext.ask_raw>`, decoded by ``RouteContext.ask``: the application a
route judges its caller by, the pipeline a trigger starts, the application list). The route still
judges the caller on every request; what is skipped is only the query whose answer cannot differ.
Asking costs more than the rest of such a read (a message each way and Front50's check of its
store's revision, which every query waits for), and reads of unchanged data are most of the
gateway's traffic. What a read sees:

* every write the gateway itself answered before the read began: the write's event moved the count
  before its client was told, so the next read asks Front50, whose revision check then sees it;
* every write of a task the client saw finish here (``GET /tasks/{id}``): Orca finishes a task only
  once Front50's event reached Orca, and a finished task read makes the gateway ask Front50 again;
* every other write to Front50 (another gateway, Orca's pipeline stages) once its event has reached
  this gateway, a few milliseconds after Front50 published it;
* a held reply is not current across a lost broker connection, while the subscription is not
  running, or beyond :attr:`~gateway.command_results.CommandResults.SEEN_SECONDS` (a command that
  failed part-way changes data without an event until its retry succeeds).
"""

from __future__ import annotations

from collections import OrderedDict

from bus import RawReply
from gateway.command_results import CommandResults, Seen
from schemas.base import Query

ANNOUNCED = frozenset({"front50"})
"""Services whose every change the gateway hears of (an event on its result subscription): their
held replies may be answered again without asking."""

MAX_BYTES = 32 * 1024 * 1024
"""What the replies held may add up to."""


class HeldReplies:
    """Query → the tagged :class:`bus.RawReply` last received for it."""

    def __init__(self, *, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._held: OrderedDict[tuple[str, str], RawReply] = OrderedDict()
        self._current: dict[tuple[str, str], Seen] = {}
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

    def current(self, key: tuple[str, str], results: CommandResults) -> RawReply | None:
        """The reply held for ``key`` if its service has announced no change since it was asked (as
        ``results`` heard it): the answer asking again would bring."""
        seen = self._current.get(key)
        if seen is None or not results.nothing_since(seen):
            return None
        return self.get(key)

    def keep(self, key: tuple[str, str], reply: RawReply, *, asked: Seen | None = None) -> None:
        """Hold ``reply`` as the answer to ``key`` (a reply without a tag is not held); current, when
        ``asked`` says what its service had announced before the query was sent and nothing came since."""
        self._current.pop(key, None)
        if reply.tag is None or len(reply.json) > self.max_bytes // 8:
            return
        previous = self._held.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous.json)
        self._held[key] = reply
        self._bytes += len(reply.json)
        results = asked.results() if asked is not None else None
        if asked is not None and asked.service in ANNOUNCED and results is not None and results.nothing_since(asked):
            self._current[key] = asked
        while self._bytes > self.max_bytes:
            evicted_key, evicted = self._held.popitem(last=False)
            self._current.pop(evicted_key, None)
            self._bytes -= len(evicted.json)


HELD = HeldReplies()
"""The process's replies: tags are digests of the bytes, so every app may share them."""
