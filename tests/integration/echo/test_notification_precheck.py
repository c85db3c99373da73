"""Echo asks Orca (and Front50) about an event only when the event can stand for a notification.

A canceled execution and a skipped or canceled stage stand for no ``when`` of Spinnaker's: Echo's
handlers answer them without a query. A stand-in Orca on the same MemoryBus counts the queries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bus import Endpoint, MemoryBus, MessageContext
from gennaker.outbound import OutboundClient
from schemas.echo_notifications import NotificationSettings
from schemas.orca_engine import ExecutionCompleted, ExecutionFound, GetExecution, StageCompleted, StageStarted
from tests.mongo import fresh_database
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.echo.notifications.channels import Channels
from workers.echo.notifications.deliveries import DeliveryLog
from workers.echo.notifications.handlers import NotificationHandlers

pytestmark = pytest.mark.timeout(30)


class Orca:
    """Answers ``orca.GetExecution`` with no execution, counting the asks."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def get(self, query: GetExecution, context: MessageContext) -> ExecutionFound:
        self.asked.append(query.id)
        return ExecutionFound(execution=None)


@pytest.fixture
async def handlers_and_orca() -> AsyncIterator[tuple[NotificationHandlers, MemoryBus, Orca]]:
    bus, orca = MemoryBus(source="/test"), Orca()
    await bus.consume(Endpoint(service="orca", kind="queries", handlers={GetExecution.message_type: orca.get}))
    client = OutboundClient(LOOPBACK_TEST_SERVERS)
    async with fresh_database() as db:
        settings = NotificationSettings()
        handlers = NotificationHandlers("echo", settings, DeliveryLog(db), Channels(settings, client))
        try:
            yield handlers, bus, orca
        finally:
            await client.close()
            await bus.close()


def stage_event[E: (StageStarted, StageCompleted)](kind: type[E], stage_type: str, status: str) -> E:
    return kind(
        execution_id=f"{stage_type}-{status}",
        application="billing",
        stage_id="s1",
        ref_id="1",
        stage_type=stage_type,
        name="a stage",
        status=status,
    )


async def test_events_that_stand_for_no_notification_ask_nobody_and_the_others_ask_orca(
    handlers_and_orca: tuple[NotificationHandlers, MemoryBus, Orca],
) -> None:
    handlers, bus, orca = handlers_and_orca
    events = {
        "stage_completed": handlers.stage_completed,
        "stage_started": handlers.stage_started,
        "execution_completed": handlers.execution_completed,
    }
    silent = [
        ("stage_completed", stage_event(StageCompleted, "wait", "SKIPPED")),
        ("stage_completed", stage_event(StageCompleted, "deploy", "CANCELED")),
        ("stage_started", stage_event(StageStarted, "wait", "SKIPPED")),
        (
            "execution_completed",
            ExecutionCompleted(execution_id="e1", application="billing", name="d", status="CANCELED"),
        ),
    ]
    asking = [
        ("stage_completed", stage_event(StageCompleted, "wait", "SUCCEEDED")),
        ("stage_completed", stage_event(StageCompleted, "manualJudgment", "SKIPPED")),  # its judgment may notify
        ("stage_started", stage_event(StageStarted, "wait", "RUNNING")),
        (
            "execution_completed",
            ExecutionCompleted(execution_id="e2", application="billing", name="d", status="TERMINAL"),
        ),
    ]
    for handler, event in silent + asking:
        await events[handler](event, MessageContext(bus.envelope(event), 1, False, "echo", bus))  # type: ignore[operator]
    await asyncio.sleep(0)
    assert orca.asked == ["wait-SUCCEEDED", "manualJudgment-SKIPPED", "wait-RUNNING", "e2"]
