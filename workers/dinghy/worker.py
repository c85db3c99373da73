"""Wires Dinghy (pipelines as code) to the bus.

Commands: the gateway's ``dinghy.HandlePush`` (a forge's webhook), handled by
:mod:`workers.dinghy.handlers`. Queries: ``dinghy.GetHistory``. A private subscription to
``front50.#`` resolves the writes Dinghy waits on (:mod:`workers.dinghy.front50`). Collections:
``dinghy_dependencies`` and ``dinghy_history`` (:mod:`workers.dinghy.store`); git mirrors under
``[dinghy] work_dir`` (default ``<data_dir>/dinghy``).
"""

from __future__ import annotations

import asyncio

from bus import Bus
from bus.endpoint import Endpoint
from bus.service import Service
from gennaker import __version__
from gennaker.outbound.client import OutboundClient
from gennaker.resources import WorkerResources
from schemas.dinghy import GetDinghyHistory, HandlePush
from schemas.front50 import ApplicationSaved, CommandRejected, NotificationsSaved, PipelineDeleted, PipelineSaved
from workers.dinghy.front50 import Answers
from workers.dinghy.handlers import DinghyHandlers
from workers.dinghy.status import StatusReporter
from workers.dinghy.store import DinghyStore

NAME = "dinghy"


def build_service(resources: WorkerResources) -> Service:
    """Dinghy's endpoints; the host adds the ping query."""
    settings = resources.settings
    store = DinghyStore(resources.db)
    answers = Answers()
    client = OutboundClient(settings.outbound)
    handlers = DinghyHandlers(
        settings=settings.dinghy,
        store=store,
        answers=answers,
        statuses=StatusReporter(client),
        cache=(settings.dinghy.work_dir or settings.data_dir / "dinghy").expanduser(),
        query_timeout=settings.query_timeout,
    )

    async def close_client_on_stop(_bus: Bus) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await client.close()

    answered = (ApplicationSaved, PipelineSaved, PipelineDeleted, NotificationsSaved, CommandRejected)
    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(service=NAME, kind="commands", handlers={HandlePush.message_type: handlers.handle_push}),
            Endpoint(service=NAME, kind="queries", handlers={GetDinghyHistory.message_type: handlers.get_history}),
            Endpoint(
                service=NAME,
                kind="events",
                patterns=("front50.#",),
                durable=False,
                handlers={event.message_type: answers.on_event for event in answered},
            ),
        ],
        background=[close_client_on_stop],
    )
