"""The CloudEvents 1.0 envelope that carries every message on the wire.

Structured JSON mode: the whole event, attributes and ``data``, is the message body. Anything that
speaks AMQP and CloudEvents can publish to or consume from Gennaker without our code.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bus.json_limits import unsafe_number

CONTENT_TYPE = "application/cloudevents+json"

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]
"""Crockford's base32 two digits (ten bits) at a time: a ULID's 26 digits in 13 look-ups."""
_RANDOM_BITS = 80
_last = [0, 0]
"""The millisecond and the random part of the id made last, so ids made in one millisecond still ascend."""
_lock = threading.Lock()


def new_id() -> str:
    """A fresh, time-ordered message id: a ULID (48 bits of milliseconds, 80 random), 26 characters.

    Ids made in the same millisecond ascend (the random part of the last one plus one), as the
    ``ulid`` package's monotonic generator makes them. Every message sent pays for its id, and that
    package's generator and encoder cost more than the rest of building the envelope.
    """
    with _lock:
        millisecond = time.time_ns() // 1_000_000
        if millisecond <= _last[0] and _last[1] + 1 < 1 << _RANDOM_BITS:
            millisecond, random = _last[0], _last[1] + 1
        else:
            millisecond, random = max(millisecond, _last[0] + 1), int.from_bytes(os.urandom(10))
        _last[0], _last[1] = millisecond, random
    v, p = millisecond << _RANDOM_BITS | random, _PAIRS
    return (
        p[v >> 120 & 1023] + p[v >> 110 & 1023] + p[v >> 100 & 1023] + p[v >> 90 & 1023] + p[v >> 80 & 1023]
        + p[v >> 70 & 1023] + p[v >> 60 & 1023] + p[v >> 50 & 1023] + p[v >> 40 & 1023] + p[v >> 30 & 1023]
        + p[v >> 20 & 1023] + p[v >> 10 & 1023] + p[v & 1023]
    )  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One CloudEvent plus Gennaker's extensions for tracing causality.

    ``correlationid`` follows one user action end to end; ``causationid`` is the id of the message
    whose handler produced this one; ``traceparent`` is W3C trace context, naming the span that sent
    it (:mod:`bus.tracing`).
    """

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_id, min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime = Field(default_factory=_now)
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: str = Field(default_factory=new_id)
    causationid: str | None = None
    traceparent: str | None = None

    def to_bytes(self) -> bytes:
        """Serialise as structured-mode CloudEvents JSON."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        """Parse a structured-mode body; raises ``pydantic.ValidationError`` naming the bad field.

        A received ``data`` holding a number no service can store or compute with (beyond 64 bits,
        ``NaN``, ``Infinity``: :mod:`bus.json_limits`) is refused here, so the delivery is
        dead-lettered naming the field instead of failing deep inside a handler.
        """
        return cls.model_validate_json(body, context=_RECEIVED)

    @field_validator("data")
    @classmethod
    def _numbers_fit(cls, data: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if info.context is _RECEIVED:
            problem = unsafe_number(data, "data")
            if problem is not None:
                raise ValueError(f"{problem.field}: {problem.message}")
        return data


_RECEIVED: dict[str, bool] = {"received": True}
"""The validation context of :meth:`Envelope.from_bytes`: what arrives from the wire is checked."""
