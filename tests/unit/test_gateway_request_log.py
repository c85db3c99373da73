"""At log level DEBUG the gateway writes one line per request, with its correlation id; above it, none."""

from __future__ import annotations

import io
import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.correlation import correlation_middleware
from gennaker.logging import configure_logging


async def handler(request: web.Request) -> web.Response:
    return web.json_response({"ok": True}, status=201)


async def lines_for_one_request(level: str) -> list[dict[str, object]]:
    out = io.StringIO()
    configure_logging(level, stream=out, format="json")
    try:
        app = web.Application(middlewares=[correlation_middleware])
        app.router.add_get("/thing", handler)
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/thing", headers={"X-Correlation-Id": "corr-42"})
            assert response.status == 201
    finally:
        configure_logging("WARNING")
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


async def test_one_line_per_request_at_debug_and_none_above() -> None:
    handled = [line for line in await lines_for_one_request("DEBUG") if line.get("event") == "request handled"]
    assert len(handled) == 1
    assert handled[0]["correlation_id"] == "corr-42" and handled[0]["status"] == 201
    assert handled[0]["path"] == "/thing" and handled[0]["method"] == "GET"
    assert not [line for line in await lines_for_one_request("INFO") if line.get("event") == "request handled"]
