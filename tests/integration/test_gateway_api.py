"""What every route shares: the OpenAPI document, Swagger UI, metrics, errors and correlation ids."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bus import Endpoint, MemoryBus, MessageContext
from gateway.api_model import ApiModel, json_reply
from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.keys import BUS, ROUTES
from gateway.routes import ALL_ROUTES
from gateway.routing import Response, Route, read_body
from schemas.system import Ping, Pong

type Client = TestClient[web.Request, web.Application]


class Greeting(ApiModel):
    """A route added by a test, as later Gate routes will be."""

    user_name: str


class Greeted(ApiModel):
    """Its reply."""

    greeting_text: str


async def greet(request: web.Request) -> web.Response:
    greeting = await read_body(request, Greeting)
    return json_reply(Greeted(greeting_text=f"hello {greeting.user_name}"))


async def ask_nobody(request: web.Request) -> web.Response:
    await request.app[BUS].ask(Ping(), to="nobody", timeout=0.1)
    raise AssertionError("nobody answered")


async def ask_broken(request: web.Request) -> web.Response:
    await request.app[BUS].ask(Ping(), to="broken", timeout=2)
    raise AssertionError("broken answered")


async def crash(request: web.Request) -> web.Response:
    raise KeyError("secret internals")


async def show_log_context(request: web.Request) -> web.Response:
    return web.json_response(structlog.contextvars.get_contextvars())


EXTRA_ROUTES = (
    Route(
        "POST",
        "/greetings",
        greet,
        summary="Greet",
        tag="test",
        body=Greeting,
        responses={200: Response("Greeted", Greeted)},
    ),
    Route("GET", "/ask-nobody", ask_nobody, summary="Times out", tag="test", responses={}),
    Route("GET", "/ask-broken", ask_broken, summary="Fails", tag="test", responses={}),
    Route("GET", "/crash", crash, summary="Has a bug", tag="test", responses={}),
    Route("GET", "/log-context", show_log_context, summary="Log context", tag="test", responses={}, documented=False),
)


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    async def broken(query: Ping, context: MessageContext) -> Pong:
        raise RuntimeError("database unreachable")

    bus = MemoryBus()
    await bus.consume(Endpoint(service="broken", kind="queries", handlers={"system.Ping": broken}))
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
async def client(bus: MemoryBus) -> AsyncIterator[Client]:
    app = create_app(bus, GatewayConfig(version="9.9.9", services=()), routes=ALL_ROUTES + EXTRA_ROUTES)
    async with TestClient(TestServer(app)) as client:
        yield client


async def openapi(client: Client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    return document


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


async def test_openapi_describes_every_documented_route(client: Client) -> None:
    document = await openapi(client)
    routes = client.app[ROUTES] if client.app else ()

    assert document["openapi"] == "3.0.3"
    assert document["info"]["version"] == "9.9.9"
    # a path parameter's regex (``{job:.+}``, a job in folders) is aiohttp's, not OpenAPI's
    documented = {
        (route.method.lower(), re.sub(r"\{([^}:]+):[^}]*\}", r"{\1}", route.path))
        for route in routes
        if route.documented
    }
    described = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert described == documented
    assert ("get", "/events/stream") in described
    assert ("post", "/dlq/replay") in described
    assert ("post", "/greetings") in described
    assert ("get", "/log-context") not in described


async def test_openapi_schemas_come_from_the_models(client: Client) -> None:
    document = await openapi(client)
    schemas = document["components"]["schemas"]
    greetings = document["paths"]["/greetings"]["post"]

    body_ref = greetings["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/Greeting"
    assert schemas["Greeting"]["required"] == ["userName"]
    reply_ref = greetings["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert schemas[reply_ref.rsplit("/", 1)[1]]["properties"].keys() == {"greetingText"}
    assert greetings["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "latencyMs" in schemas["ServiceHealth"]["properties"]
    assert {"deadAt", "traceback", "body"} <= schemas["DeadLetterDetail"]["properties"].keys()
    stream_parameters = {p["name"]: p for p in document["paths"]["/events/stream"]["get"]["parameters"]}
    assert stream_parameters.keys() == {"pattern", "application", "execution", "lastEventId"}
    assert stream_parameters["pattern"]["schema"]["type"] == "array"
    assert document["paths"]["/dlq/{id}"]["get"]["parameters"][0]["name"] == "id"


async def test_openapi_declares_the_bearer_scheme_and_the_refusals_of_every_guarded_operation(client: Client) -> None:
    document = await openapi(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/health"]["get"]["security"] == []  # a public path needs no credentials
    assert "401" not in document["paths"]["/health"]["get"]["responses"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            statuses = operation["responses"].keys()
            assert {"401", "403", "503"} <= statuses, (method, path)
            assert "{" not in path or "404" in statuses, (method, path)
            assert method == "get" or "409" in statuses, (method, path)
            refusal = operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
            assert refusal.endswith("/AuthRefusal"), (method, path)


async def test_openapi_is_in_the_3_0_dialect_and_every_reference_resolves(client: Client) -> None:
    document = await openapi(client)
    schemas = document["components"]["schemas"]

    for key, value in walk(document):
        if key == "$ref":
            assert value.startswith("#/components/schemas/")
            assert value.rsplit("/", 1)[1] in schemas, f"dangling {value}"
        assert key not in ("const", "$defs", "prefixItems")
        assert value != {"type": "null"}


async def test_swagger_ui_is_served_from_local_assets(client: Client) -> None:
    response = await client.get("/swagger-ui.html")

    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "/openapi.json" in page
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(references) >= 4
    for reference in references:
        assert reference.startswith("/"), f"{reference} is not served by the gateway"
        asset = await client.get(reference)
        assert asset.status == 200, reference
        assert len(await asset.read()) > 0
    bundle = await client.get("/swagger-ui/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in await bundle.text()


async def test_only_the_pages_assets_are_served(client: Client) -> None:
    assert (await client.get("/swagger-ui/index.html")).status == 404
    assert (await client.get("/swagger-ui/..%2F..%2F__init__.py")).status == 404


def request_count(text: str, route: str, status: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "gennaker_gateway_requests_total" and (labels["route"], labels["status"]) == (
                route,
                status,
            ):
                return sample.value
    return 0.0


async def test_metrics_count_requests_by_route_and_status(client: Client) -> None:
    before = await (await client.get("/metrics")).text()
    await client.get("/dlq")
    await client.get("/dlq")
    await client.get("/dlq/abc")
    await client.get("/no/such/route")

    response = await client.get("/metrics")

    assert response.status == 200
    assert response.content_type == "text/plain"
    after = await response.text()
    assert request_count(after, "/dlq", "200") == request_count(before, "/dlq", "200") + 2
    assert request_count(after, "/dlq/{id}", "404") == request_count(before, "/dlq/{id}", "404") + 1
    assert request_count(after, "unmatched", "404") == request_count(before, "unmatched", "404") + 1
    assert "gennaker_messages_sent_total" in after


async def test_the_request_body_is_validated_against_the_route_model(client: Client) -> None:
    ok = await client.post("/greetings", json={"userName": "ada"})
    assert await ok.json() == {"greetingText": "hello ada"}

    bad = await client.post("/greetings", json={"userName": 3})
    assert bad.status == 400
    assert (await bad.json())["field"] == "userName"


async def test_query_timeout_is_504_naming_the_service(client: Client) -> None:
    response = await client.get("/ask-nobody")
    assert response.status == 504
    error = (await response.json())["error"]
    assert "'nobody'" in error
    assert "GET /health" in error


async def test_query_failure_is_502_with_the_services_error(client: Client) -> None:
    response = await client.get("/ask-broken")
    assert response.status == 502
    assert "database unreachable" in (await response.json())["error"]


async def test_a_bug_is_a_500_that_hides_internals(client: Client) -> None:
    response = await client.get("/crash")
    assert response.status == 500
    body = await response.json()
    assert "secret" not in body["error"]
    assert "X-Correlation-Id" in body["error"]


async def test_unknown_route_and_method_are_json_errors(client: Client) -> None:
    missing = await client.get("/nowhere")
    assert missing.status == 404
    assert "/nowhere" in (await missing.json())["error"]

    wrong_method = await client.delete("/dlq")
    assert wrong_method.status == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert "error" in await wrong_method.json()


async def test_correlation_id_is_bound_for_logs_and_echoed(client: Client) -> None:
    given = await client.get("/log-context", headers={"X-Correlation-Id": "trace-me"})
    assert given.headers["X-Correlation-Id"] == "trace-me"
    assert (await given.json())["correlation_id"] == "trace-me"

    fresh = await client.get("/log-context")
    chosen = fresh.headers["X-Correlation-Id"]
    assert chosen and chosen != "trace-me"
    assert (await fresh.json())["correlation_id"] == chosen

    streamed = await client.get("/events/stream", headers={"X-Correlation-Id": "stream-1"})
    assert streamed.headers["X-Correlation-Id"] == "stream-1"
    streamed.close()
