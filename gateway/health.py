"""``GET /health``: is every service answering on the bus, and which version does each run?

The gateway pings every expected service at once, so the answer takes one timeout at worst however
many services are down. Load balancers read the status code; operators read the body.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from aiohttp import web

from bus import Bus, QueryFailed, QueryTimeout
from gateway.api_model import ApiModel, json_reply
from gateway.keys import BUS, CONFIG
from gateway.routing import Response, Route
from schemas.system import Ping, Pong

Status = Literal["UP", "DOWN"]


class ServiceHealth(ApiModel):
    """One service's answer to a ping, or why there was none."""

    status: Status
    version: str | None = None
    instance: str | None = None
    latency_ms: float | None = None
    error: str | None = None


class Health(ApiModel):
    """The whole system: ``UP`` only when every expected service answered."""

    status: Status
    version: str
    services: dict[str, ServiceHealth]


async def ping(bus: Bus, service: str, timeout: float) -> ServiceHealth:
    """Ask ``service`` for a :class:`Pong`; never raises, a failure is a ``DOWN`` answer."""
    started = time.perf_counter()
    try:
        reply = await bus.ask(Ping(), to=service, timeout=timeout)
    except QueryTimeout:
        return ServiceHealth(status="DOWN", error=f"no reply within {timeout:g}s")
    except QueryFailed as error:
        return ServiceHealth(status="DOWN", error=str(error))
    except Exception as error:
        return ServiceHealth(status="DOWN", error=f"{type(error).__name__}: {error}")
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    if not isinstance(reply, Pong):
        return ServiceHealth(status="DOWN", error=f"answered with {type(reply).__name__}, not Pong")
    return ServiceHealth(status="UP", version=reply.version, instance=reply.instance, latency_ms=latency_ms)


async def get_health(request: web.Request) -> web.Response:
    """Ping every configured service concurrently; 200 when all are up, 503 otherwise."""
    bus, config = request.app[BUS], request.app[CONFIG]
    answers = await asyncio.gather(*(ping(bus, service, config.health_timeout) for service in config.services))
    services = dict(zip(config.services, answers, strict=True))
    up = all(answer.status == "UP" for answer in answers)
    health = Health(status="UP" if up else "DOWN", version=config.version, services=services)
    return json_reply(health, status=200 if up else 503)


ROUTES = (
    Route(
        "GET",
        "/health",
        get_health,
        summary="Whether every service answers on the bus",
        tag="system",
        responses={
            200: Response("Every service answered", Health),
            503: Response("At least one service did not answer; see its error", Health),
        },
    ),
)
