"""Orca's engine on the real RabbitMQ: a small pipeline with a durable-timer wait runs to completion."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bus.amqp import AmqpBus
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary, tap_events

pytestmark = pytest.mark.amqp


async def test_a_pipeline_runs_to_completion_over_rabbitmq(amqp_url: str, db: AsyncDatabase[dict[str, Any]]) -> None:
    bus = await AmqpBus.connect(amqp_url, source="/test")
    orca = Orca(bus, db)
    tap = await tap_events(bus, orca)
    await orca.start_host()
    try:
        execution_id = await orca.start(
            pipeline(
                stage("1", waitTime=0.2),
                stage("2", "evaluateVariables", after=("1",), variables=[{"key": "ok", "value": True}]),
                stage("3", after=("1",)),
            )
        )
        execution = await orca.finished(execution_id, timeout=20)
        assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED", "3": "SUCCEEDED"}
        assert by_ref(execution, "2")["outputs"] == {"ok": True}
        wait = by_ref(execution, "1")
        assert wait["endTime"] - wait["startTime"] >= 200
    finally:
        await orca.stop_host()
        await tap.stop()
        await bus.close()
