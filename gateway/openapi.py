"""The OpenAPI document, generated from the route table and its pydantic models, never written by hand.

OpenAPI 3.0.3 rather than 3.1: the Swagger UI we serve (4.x, from ``swagger-ui-bundle``) renders
only 3.0, so pydantic's JSON Schema (draft 2020-12) is brought down to 3.0's dialect on the way:
``null`` in ``anyOf`` becomes ``nullable``, ``const`` an ``enum``, ``examples`` an ``example``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gateway.auth.errors import AuthRefusal
from gateway.errors import ErrorBody
from gateway.keys import OPENAPI
from gateway.routing import JSON, Response, Route

OPENAPI_VERSION = "3.0.3"
REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_INVALID_INPUT = Response("The request is invalid; the error names the field", ErrorBody)


SECURITY_SCHEME = "bearerAuth"
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An API token (static auth: `gennaker auth token create` mints one) or an OIDC access token, "
        "sent as `Authorization: Bearer <token>`; not needed while the auth mode is `none`"
    ),
}
"""The security scheme every operation outside the public paths requires (Swagger UI's Authorize)."""
_GUARDED = {
    401: Response("No valid credentials: send `Authorization: Bearer <token>`", AuthRefusal),
    403: Response("The caller may not do this (the message names the permission it lacks)", AuthRefusal),
    503: Response("The message broker is away; nothing was done: retry after `Retry-After` seconds", ErrorBody),
}
"""What any authenticated operation may answer, whatever the route: the auth middleware's refusals
and the broker's absence (every request fails fast then)."""
_MISSING = Response("What the path names does not exist", ErrorBody)
_CONFLICT = Response("The state of what it changes rules the request out; the message says why", ErrorBody)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def openapi_document(
    routes: Iterable[Route], *, title: str, version: str, is_public: Callable[[str], bool] = lambda path: False
) -> dict[str, Any]:
    """Describe every documented route: its parameters, body and responses, with shared schemas.

    An operation whose path ``is_public`` (served without credentials) needs no security; every
    other one requires the bearer scheme and documents 401, 403 and 503, plus 404 when its path
    names something and 409 when it writes (a route's own descriptions win)."""
    documented = [route for route in routes if route.documented]
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for route in documented:
        for model, mode in _models_of(route, is_public(route.path)):
            wanted[(model, mode)] = None
    refs, definitions = models_json_schema(list(wanted), by_alias=True, ref_template=REF_TEMPLATE)
    components = {name: to_openapi_30(schema) for name, schema in definitions.get("$defs", {}).items()}
    paths: dict[str, dict[str, Any]] = {}
    for route in documented:
        path = _PATH_PARAMETER.sub(r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, refs, components, is_public(route.path))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Gennaker's gateway: every read is a query and every write a command on the bus.",
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {SECURITY_SCHEME: BEARER}},
        "security": [{SECURITY_SCHEME: []}],
    }


def _responses(route: Route, public: bool) -> dict[int, Response]:
    responses = dict(route.responses)
    if route.body is not None or route.query is not None:
        responses.setdefault(400, _INVALID_INPUT)
    if not public:
        for status, response in _GUARDED.items():
            responses.setdefault(status, response)
        if _PATH_PARAMETER.search(route.path):
            responses.setdefault(404, _MISSING)
        if route.method in _WRITES:
            responses.setdefault(409, _CONFLICT)
    return dict(sorted(responses.items()))


def _models_of(route: Route, public: bool) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    if route.body is not None:
        models.append((route.body, "validation"))
    if route.query is not None:
        models.append((route.query, "validation"))
    models.extend(
        (response.model, "serialization") for response in _responses(route, public).values() if response.model
    )
    return models


type _Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]
"""Each (model, mode) to its schema reference, as ``models_json_schema`` returns them."""


def _operation(route: Route, refs: _Refs, components: dict[str, Any], public: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation, "summary": route.summary, "tags": [route.tag]}
    if public:
        operation["security"] = []  # served without credentials
    if route.description:
        operation["description"] = route.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(route.path)
    ]
    if route.query is not None:
        parameters.extend(_query_parameters(components[_ref_name(refs[(route.query, "validation")])]))
    parameters.extend(
        {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in route.headers.items()
    )
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        schema = to_openapi_30(refs[(route.body, "validation")])
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    operation["responses"] = {
        str(status): _response(response, refs) for status, response in _responses(route, public).items()
    }
    return operation


def _response(response: Response, refs: _Refs) -> dict[str, Any]:
    if not response.media_type:
        return {"description": response.description}
    if response.model is None:
        schema: dict[str, Any] = {"type": "object" if response.media_type == JSON else "string"}
    else:
        schema = to_openapi_30(refs[(response.model, "serialization")])
    return {"description": response.description, "content": {response.media_type: {"schema": schema}}}


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    parameters = []
    for name, property_schema in schema.get("properties", {}).items():
        property_schema = dict(property_schema)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in property_schema:
            parameter["description"] = property_schema.pop("description")
        property_schema.pop("title", None)
        if property_schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameter["schema"] = property_schema
        parameters.append(parameter)
    return parameters


_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})


def to_openapi_30(schema: Any) -> Any:
    """Rewrite a JSON Schema 2020-12 (as pydantic emits it) into OpenAPI 3.0's schema dialect."""
    if isinstance(schema, list):
        return [to_openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    node: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            node[key] = {name: to_openapi_30(sub) for name, sub in value.items()}
        elif key in ("default", "example", "enum"):
            node[key] = value
        elif key == "const":
            node["enum"] = [value]
        elif key == "examples" and isinstance(value, list):
            if value:
                node["example"] = value[0]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            node["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            node[key] = True
        else:
            node[key] = to_openapi_30(value)
    for combinator in ("anyOf", "oneOf"):
        choices = node.get(combinator)
        if isinstance(choices, list) and {"type": "null"} in choices:
            rest = [choice for choice in choices if choice != {"type": "null"}]
            del node[combinator]
            node["nullable"] = True
            if len(rest) == 1:
                node.update(rest[0] if "$ref" not in rest[0] else {"allOf": rest})
            elif rest:
                node[combinator] = rest
    if "$ref" in node and len(node) > 1:
        node["allOf"] = [{"$ref": node.pop("$ref")}, *node.get("allOf", [])]
    return node


async def get_openapi(request: web.Request) -> web.Response:
    """The OpenAPI document of this gateway."""
    return web.json_response(request.app[OPENAPI])


ROUTES = (
    Route(
        "GET",
        "/openapi.json",
        get_openapi,
        summary="This API's OpenAPI 3 document",
        tag="documentation",
        responses={200: Response("OpenAPI 3.0 document", media_type=JSON)},
    ),
)
