"""``GET /metrics`` for Prometheus, and the gateway's own request counts and latencies.

Requests are labelled by route template (``/dlq/{id}``), never by raw path, so a scan of random
URLs cannot blow up the number of series.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from gateway.routing import Response, Route

HTTP_REQUESTS = Counter(
    "gennaker_gateway_requests_total", "HTTP requests answered by the gateway", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram("gennaker_gateway_request_seconds", "Time to answer an HTTP request", ["method", "route"])
AUTH_FAILURES = Counter(
    "gennaker_gateway_auth_failures_total",
    "Failed authentications: refused (401) or throttled (429, too many failures from an address or for a user)",
    ["outcome"],
)
EVENT_STREAMS_OPEN = Gauge("gennaker_gateway_event_streams", "Server-sent event streams open right now")

UNMATCHED = "unmatched"


def route_label(request: web.Request) -> str:
    """The route template that matched ``request``, or ``unmatched``."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every request by method, route and final status (outside the error middleware)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        key = (request.method, route_label(request), status)
        series = _SERIES.get(key)
        if series is None:
            method, route, _ = key
            series = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_SECONDS.labels(method, route))
            _SERIES[key] = series
        series[0].inc()
        series[1].observe(time.perf_counter() - started)


_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}
"""(method, route template, status) → its counter and histogram: looking a labelled series up by its labels
costs a lock and a tuple of strings per request. Bounded as the series are (route templates, never paths)."""


async def get_metrics(request: web.Request) -> web.Response:
    """Every metric of this process in Prometheus's text format."""
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


ROUTES = (
    Route(
        "GET",
        "/metrics",
        get_metrics,
        summary="Prometheus metrics of this process",
        tag="system",
        responses={200: Response("Prometheus text exposition format", media_type="text/plain")},
    ),
)
