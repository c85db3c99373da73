"""A local server speaking Datadog's metrics query API (``GET /api/v1/query``) and its active metrics
list (``GET /api/v1/metrics?from=`` → ``{"metrics": [...]}``), for Kayenta's tests.

No Datadog can be reached here. This server answers as Datadog documents: the ``DD-API-KEY`` and
``DD-APPLICATION-KEY`` headers are required (403 ``{"errors": ["Forbidden"]}``), ``from``/``to``
are epoch seconds, a query is ``<metric>{<scope>}`` and the answer is ``{"status": "ok",
"res_type": "time_series", "series": [{"metric", "scope", "pointlist": [[ms, value]...],
"start", "end", "interval", "tag_set"}], "from_date", "to_date", "query"}`` with one point per
second from ``from`` to ``to``; a query it cannot parse is a 400 with Datadog's ``errors`` list.
"""

from __future__ import annotations

import re

from aiohttp import web

QUERY = re.compile(r"^(?P<metric>[A-Za-z0-9_.]+)\{(?P<scope>[^}]*)\}$")
API_KEY, APPLICATION_KEY = "test-api-key", "test-application-key"


def datadog_app(series: dict[tuple[str, str], float]) -> web.Application:
    """The server, answering ``series[(metric, scope)]`` as a constant value per second."""

    async def query(request: web.Request) -> web.Response:
        headers = request.headers
        if headers.get("DD-API-KEY") != API_KEY or headers.get("DD-APPLICATION-KEY") != APPLICATION_KEY:
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        text = request.query.get("query", "")
        parsed = QUERY.match(text)
        if parsed is None:
            return web.json_response({"errors": [f"Error parsing query: unable to parse {text}"]}, status=400)
        start, end = int(request.query["from"]), int(request.query["to"])
        value = series.get((parsed["metric"], parsed["scope"]))
        entries = []
        if value is not None:
            points = [[second * 1000.0, value] for second in range(start, end + 1)]
            entries.append(
                {
                    "metric": parsed["metric"],
                    "scope": parsed["scope"],
                    "expression": text,
                    "pointlist": points,
                    "start": start * 1000,
                    "end": end * 1000,
                    "interval": 1,
                    "length": len(points),
                    "tag_set": [parsed["scope"]],
                }
            )
        body = {"status": "ok", "res_type": "time_series", "series": entries, "query": text}
        return web.json_response({**body, "from_date": start * 1000, "to_date": end * 1000})

    async def active_metrics(request: web.Request) -> web.Response:
        headers = request.headers
        if headers.get("DD-API-KEY") != API_KEY or headers.get("DD-APPLICATION-KEY") != APPLICATION_KEY:
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        if not request.query.get("from", "").isdigit():
            return web.json_response({"errors": ["Parameter 'from' is required (epoch seconds)"]}, status=400)
        metrics = sorted({metric for metric, _ in series})
        return web.json_response({"metrics": metrics, "from": request.query["from"]})

    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    app.router.add_get("/api/v1/metrics", active_metrics)
    return app
