"""With no tracing SDK installed, every gateway request still runs in trace context: the caller's when it
sent a valid ``traceparent``, else a fresh unsampled one of its own (so every envelope names a trace).

Run in a process of its own: another test may have installed an SDK in this one, and it cannot be
taken out again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, json
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry import trace
from bus.tracing import current_traceparent
from gateway.tracing import tracing_middleware

async def handler(request):
    return web.json_response({"traceparent": current_traceparent()})

async def main():
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    app = web.Application(middlewares=[tracing_middleware])
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app)) as client:
        seen = []
        for headers in ({"traceparent": CALLER}, {}, {}, {"traceparent": "garbage"}):
            seen.append((await (await client.get("/", headers=headers)).json())["traceparent"])
    print(json.dumps(seen))

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
asyncio.run(main())
"""


def test_requests_continue_the_callers_trace_or_get_a_fresh_one() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    continued, fresh, other, after_garbage = json.loads(done.stdout.strip().splitlines()[-1])
    assert continued == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    for made in (fresh, other, after_garbage):
        version, trace_id, span_id, flags = made.split("-")
        assert (version, flags) == ("00", "00") and int(trace_id, 16) and int(span_id, 16)
    assert len({fresh.split("-")[1], other.split("-")[1], after_garbage.split("-")[1]}) == 3
