"""The gateway's route table: each route says what it reads and returns, so the docs cannot drift.

A feature module exports ``ROUTES``, a tuple of :class:`Route`; :func:`gateway.app.create_app`
registers every one with aiohttp and :mod:`gateway.openapi` describes every one from the same
entries. Adding Gate's ``/applications`` later means writing its handler and models and listing
one more ``Route``; it then appears in ``/openapi.json`` and Swagger UI by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import get_origin

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.errors import RequestInvalid

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


async def read_body[M: BaseModel](request: web.Request, model: type[M]) -> M:
    """Parse the JSON body as ``model``; raises :class:`RequestInvalid` naming the bad field."""
    raw = await request.read()
    if not raw.strip():
        raise RequestInvalid(f"the request body is empty: send a JSON {model.__name__}", field="body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise RequestInvalid.from_validation(error, what=f"request body ({model.__name__})") from None


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
