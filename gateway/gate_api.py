"""What every Gate-compatible route shares: Spinnaker's error JSON and open JSON bodies.

Gate (Spring Boot with kork's exception handlers) answers a failure with
``{"error": "Not Found", "message": "Application not found (id: foo)", "status": 404,
"timestamp": 1700000000000}``; Deck and ``spin`` print ``message``. The gateway's own routes use
:class:`gateway.errors.ErrorBody`; the Gate routes are wrapped with :func:`gate_route` instead, which
turns every expected failure (bad input, missing resource, refused access, a rejected command, a
service that did not answer) into this shape, adding ``field`` when one part of the input is to
blame. Anything unexpected still reaches the gateway's error middleware as a 500.
"""

from __future__ import annotations

import functools
import json
import time
from http import HTTPStatus
from typing import Any

import pydantic_core
import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bus import QueryFailed, QueryTimeout
from gateway.api_model import ApiModel
from gateway.auth.errors import AuthError
from gateway.errors import UNAVAILABLE, FieldProblem, GatewayError, RequestInvalid, unavailable
from gateway.routing import Response, Route, RouteHandler, read_document
from schemas.secrets import redact

log = structlog.get_logger("gennaker.gateway")


class SpinnakerError(ApiModel):
    """Gate's error body; ``field`` (ours) names the input to fix when one is to blame."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str
    status: int
    timestamp: int
    field: str | None = None
    problems: list[FieldProblem] | None = None


class GateError(GatewayError):
    """A failure whose ``status`` the raising route chooses, answered with Spinnaker's error JSON."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status = status


def not_found(message: str) -> GateError:
    """A 404 with Gate's wording, e.g. ``Application not found (id: foo)``."""
    return GateError(404, message)


def spinnaker_error(
    status: int, message: str, *, field: str | None = None, problems: list[FieldProblem] | None = None
) -> web.Response:
    """A response carrying :class:`SpinnakerError`."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    body = SpinnakerError(
        error=reason, message=message, status=status, timestamp=int(time.time() * 1000), field=field, problems=problems
    )
    return web.json_response(text=body.model_dump_json(exclude_none=True), status=status)


def _from_http_exception(error: web.HTTPException) -> web.Response:
    """Keep a body that is already Spinnaker's (the auth module's 403s); wrap any other."""
    if error.text:
        try:
            body = json.loads(error.text)
        except ValueError:
            body = None
        if isinstance(body, dict) and "message" in body:
            return web.json_response(body, status=error.status)
    return spinnaker_error(error.status, error.text or error.reason)


def gate_route(handler: RouteHandler) -> RouteHandler:
    """Wrap a Gate route's handler so its failures are answered in Spinnaker's error JSON."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except AuthError:
            raise  # the auth middleware answers (and logs) refusals in Gate's shape
        except GatewayError as error:
            if error.status >= 500:
                log.warning("request failed", status=error.status, error=str(error))
            reply = spinnaker_error(error.status, str(error), field=error.field, problems=error.problems or None)
            reply.headers.update(error.headers)
            return reply
        except QueryTimeout as error:
            log.warning("a service did not answer in time", error=str(error))
            advice = "the service did not answer in time; check that its worker is running and see GET /health"
            return spinnaker_error(504, f"{error} ({advice})")
        except QueryFailed as error:
            log.warning("a query failed", error=str(error))
            return spinnaker_error(502, str(error))
        except UNAVAILABLE as error:
            message, headers = unavailable(error)
            reply = spinnaker_error(503, message)
            reply.headers.update(headers)
            return reply
        except web.HTTPException as error:
            if error.status < 400:
                raise
            return _from_http_exception(error)

    return answer


class SpinnakerJson(ApiModel):
    """An open Spinnaker JSON object: the known fields typed, every other field kept as sent."""

    model_config = ConfigDict(extra="allow")


async def read_spinnaker_json[M: BaseModel](request: web.Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    """The JSON body checked against ``model`` (400 naming the field) and as sent, every field kept.

    Spinnaker's JSON is forwarded as the client wrote it; the model only guards the fields we read.
    """
    checked, raw = await read_document(request, model)
    if not isinstance(raw, dict):
        raise RequestInvalid("the request body must be a JSON object", field="body")
    return checked, raw


def gate_json(data: Any, *, status: int = 200) -> web.Response:
    """Spinnaker JSON as it is, ``null`` values included (Deck and spin expect Gate's exact shapes),
    with every secret hidden (:func:`schemas.secrets.redact`): no read returns one."""
    return web.json_response(redact(data), status=status)


def relayed_json(data: Any, *, status: int = 200) -> web.Response:
    """Spinnaker JSON a service already redacted (Clouddriver's cache hides every secret with
    :func:`schemas.secrets.redact` when it stores a resource), encoded without walking it again."""
    return web.Response(body=pydantic_core.to_json(data), status=status, content_type="application/json")


def relayed_bytes(body: bytes, *, status: int = 200) -> web.Response:
    """JSON a service wrote and redacted, relayed as its bytes (:meth:`bus.Bus.ask_raw`): the gateway
    neither decodes nor encodes it."""
    return web.Response(body=body, status=status, content_type="application/json")


def error_responses(*statuses: int) -> dict[int, Response]:
    """The documented error outcomes of a Gate route, each in Spinnaker's error JSON."""
    descriptions = {
        400: "The request is invalid; `field` names the part to fix",
        403: "The caller lacks the authorisation named in `message`",
        404: "The application, pipeline or task named in the path does not exist",
        409: "Someone else changed it since you read it; reload and apply your change again",
        422: "The Idempotency-Key was sent with another request within the last 24 hours",
        502: "The service answered with an error",
        503: "The message broker is away; nothing was done: retry after `Retry-After` seconds",
        504: "A service did not answer in time",
    }
    return {status: Response(descriptions[status], SpinnakerError) for status in statuses}


def gate_operation(
    tag: str, method: str, path: str, handler: Any, summary: str, ok: Response, *errors: int, **extra: Any
) -> Route:
    """A Gate route of ``tag``'s group: ``ok`` for 200 and each of ``errors`` in Spinnaker's error JSON."""
    return Route(
        method, path, handler, summary=summary, tag=tag, responses={200: ok, **error_responses(*errors)}, **extra
    )
