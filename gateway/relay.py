"""Relaying a service's reply JSON to an HTTP client, secrets hidden, without decoding it on every read.

A route that only passes a reply on (:meth:`bus.Bus.ask_raw`) still owes the client what every
read promises: no secret in it (:mod:`schemas.secrets`). Finding out whether a reply names a
secret means scanning its text — for Front50's 80 KB pipeline list more than the rest of the
request costs — and the same bytes come back on every read until something changes. So the answer
is remembered by the reply's bytes: equal bytes hide to equal bytes, so nothing here can be
stale, and the least recently relayed replies are forgotten beyond :data:`MAX_BYTES`.

Example::

    raw = await route.ask_raw(ListPipelineConfigs(application=name), PipelineList)
    return relayed(raw.field("pipelines"))
"""

from __future__ import annotations

from collections import OrderedDict

from aiohttp import web

from bus import RawReply
from schemas.secrets import hidden_json_text

MAX_BYTES = 32 * 1024 * 1024
"""What the memo may hold, counting each reply and its hidden form."""


class HiddenReplies:
    """Reply JSON → the same JSON with every secret hidden, remembered for replies seen before."""

    def __init__(self, *, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._hidden: OrderedDict[bytes, bytes] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._hidden)

    def hide(self, text: bytes) -> bytes:
        """``text`` (JSON) with every secret hidden; ``text`` itself when it holds none."""
        known = self._hidden.get(text)
        if known is not None:
            self._hidden.move_to_end(text)
            return known
        hidden = hidden_json_text(text)
        size = len(text) + (len(hidden) if hidden is not text else 0)
        if size <= self.max_bytes // 8:
            self._hidden[text] = hidden
            self._bytes += size
            while self._bytes > self.max_bytes:
                evicted, shown = self._hidden.popitem(last=False)
                self._bytes -= len(evicted) + (len(shown) if shown is not evicted else 0)
        return hidden


HIDDEN = HiddenReplies()
"""The process's memo: hiding is a function of the bytes alone, so every app may share it."""


_FIELDS: OrderedDict[tuple[str, str], bytes] = OrderedDict()
"""(reply tag, field) → that field's JSON, hidden: a tagged reply held again is not sliced and hashed again."""
_MAX_FIELDS = 256


def relayed_field(raw: RawReply, name: str) -> web.Response:
    """:func:`relayed` for the field ``name`` of ``raw``; remembered by the reply's tag when it has one."""
    if raw.tag is None:
        return relayed(raw.field(name))
    key = (raw.tag, name)
    hidden = _FIELDS.get(key)
    if hidden is None:
        hidden = HIDDEN.hide(raw.field(name))
        _FIELDS[key] = hidden
        if len(_FIELDS) > _MAX_FIELDS:
            _FIELDS.popitem(last=False)
    else:
        _FIELDS.move_to_end(key)
    return web.Response(body=hidden, content_type="application/json", charset="utf-8")


def relayed(text: bytes, *, status: int = 200) -> web.Response:
    """An ``application/json`` response carrying ``text``, a reply's JSON, with its secrets hidden."""
    return web.Response(body=HIDDEN.hide(text), status=status, content_type="application/json", charset="utf-8")
