"""Idempotency keys: how every call Gennaker makes to the outside world names itself, so that the
endpoint can drop a repeat (the IETF httpapi draft "The Idempotency-Key HTTP Header Field").

A key is derived from what names the work — for Orca's calls the execution, stage, task and the
stage attempt; for Clouddriver's the journalled operation; for Echo's the delivery — never drawn
at random. So a call made again, after a retry, a redelivered message or a worker that died
between the call and recording its answer, carries the first call's key::

    key = derive("orca.webhook", execution_id, stage_id, task_id, task_start, 1)
    headers = {HEADER: header_value(key)}       # Idempotency-Key: "6f1c…"

On the receiving side (the gateway's triggers, tasks and webhooks) :func:`parse_header` reads a
client's key, quoted as the draft's structured-field string or bare as most clients send it, and
the command carries it as a :class:`ClientKey` to the service that does the work, which keeps it
for :data:`WINDOW_MS`: the same key from the same caller answers the first request's ref, and
the same key with another request (its :func:`fingerprint` differs) is refused (422).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

HEADER = "Idempotency-Key"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://gennaker.dev/idempotency-key")
"""Fixed forever: changing it would give every call in flight a new key."""
MAX_LENGTH = 255
"""The longest key the gateway accepts from a client."""
WINDOW_MS = 24 * 3600 * 1000
"""How long a service remembers a client's key (the draft leaves it to the server; 24 h, as Stripe)."""


class ClientKey(BaseModel):
    """A client's ``Idempotency-Key`` as a command carries it to the service that remembers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: str = Field(min_length=1, max_length=300, description="Whose key: the caller (or a webhook's source)")
    key: str = Field(min_length=1, max_length=MAX_LENGTH)
    fingerprint: str = Field(min_length=1, max_length=128, description="The request it came with (fingerprint())")

    def record_id(self) -> str:
        """The key's id in the store that remembers it: one per (scope, key)."""
        return derive("client-key", self.scope, self.key)


def fingerprint(method: str, path: str, body: Any) -> str:
    """What makes two requests "the same request" under one key: method, path and JSON body (keys
    sorted, so the order a client writes them in does not matter)."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def derive(*parts: str | int | None) -> str:
    """A UUID-shaped key, the same for the same parts (in order), different for any other."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join("" if part is None else str(part) for part in parts)))


def header_value(key: str) -> str:
    """``key`` as the header's value: a structured-field string (RFC 8941), as the draft defines it."""
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def has_header(headers: dict[str, str]) -> bool:
    """Whether ``headers`` set an ``Idempotency-Key`` already (a user's own wins over ours)."""
    return any(name.lower() == HEADER.lower() for name in headers)


def parse_header(value: str) -> str:
    """The key a client sent: a quoted structured-field string, or the bare token most clients send.

    Raises :class:`ValueError` saying what is wrong: empty, longer than :data:`MAX_LENGTH`, or
    holding anything but visible ASCII.
    """
    text = value.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = _unquote(text[1:-1])
    if not text:
        raise ValueError(f"{HEADER} is empty; send a unique string per request, e.g. a UUID")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"{HEADER} is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    if not all(" " <= character <= "~" for character in text):
        raise ValueError(f"{HEADER} may hold only visible ASCII characters")
    return text


def _unquote(inner: str) -> str:
    out: list[str] = []
    escaped = False
    for character in inner:
        if escaped:
            if character not in '"\\':
                raise ValueError(f'{HEADER}: only \\" and \\\\ may be escaped in a quoted key')
            out.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == '"':
            raise ValueError(f'{HEADER}: a quote inside a quoted key must be escaped as \\"')
        else:
            out.append(character)
    if escaped:
        raise ValueError(f"{HEADER}: a quoted key ends with a lone backslash")
    return "".join(out)
