"""A query's reply serialised to JSON once, for handlers that give the same answer many times.

A read cache keeps its answers as :class:`EncodedReply`: the bus splices :attr:`EncodedReply.json`
into the reply envelope as it is, so answering from the cache costs no serialisation however big
the reply, and nothing downstream can change what the cache holds (bytes are immutable; every
asker decodes its own copy).

Example::

    encoded = EncodedReply(PipelineList(pipelines=found))
    return encoded  # from a query handler, instead of the PipelineList itself
"""

from __future__ import annotations

import hashlib

from schemas import Reply


class EncodedReply:
    """``reply`` as JSON bytes, and the reply's type (which the bus checks against the query's)."""

    __slots__ = ("_tag", "json", "reply_type")

    def __init__(self, reply: Reply) -> None:
        self.reply_type: type[Reply] = type(reply)
        self.json: bytes = reply.model_dump_json().encode()
        self._tag: str | None = None

    @property
    def tag(self) -> str:
        """A digest of :attr:`json`, computed once: an asker holding a reply of this tag is not sent it
        again (:meth:`bus.Bus.ask_raw`'s ``known``)."""
        if self._tag is None:
            self._tag = hashlib.blake2b(self.json, digest_size=16).hexdigest()
        return self._tag

    @classmethod
    def spliced(cls, reply_type: type[Reply], json: bytes) -> EncodedReply:
        """A reply of ``reply_type`` whose JSON the caller assembled itself (such as a list joined from
        parts it serialised once each); the caller promises ``json`` is ``reply_type``'s JSON, and the
        asker still validates it against the model."""
        encoded = cls.__new__(cls)
        encoded.reply_type = reply_type
        encoded.json = json
        encoded._tag = None
        return encoded

    def __len__(self) -> int:
        return len(self.json)
