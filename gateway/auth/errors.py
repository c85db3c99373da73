"""The ways authentication and authorisation refuse a request, answered the way Gate answers them.

Gate (Spring Boot) replies to a refused request with ``{"error": "Unauthorized", "message": ...,
"status": 401, "timestamp": <epoch ms>}``; Spinnaker clients (Deck, spin) read that shape, so
these errors keep it rather than the gateway's own :class:`gateway.errors.ErrorBody`.
:func:`gateway.auth.middleware.auth_middleware` turns each exception into its reply.
"""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import BaseModel

from gateway.errors import GatewayError


class AuthRefusal(BaseModel):
    """Gate's error body (the shape of :class:`gateway.gate_api.SpinnakerError`) for 401, 403 and 503."""

    error: str
    message: str
    status: int
    timestamp: int


class AuthError(GatewayError):
    """A request refused by authentication or authorisation; ``status`` and ``reason`` say how."""

    status = 500
    reason = "Internal Server Error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, headers=headers)

    def reply(self) -> web.Response:
        """This refusal as Gate would send it."""
        body = AuthRefusal(error=self.reason, message=str(self), status=self.status, timestamp=int(time.time() * 1000))
        return web.json_response(text=body.model_dump_json(), status=self.status, headers=self.headers)


class Unauthenticated(AuthError):
    """No credentials where they are required, or credentials that do not check out (401).

    ``headers`` carries the ``WWW-Authenticate`` challenge (RFC 6750) telling the client how to
    authenticate and, for a bad token, why it was refused.
    """

    status = 401
    reason = "Unauthorized"


class AccessDenied(AuthError):
    """An authenticated caller without the authorisation a resource requires (403)."""

    status = 403
    reason = "Forbidden"


class AuthUnavailable(AuthError):
    """Credentials could not be checked because the identity provider did not answer (503)."""

    status = 503
    reason = "Service Unavailable"


def bearer_challenge(realm: str, *, error: str | None = None, description: str | None = None) -> dict[str, str]:
    """The ``WWW-Authenticate`` header for a bearer-token realm, with the RFC 6750 error if any."""
    parts = [f'Bearer realm="{realm}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append('error_description="{}"'.format(description.replace('"', "'")))
    return {"WWW-Authenticate": ", ".join(parts)}
