"""Turns every failure inside a request into a JSON error that says what went wrong and what to do.

Handlers raise a :class:`GatewayError` (the one root of the gateway's own failures, each with its
status) or let a bus error through; this middleware answers. Bad input is a 400 naming the field, a
service that did not answer a query or a command is a 504 naming it, a service that answered with
an error is a 502, a message broker that is away (or a full queue refusing the message) is a 503
with ``Retry-After``: every request runs under :func:`bus.fail_fast`, so it is told at once rather
than left waiting for the broker to come back. Only a bug in the gateway itself is a 500, and that
one is logged with its traceback and correlation id.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ValidationError

from bus import BrokerUnavailable, QueryFailed, QueryTimeout, fail_fast
from bus.overflow import QueueFull

log = structlog.get_logger("gennaker.gateway")

DEFAULT_RETRY_AFTER = 5.0
"""Seconds a client is told to wait when the broker refused a message for a reason of its own."""


class FieldProblem(BaseModel):
    """One invalid field: where it is (dotted path) and what is wrong with it."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    field: str | None = None
    problems: list[FieldProblem] | None = None


class GatewayError(Exception):
    """The root of every failure the gateway answers itself, with the HTTP ``status`` it answers.

    ``field`` names the input to fix when one is to blame, ``problems`` every invalid field, and
    ``headers`` go on the reply (``WWW-Authenticate``, ``Retry-After``). The error middleware and
    Gate's routes answer any of them the same way; only a bug is left to become a 500.
    """

    status = 500

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        problems: Sequence[FieldProblem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.problems = list(problems)
        self.headers = dict(headers or {})


class RequestInvalid(GatewayError):
    """The request's body, query or path is wrong; ``field`` names the part to fix."""

    status = 400

    @classmethod
    def from_validation(
        cls, error: ValidationError, *, what: str, prefix: tuple[str | int, ...] = (), root: str = "body"
    ) -> RequestInvalid:
        """Name every field pydantic rejected; ``prefix`` places them inside a larger body.

        A problem with the whole input (not one field) is reported against ``root``.
        """
        items = error.errors()
        problems = [
            FieldProblem(field=_dotted(prefix + tuple(item["loc"])) or root, message=item["msg"]) for item in items
        ]
        if not problems:
            return cls(f"invalid {what}", field=root)
        if items[0]["type"] == "json_invalid":
            return cls(f"{what} is not valid JSON: {items[0]['msg']}", field=root)
        listed = "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
        return cls(f"invalid {what}: {listed}", field=problems[0].field, problems=problems)


class BodyTooLarge(GatewayError):
    """The request body is larger than the gateway accepts (413); ``limit`` is that size in bytes."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the request body is larger than the {limit} bytes the gateway accepts; send less, or raise the "
            "gateway_max_body_bytes setting",
            field="body",
        )
        self.limit = limit


class UnsupportedMediaType(GatewayError):
    """A write whose body is not declared as JSON (415); see :mod:`gateway.browser`."""

    status = 415


class NotFound(GatewayError):
    """The thing named in the path does not exist."""

    status = 404


class CommandTimeout(GatewayError):
    """A command's answering event did not arrive in time (504); it may still be carried out.

    Not :class:`bus.QueryTimeout`: a query that timed out changed nothing, a command may have.
    ``service`` names the service that did not answer.
    """

    status = 504

    def __init__(self, message: str, *, service: str) -> None:
        super().__init__(message)
        self.service = service


def _dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


UNAVAILABLE = (BrokerUnavailable, QueueFull)
"""What a request meets while the message broker is away (or a full queue refuses its message)."""


def unavailable(error: BaseException) -> tuple[str, dict[str, str]]:
    """The message of a 503 for ``error`` (one of :data:`UNAVAILABLE`) and its ``Retry-After`` header."""
    retry_after = error.retry_after if isinstance(error, BrokerUnavailable) else DEFAULT_RETRY_AFTER
    log.warning("message broker unavailable", error=str(error))
    message = f"the message broker is unavailable: {error}; retry after {retry_after:g} s"
    return message, {"Retry-After": str(max(1, round(retry_after)))}


def error_reply(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> web.Response:
    """An error response in the gateway's one error shape."""
    return web.json_response(text=body.model_dump_json(exclude_none=True), status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer exceptions raised by ``handler`` with :class:`ErrorBody` JSON and the right status."""
    try:
        with fail_fast():
            return await handler(request)
    except GatewayError as error:
        if error.status >= 500:
            log.warning("request failed", status=error.status, error=str(error))
        body = ErrorBody(error=str(error), field=error.field, problems=error.problems or None)
        return error_reply(error.status, body, error.headers or None)
    except QueryTimeout as error:
        log.warning("query timed out", error=str(error))
        advice = "the service did not answer in time; check that its worker is running and see GET /health"
        return error_reply(504, ErrorBody(error=f"{error} ({advice})"))
    except QueryFailed as error:
        log.warning("query failed", error=str(error))
        return error_reply(502, ErrorBody(error=str(error)))
    except UNAVAILABLE as error:
        message, headers = unavailable(error)
        return error_reply(503, ErrorBody(error=message), headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        headers = {name: value for name, value in error.headers.items() if name.lower() == "allow"}
        return error_reply(error.status, ErrorBody(error=f"{error.reason}: {request.method} {request.path}"), headers)
    except Exception:
        log.exception("unhandled error in gateway handler")
        message = "internal error in the gateway; report it with the X-Correlation-Id of this response"
        return error_reply(500, ErrorBody(error=message))
