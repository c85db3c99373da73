"""Idempotency keys: how every call Gennaker makes to the outside world names itself, so that the
endpoint can drop a repeat (the IETF httpapi draft "The Idempotency-Key HTTP Header Field").

A key is derived from what names the work — for Orca's calls the execution, stage, task and the
stage attempt; for Clouddriver's the journalled operation; for Echo's the delivery — never drawn
at random. So a call made again, after a retry, a redelivered message or a worker that died
between the call and recording its answer, carries the first call's key::

    key = derive("orca.webhook", execution_id, stage_id, task_id, task_start, 1)
    headers = {HEADER: header_value(key)}       # Idempotency-Key: "6f1c…"

On the receiving side (the gateway's triggers) :func:`parse_header` reads a client's key, quoted
as the draft's structured-field string or bare as most clients send it.
"""

from __future__ import annotations

import uuid

HEADER = "Idempotency-Key"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://gennaker.dev/idempotency-key")
"""Fixed forever: changing it would give every call in flight a new key."""
MAX_LENGTH = 255
"""The longest key the gateway accepts from a client."""


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
