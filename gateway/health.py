"""``GET /health``: is every service answering on the bus, and which version does each run?

The gateway pings every expected service at once, so the answer takes one timeout at worst however
many services are down. Load balancers read the status code; operators read the body, which says
in words what is down: the message broker (then no service can be asked, and the answer is a 503
with ``Retry-After``), or which service did not answer and why.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from aiohttp import web

from bus import BrokerUnavailable, Bus, QueryFailed, QueryTimeout
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


class BrokerHealth(ApiModel):
    """The gateway's connection to the message broker."""

    status: Status
    error: str | None = None


class Health(ApiModel):
    """The whole system: ``UP`` only when the broker is reachable and every expected service answered."""

    status: Status
    version: str
    broker: BrokerHealth
    services: dict[str, ServiceHealth]


BROKER_DOWN = "not asked: the message broker is unreachable"


async def ping(bus: Bus, service: str, timeout: float) -> ServiceHealth:
    """Ask ``service`` for a :class:`Pong`; never raises, a failure is a ``DOWN`` answer."""
    started = time.perf_counter()
    try:
        reply = await bus.ask(Ping(), to=service, timeout=timeout)
    except QueryTimeout:
        return ServiceHealth(status="DOWN", error=f"no reply within {timeout:g}s")
    except (QueryFailed, BrokerUnavailable) as error:
        return ServiceHealth(status="DOWN", error=str(error))
    except Exception as error:
        text = str(error)
        said = f": {text}" if text and "<" not in text else ""  # never an object's repr
        return ServiceHealth(status="DOWN", error=f"the ping failed ({type(error).__name__}{said})")
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    if not isinstance(reply, Pong):
        return ServiceHealth(status="DOWN", error=f"answered with {type(reply).__name__}, not Pong")
    return ServiceHealth(status="UP", version=reply.version, instance=reply.instance, latency_ms=latency_ms)


async def get_health(request: web.Request) -> web.Response:
    """Ping every configured service concurrently; 200 when all are up, 503 otherwise."""
    bus, config = request.app[BUS], request.app[CONFIG]
    outage = bus.outage()
    if outage is not None:
        down = {service: ServiceHealth(status="DOWN", error=BROKER_DOWN) for service in config.services}
        broker = BrokerHealth(status="DOWN", error=outage)
        health = Health(status="DOWN", version=config.version, broker=broker, services=down)
        reply = json_reply(health, status=503)
        reply.headers["Retry-After"] = "5"
        return reply
    answers = await asyncio.gather(*(ping(bus, service, config.health_timeout) for service in config.services))
    services = dict(zip(config.services, answers, strict=True))
    up = all(answer.status == "UP" for answer in answers)
    health = Health(
        status="UP" if up else "DOWN", version=config.version, broker=BrokerHealth(status="UP"), services=services
    )
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
            503: Response("The broker is unreachable, or a service did not answer; see the errors", Health),
        },
    ),
)
