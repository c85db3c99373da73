"""The gateway's route table: each route says what it reads and returns, so the docs cannot drift.

A feature module exports ``ROUTES``, a tuple of :class:`Route`; :func:`gateway.app.create_app`
registers every one with aiohttp and :mod:`gateway.openapi` describes every one from the same
entries. Adding Gate's ``/applications`` later means writing its handler and models and listing
one more ``Route``; it then appears in ``/openapi.json`` and Swagger UI by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_origin

import pydantic_core
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bus.json_limits import unsafe_number
from gateway.errors import BodyTooLarge, RequestInvalid

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON = "application/json"


@dataclass(frozen=True)
class Response:
    """One documented outcome of a route: its body model (if JSON) or its media type (``""``: no body)."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = JSON


@dataclass(frozen=True)
class Route:
    """One HTTP operation: how it is served and how it is documented.

    ``body`` and ``query`` are the models the handler validates its input with (through
    :func:`read_body` and :func:`read_query`); ``responses`` maps status codes to outcomes.
    ``documented=False`` keeps plumbing such as static assets out of the OpenAPI document;
    ``headers`` names the optional request headers the handler reads, with what each does.
    """

    method: str
    path: str
    handler: RouteHandler
    summary: str
    tag: str
    responses: Mapping[int, Response]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    description: str = ""
    documented: bool = True
    operation_id: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def operation(self) -> str:
        """A stable operation id: given, else the handler's name."""
        return self.operation_id or self.handler.__name__


BODY_LIMIT = web.AppKey("body_limit", int)
"""The most bytes a request body may have (the app's ``client_max_size``, ``max_body_bytes``)."""


async def read_raw(request: web.Request) -> bytes:
    """The request body's bytes; :class:`BodyTooLarge` (413) beyond the app's :data:`BODY_LIMIT`."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(request.app.get(BODY_LIMIT, 0)) from None


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed as JSON, refused (400 naming the field) if it holds a number out of range.

    Integers beyond 64 bits, ``1e308``, ``NaN`` and ``Infinity`` break storage and arithmetic far
    from here (:mod:`bus.json_limits`); every body the gateway reads passes this one check.
    """
    try:
        document = pydantic_core.from_json(raw)
    except ValueError as error:
        raise RequestInvalid(f"the request body is not valid JSON: {error}", field="body") from None
    _refuse_unsafe_numbers(document)
    return document


def _refuse_unsafe_numbers(document: Any) -> None:
    problem = unsafe_number(document)
    if problem is not None:
        raise RequestInvalid(f"invalid request body: {problem.field}: {problem.message}", field=problem.field)


async def read_json(request: web.Request) -> Any:
    """The body parsed by :func:`parse_json`; ``None`` when it is empty."""
    raw = await read_raw(request)
    return parse_json(raw) if raw.strip() else None


async def read_document[M: BaseModel](request: web.Request, model: type[M]) -> tuple[M, Any]:
    """The JSON body checked against ``model`` and as parsed; 400 naming the bad field.

    The numbers are checked first (:func:`parse_json`), so ``1e400`` where an integer belongs is
    named for what it is rather than as the type the model expected.
    """
    raw = await read_raw(request)
    if not raw.strip():
        raise RequestInvalid(f"the request body is empty: send a JSON {model.__name__}", field="body")
    try:
        document = pydantic_core.from_json(raw)
    except ValueError:
        document = _INVALID  # the model's own parse says what is wrong, in its terms
    if document is not _INVALID:
        _refuse_unsafe_numbers(document)
    try:
        return model.model_validate_json(raw), document
    except ValidationError as error:
        raise RequestInvalid.from_validation(error, what=f"request body ({model.__name__})") from None


async def read_body[M: BaseModel](request: web.Request, model: type[M]) -> M:
    """Parse the JSON body as ``model``; raises :class:`RequestInvalid` naming the bad field."""
    checked, _ = await read_document(request, model)
    return checked


_INVALID = object()


def read_query[M: BaseModel](request: web.Request, model: type[M]) -> M:
    """Parse the query string as ``model``; list fields take every repeat of their parameter."""
    values: dict[str, object] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in request.query:
            continue
        values[key] = request.query.getall(key) if get_origin(info.annotation) is list else request.query[key]
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise RequestInvalid.from_validation(error, what="query string", root="query") from None
