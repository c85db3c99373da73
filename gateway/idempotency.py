"""Reads a client's ``Idempotency-Key`` header (IETF httpapi draft) for the routes that start work:
``POST /pipelines/{application}/{name}``, ``/pipelines/start``, ``/tasks`` and the webhooks.

The gateway keeps nothing: it hands the key, scoped to the caller, with a fingerprint of the
request, to the service that does the work in the command (:class:`schemas.idempotency.ClientKey`);
that service remembers it for 24 h, answers a repeat with the first request's ref and refuses
another request under the same key (422). A key that is not one (empty, too long, not visible
ASCII) is a 400 naming the header.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.errors import RequestInvalid
from schemas.idempotency import HEADER, ClientKey, fingerprint, parse_header

DOCUMENTED = {
    HEADER: (
        "Makes the request safe to retry (IETF httpapi draft; quoted or bare, at most 255 visible ASCII "
        "characters): sent again within 24 hours it answers the first request's ref and starts nothing; "
        "with another body it is a 422"
    )
}
"""The header as the routes that read it document it (OpenAPI)."""


def client_key(request: web.Request, body: Any, *, scope: str) -> ClientKey | None:
    """The request's key for ``scope`` (whose keys it is among: the caller), or ``None`` without one."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    try:
        key = parse_header(value)
    except ValueError as error:
        raise RequestInvalid(str(error), field=HEADER) from None
    return ClientKey(scope=scope, key=key, fingerprint=fingerprint(request.method, request.path, body))
