"""The CloudEvents 1.0 envelope that carries every message on the wire.

Structured JSON mode: the whole event, attributes and ``data``, is the message body. Anything that
speaks AMQP and CloudEvents can publish to or consume from Gennaker without our code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from ulid import ULID

from bus.json_limits import unsafe_number

CONTENT_TYPE = "application/cloudevents+json"


def new_id() -> str:
    """A fresh, time-ordered message id (a ULID)."""
    return str(ULID())


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
