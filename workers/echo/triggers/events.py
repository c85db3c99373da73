"""Echo's trigger-side view of ``gennaker.events``: a durable queue shared by the replicas, and a
private one per replica.

``gennaker.echo.trigger-events`` (durable, bound to ``#``, competing consumers) receives every
event, Gennaker's and foreign CloudEvents alike, undecoded (a raw handler, so an event type no
Gennaker model knows is not a dead letter). Each event:

1. joins the recent-events history (:mod:`workers.echo.triggers.history`);
2. starts the pipelines whose ``cloudevent`` triggers ask for its type
   (:mod:`workers.echo.triggers.cloudevents`);
3. starts, for a build Igor announced, the pipelines whose ``jenkins`` trigger names its job
   (:mod:`workers.echo.triggers.jenkins`);
4. starts, for a tag Igor's docker monitor announced, the pipelines whose ``docker`` trigger asks
   for it (:mod:`workers.echo.triggers.docker`).

Each replica also keeps its own :class:`~workers.echo.triggers.pipelines.PipelineIndex` current
from Front50's ``pipeline.saved`` / ``pipeline.deleted`` / ``application.deleted``, which every
replica must see: they come through a private queue per replica, and through the shared queue too
(so the replica handling an event has seen the saves before it, whichever queue is faster).

Events are handled one at a time, in the order the queue delivered them (each handler first takes
a lock, which waiters get in turn), so the history keeps that order; the prefetch of
:data:`PREFETCH` only spares the round trip to the broker between one event and the next, which
with one event in hand at a time bounded the queue to one event per round trip.

It is a queue of its own, not ``gennaker.echo.events`` (which Echo's notifications consume with
typed handlers), so it runs as a background consumption next to the service's endpoints. A
failure (MongoDB or Front50 down) raises, and the bus retries the event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bus import Bus, Endpoint, Envelope, MessageContext
from bus.service import BackgroundTask
from schemas.base import cloudevent_type
from schemas.front50 import ApplicationDeleted, PipelineDeleted, PipelineSaved
from workers.echo.triggers.cloudevents import CloudEventTriggers
from workers.echo.triggers.docker import DockerEventTriggers
from workers.echo.triggers.history import RecentEventsStore
from workers.echo.triggers.jenkins import JenkinsTriggers
from workers.echo.triggers.pipelines import PipelineIndex

QUEUE = "gennaker.echo.trigger-events"
MAX_WAITING = 100_000
"""Events the shared queue holds while no Echo consumes it; beyond, it refuses more (with the bus's
overflow alarm) rather than fill the broker."""
PREFETCH = 64
"""Events of the shared queue this replica holds at once: handled one by one, in delivery order."""
INDEX_EVENTS = ("front50.pipeline.saved", "front50.pipeline.deleted", "front50.application.deleted")

_SAVED = cloudevent_type(PipelineSaved.message_type, PipelineSaved.message_version)
_DELETED = cloudevent_type(PipelineDeleted.message_type, PipelineDeleted.message_version)
_APPLICATION_DELETED = cloudevent_type(ApplicationDeleted.message_type, ApplicationDeleted.message_version)


@dataclass(frozen=True)
class TriggerEventsEndpoint(Endpoint):
    """An events endpoint whose durable queue is ``queue_name`` rather than the service's one events queue."""

    queue_name: str = QUEUE

    @property
    def queue(self) -> str:
        return self.queue_name


class TriggerEvents:
    """The raw handler of :data:`QUEUE` and the background loop that consumes it."""

    def __init__(
        self,
        index: PipelineIndex,
        history: RecentEventsStore,
        cloudevents: CloudEventTriggers,
        jenkins: JenkinsTriggers | None = None,
    ) -> None:
        self.index = index
        self.history = history
        self.cloudevents = cloudevents
        self.jenkins = jenkins or JenkinsTriggers(index, cloudevents.identity)
        self.docker = DockerEventTriggers(index, cloudevents.identity)
        self._in_order = asyncio.Lock()
        """Taken before anything else by each handler: deliveries are handed out in order and an
        ``asyncio.Lock`` serves its waiters first come, first served."""

    def endpoint(self, service: str, queue: str = QUEUE) -> Endpoint:
        """The durable, raw endpoint on ``#``."""
        return TriggerEventsEndpoint(
            service=service,
            kind="events",
            patterns=("#",),
            raw_handler=self.handle,
            queue_name=queue,
            prefetch=PREFETCH,
            max_length=MAX_WAITING,
        )

    def index_endpoint(self, service: str) -> Endpoint:
        """This replica's private queue of the Front50 events that change pipeline configs."""
        return Endpoint(
            service=service, kind="events", patterns=INDEX_EVENTS, raw_handler=self.update_index, durable=False
        )

    async def update_index(self, envelope: Envelope, context: MessageContext) -> None:
        """Raw handler of :meth:`index_endpoint`."""
        self._update_index(envelope)

    async def handle(self, envelope: Envelope, context: MessageContext) -> None:
        async with self._in_order:
            self._update_index(envelope)
            await self.history.record(envelope)
            await self.cloudevents.handle(envelope, context)
            await self.jenkins.handle(envelope, context)
            await self.docker.handle(envelope, context)

    def _update_index(self, envelope: Envelope) -> None:
        data = envelope.data
        if envelope.type == _SAVED and isinstance(data.get("pipeline"), dict):
            self.index.saved(data["pipeline"])
        elif envelope.type == _DELETED and isinstance(data.get("id"), str):
            self.index.deleted(data["id"])
        elif envelope.type == _APPLICATION_DELETED and isinstance(data.get("name"), str):
            self.index.application_deleted(data["name"])

    def background(self, service: str) -> BackgroundTask:
        """The loop consuming :data:`QUEUE` and this replica's index queue while Echo is hosted."""
        endpoints = (self.index_endpoint(service), self.endpoint(service))

        async def consume(bus: Bus) -> None:
            consumptions = []
            try:
                for endpoint in endpoints:
                    consumptions.append(await bus.consume(endpoint))
                await asyncio.Event().wait()
            finally:
                for consumption in consumptions:
                    await consumption.stop()

        return consume
