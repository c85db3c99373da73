"""The consumer runtime for one worker: consume every endpoint of a service, answer pings, announce life.

A worker describes itself as a :class:`Service` (its name, version and endpoints); a
:class:`ServiceHost` runs it on any :class:`~bus.base.Bus`. The host adds the liveness query every
service answers (``system.Ping``), publishes ``system.worker.started`` once it consumes and
``system.worker.stopped`` after a graceful stop. A service may also declare background loops
(pollers, reconcilers) that run while it is hosted. Nothing here knows what a service does.

Example::

    host = ServiceHost(bus, Service("front50", "1.0", [commands_endpoint]))
    await host.start()
    ...
    await host.stop()  # in-flight handlers finish first (for at most ``stop_grace`` seconds)
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import structlog

from bus.base import Bus, Consumption
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.errors import BusError
from schemas.system import Ping, Pong, WorkerStarted, WorkerStopped

log = structlog.get_logger("gennaker.bus.service")

BackgroundTask = Callable[[Bus], Awaitable[None]]
"""``async def loop(bus)``: runs while the service is hosted; cancelled on stop, restarted if it raises."""


def instance_id() -> str:
    """Names this process among the copies of a worker: ``hostname:pid:short-random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Service:
    """What a worker is: its name (the first segment of the messages it owns), version and endpoints.

    At most one durable endpoint per kind (one queue per service per kind); each endpoint must be
    the service's own. The liveness query is added by :class:`ServiceHost`, not declared here.
    ``background`` loops start once the endpoints consume and are cancelled first on stop.
    """

    name: str
    version: str
    endpoints: list[Endpoint] = field(default_factory=list)
    background: list[BackgroundTask] = field(default_factory=list)

    def __post_init__(self) -> None:
        kinds: set[str] = set()
        for endpoint in self.endpoints:
            if endpoint.service != self.name:
                raise ValueError(
                    f"service {self.name!r} declares an endpoint of service {endpoint.service!r}; "
                    f"build it with Endpoint(service={self.name!r}, ...)"
                )
            if not endpoint.durable:
                continue
            if endpoint.kind in kinds:
                raise ValueError(
                    f"service {self.name!r} declares two {endpoint.kind} endpoints; "
                    "merge their handlers into one (one queue per service per kind)"
                )
            kinds.add(endpoint.kind)


class ServiceHost:
    """Runs one :class:`Service` on a bus: consumes its endpoints plus the ping query, announces itself.

    ``start`` returns once every endpoint is consumed and ``WorkerStarted`` is published; if an
    endpoint fails to start, the ones already started are stopped and the error is raised.
    ``stop`` stops taking messages, waits for handlers in flight, then publishes ``WorkerStopped``
    (a bus that is already closed only costs that announcement, logged). Both are idempotent.
    A background loop that raises is logged and started again after ``restart_delay`` seconds.
    With ``stop_grace``, handlers still running that many seconds into ``stop`` are cancelled and
    their messages go back to the queue unacknowledged (redelivered, as after a crash): a handler
    waiting on a peer that stopped first must not hold the worker past its stop signal.
    """

    def __init__(
        self,
        bus: Bus,
        service: Service,
        *,
        instance: str | None = None,
        restart_delay: float = 1.0,
        stop_grace: float | None = None,
    ) -> None:
        self.bus = bus
        self.service = service
        self.instance = instance or instance_id()
        self.restart_delay = restart_delay
        self.stop_grace = stop_grace
        self._consumptions: list[Consumption] = []
        self._background: list[asyncio.Task[None]] = []
        self._running = False
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        """True between a successful :meth:`start` and :meth:`stop`."""
        return self._running

    def endpoints(self) -> list[Endpoint]:
        """The service's endpoints with ``system.Ping`` merged into its queries endpoint (or added as one)."""
        ping = {Ping.message_type: self._answer_ping}
        merged: list[Endpoint] = []
        found = False
        for endpoint in self.service.endpoints:
            if endpoint.kind == "queries" and endpoint.durable:
                if Ping.message_type in endpoint.handlers:
                    raise ValueError(f"service {self.service.name!r} must not handle {Ping.message_type} itself")
                endpoint = replace(endpoint, handlers={**endpoint.handlers, **ping})
                found = True
            merged.append(endpoint)
        if not found:
            merged.append(Endpoint(service=self.service.name, kind="queries", handlers=ping))
        return merged

    async def _answer_ping(self, query: Ping, context: MessageContext) -> Pong:
        return Pong(service=self.service.name, version=self.service.version, instance=self.instance)

    async def start(self) -> None:
        """Consume every endpoint, then publish ``WorkerStarted``."""
        async with self._lock:
            if self._running:
                return
            with structlog.contextvars.bound_contextvars(service=self.service.name):
                try:
                    for endpoint in self.endpoints():
                        self._consumptions.append(await self.bus.consume(endpoint))
                    await self.bus.publish(
                        WorkerStarted(service=self.service.name, version=self.service.version, instance=self.instance),
                        subject=self.service.name,
                    )
                except BaseException:
                    await self._stop_consuming()
                    raise
                self._background = [
                    asyncio.create_task(self._supervise(loop), name=f"{self.service.name} background {index}")
                    for index, loop in enumerate(self.service.background)
                ]
                self._running = True
                log.info("worker started", instance=self.instance, version=self.service.version)

    async def stop(self, reason: str = "graceful shutdown") -> None:
        """Stop consuming, let in-flight handlers finish (within ``stop_grace``), then publish ``WorkerStopped``."""
        async with self._lock:
            if not self._running:
                return
            self._running = False
            with structlog.contextvars.bound_contextvars(service=self.service.name):
                await self._stop_background()
                await self._stop_consuming(self.stop_grace)
                try:
                    await self.bus.publish(
                        WorkerStopped(service=self.service.name, instance=self.instance, reason=reason),
                        subject=self.service.name,
                    )
                except BusError as error:
                    log.warning("could not announce the worker stopped", error=str(error))
                log.info("worker stopped", instance=self.instance, reason=reason)

    async def _supervise(self, loop: BackgroundTask) -> None:
        with structlog.contextvars.bound_contextvars(service=self.service.name):
            while True:
                try:
                    await loop(self.bus)
                    return
                except Exception as error:
                    log.error("a background task failed; restarting it", error=repr(error), exc_info=True)
                await asyncio.sleep(self.restart_delay)

    async def _stop_background(self) -> None:
        tasks, self._background = self._background, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _stop_consuming(self, grace: float | None = None) -> None:
        consumptions, self._consumptions = self._consumptions, []
        results = await asyncio.gather(*(c.stop(grace=grace) for c in consumptions), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("an endpoint did not stop cleanly", error=repr(result))

    async def __aenter__(self) -> ServiceHost:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
