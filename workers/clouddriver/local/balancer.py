"""The ``local`` provider's load balancer: an aiohttp reverse proxy run as its own process.

``python -m workers.clouddriver.local.balancer --port 8080 --admin-port 9080``

It outlives the Clouddriver that started it and keeps its targets in memory; Clouddriver sets them
through the admin port (127.0.0.1 only):

* ``PUT /targets`` ``{"targets": [{"id", "url", "healthCheckPath", "enabled"}]}`` replaces the
  target set. A target new to the balancer takes traffic once its health check passed; a target
  that is disabled or left out takes no new request, and the call returns only when the requests
  in flight to it have finished (at most ``drainSeconds``, default 30), answering
  ``{"drained": true|false}``.
* ``GET /targets`` lists the targets with ``healthy``, ``enabled`` and ``inFlight``.

Requests on ``--port`` go round-robin to healthy, enabled targets. A request that fails to connect
(or whose connection drops before a response) is retried on another target when its method is
idempotent (GET, HEAD, OPTIONS, PUT, DELETE); with no target left the answer is 503. Targets are
health-checked every ``--health-interval`` seconds (GET ``healthCheckPath``; 2xx is healthy).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


@dataclass
class Target:
    """One instance behind the balancer."""

    id: str
    url: str
    health_path: str
    enabled: bool
    healthy: bool = False
    checked: bool = False
    in_flight: int = 0

    def json(self) -> dict[str, Any]:
        """The target as ``GET /targets`` shows it."""
        return {
            "id": self.id,
            "url": self.url,
            "healthCheckPath": self.health_path,
            "enabled": self.enabled,
            "healthy": self.healthy,
            "inFlight": self.in_flight,
        }


class Balancer:
    """The target set, the health checks and the proxy."""

    def __init__(self, *, health_interval: float) -> None:
        self.targets: dict[str, Target] = {}
        self.retired: dict[str, Target] = {}
        self.health_interval = health_interval
        self._turn = itertools.count()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client every proxied request and health check goes through."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=2.0),
                connector=aiohttp.TCPConnector(limit=0),
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        """Close the client."""
        if self._session is not None:
            await self._session.close()

    async def check(self, target: Target) -> None:
        """Health-check ``target`` once."""
        try:
            async with self.session.get(
                target.url + target.health_path, timeout=aiohttp.ClientTimeout(total=2.0)
            ) as response:
                target.healthy = 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError):
            target.healthy = False
        target.checked = True

    async def health_loop(self) -> None:
        """Check every target every ``health_interval`` seconds."""
        while True:
            await asyncio.gather(*(self.check(target) for target in list(self.targets.values())))
            await asyncio.sleep(self.health_interval)

    async def set_targets(self, wanted: list[dict[str, Any]], drain_seconds: float) -> bool:
        """Replace the target set; returns once the targets taken out of rotation drained."""
        fresh: dict[str, Target] = {}
        for item in wanted:
            existing = self.targets.get(item["id"]) or self.retired.pop(item["id"], None)
            target = existing or Target(
                id=item["id"], url=item["url"], health_path=item.get("healthCheckPath") or "/health", enabled=False
            )
            target.url = item["url"]
            target.health_path = item.get("healthCheckPath") or "/health"
            target.enabled = bool(item.get("enabled", True))
            fresh[target.id] = target
        leaving = [target for key, target in self.targets.items() if key not in fresh]
        for target in leaving:
            target.enabled = False
            self.retired[target.id] = target
        new = [target for target in fresh.values() if not target.checked]
        self.targets = fresh
        await asyncio.gather(*(self.check(target) for target in new))
        draining = [target for target in [*fresh.values(), *leaving] if not target.enabled]
        deadline = time.monotonic() + drain_seconds
        while any(target.in_flight for target in draining):
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.01)
        for target in leaving:
            if not target.in_flight:
                self.retired.pop(target.id, None)
        return not any(target.in_flight for target in draining)

    def candidates(self) -> list[Target]:
        """The targets that take traffic now, starting at the next in round-robin order."""
        ready = [target for target in self.targets.values() if target.enabled and target.healthy]
        if not ready:
            return []
        start = next(self._turn) % len(ready)
        return ready[start:] + ready[:start]

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        """Forward ``request`` to a target, retrying an idempotent one on a connection failure."""
        body = await request.read()
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = request.remote or ""
        tries = self.candidates()
        if request.method not in IDEMPOTENT:
            tries = tries[:1]
        last_error = "no healthy, enabled instance"
        for target in tries:
            target.in_flight += 1
            try:
                async with self.session.request(
                    request.method,
                    target.url + request.path_qs,
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                ) as answer:
                    content = await answer.read()
                    reply_headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                    reply_headers["X-Gennaker-Instance"] = target.id
                    return web.Response(status=answer.status, body=content, headers=reply_headers)
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
                target.healthy = False
                last_error = f"{target.id}: {error!r}"
            finally:
                target.in_flight -= 1
        return web.json_response({"error": "Service Unavailable", "message": last_error, "status": 503}, status=503)


def admin_app(balancer: Balancer) -> web.Application:
    """The admin API Clouddriver uses."""

    async def put_targets(request: web.Request) -> web.Response:
        payload = await request.json()
        targets = payload.get("targets")
        if not isinstance(targets, list):
            return web.json_response({"message": "body needs 'targets', a list"}, status=400)
        drained = await balancer.set_targets(targets, float(payload.get("drainSeconds", 30)))
        return web.json_response({"drained": drained, "targets": [t.json() for t in balancer.targets.values()]})

    async def get_targets(request: web.Request) -> web.Response:
        return web.json_response({"targets": [t.json() for t in balancer.targets.values()]})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    app = web.Application()
    app.router.add_put("/targets", put_targets)
    app.router.add_get("/targets", get_targets)
    app.router.add_get("/health", health)
    return app


async def serve(port: int, admin_port: int, health_interval: float) -> None:
    """Serve the proxy and the admin API until SIGTERM or SIGINT."""
    balancer = Balancer(health_interval=health_interval)
    proxy = web.Application()
    proxy.router.add_route("*", "/{tail:.*}", balancer.proxy)
    runners = [web.AppRunner(proxy, access_log=None), web.AppRunner(admin_app(balancer), access_log=None)]
    for runner in runners:
        await runner.setup()
    await web.TCPSite(runners[0], "127.0.0.1", port, reuse_address=True).start()
    await web.TCPSite(runners[1], "127.0.0.1", admin_port, reuse_address=True).start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    checks = asyncio.create_task(balancer.health_loop())
    print(f"balancer listening on 127.0.0.1:{port}, admin on 127.0.0.1:{admin_port}", flush=True)
    await stopping.wait()
    checks.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await checks
    for runner in runners:
        await runner.cleanup()
    await balancer.close()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--health-interval", type=float, default=0.5)
    arguments = parser.parse_args(argv)
    asyncio.run(serve(arguments.port, arguments.admin_port, arguments.health_interval))


if __name__ == "__main__":
    main()
