"""A canary run Orca no longer waits for is cancelled: the end of its runCanary stage stops the fetch,
stores the run as cancelled and answers so; a run already answered is left as it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bus import MemoryBus
from bus.endpoint import Endpoint
from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.json_types import Json
from schemas.kayenta import (
    CanaryCompleted,
    CanaryExecutionFound,
    CanaryStarted,
    GetCanaryExecution,
    KayentaTaskCompleted,
)
from schemas.orca_engine import RunExternalTask, StageCompleted
from tests.authorities import ADMIN
from tests.integration.kayenta.conftest import KayentaClient, canary_config, execution_request
from tests.integration.kayenta.test_canary_runs import load
from tests.mongo import fresh_database
from workers.kayenta.sources.base import Scope, Series
from workers.kayenta.sources.memory import MemorySource
from workers.kayenta.stage_task import execution_id_of
from workers.kayenta.worker import build_service


class HangingSource(MemorySource):
    """Fetches until it is cancelled (a slow store), noting when a fetch began and was stopped."""

    def __init__(self) -> None:
        super().__init__("metrics")
        self.fetching = asyncio.Event()
        self.stopped = asyncio.Event()

    async def fetch_all(self, canary_config: Json, metric: Json, scope: Scope) -> list[Series]:
        self.fetching.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.stopped.set()
        raise AssertionError("never released")


@pytest.fixture
async def hanging() -> AsyncIterator[tuple[KayentaClient, HangingSource]]:
    async with fresh_database() as db:
        bus = MemoryBus(source="/test")
        source = HangingSource()
        client = KayentaClient(bus, source)
        tap = Endpoint(
            service="kayenta-test", kind="events", patterns=("kayenta.#",), raw_handler=client.tap, durable=False
        )
        consumer = await bus.consume(tap)
        host = ServiceHost(bus, build_service(WorkerResources(settings=Settings(), db=db), sources={"metrics": source}))
        await host.start()
        try:
            yield client, source
        finally:
            await host.stop()
            await consumer.stop()
            await bus.close()


def interval(stage_id: str) -> RunExternalTask:
    request = execution_request()
    context: dict[str, Any] = {"canaryConfig": canary_config(), "scopes": request["scopes"]}
    context["scoreThresholds"] = request["thresholds"]
    return RunExternalTask(
        execution_id="pipeline-1",
        stage_id=stage_id,
        task_id="1",
        attempt=1,
        application="shop",
        stage_type="runCanary",
        context=context,
        authority=ADMIN,
    )


def ended(stage_id: str, stage_type: str = "runCanary") -> StageCompleted:
    return StageCompleted(
        execution_id="pipeline-1",
        application="shop",
        stage_id=stage_id,
        ref_id="1<1",
        stage_type=stage_type,
        name="Run Canary #1",
        status="CANCELED",
    )


async def test_the_end_of_its_stage_cancels_a_run_in_progress(hanging: tuple[KayentaClient, HangingSource]) -> None:
    client, source = hanging
    command = interval("s1")
    sent = asyncio.create_task(client.send(command, count=3, to="kayenta"))
    await asyncio.wait_for(source.fetching.wait(), 5)
    await client.bus.publish(ended("s1", stage_type="wait"))  # another stage type: not Kayenta's
    await client.bus.publish(ended("s2"))  # another stage: nothing of it runs
    await asyncio.sleep(0.1)
    assert not source.stopped.is_set()

    await client.bus.publish(ended("s1"))
    started, completed, answered = await sent
    assert isinstance(started, CanaryStarted) and source.stopped.is_set()
    assert isinstance(completed, CanaryCompleted)
    assert (completed.status, completed.reason) == ("canceled", "Canary execution was canceled.")
    assert isinstance(answered, KayentaTaskCompleted) and answered.status == "TERMINAL"
    found = await client.ask(GetCanaryExecution(execution_id=execution_id_of(command)))
    assert isinstance(found, CanaryExecutionFound) and found.execution is not None
    execution = found.execution
    assert (execution["status"], execution["executionStatus"], execution["complete"]) == ("canceled", "CANCELED", True)
    assert execution["exception"] == {"message": "Canary execution was canceled."}
    assert execution["parentStageId"] == "s1"


async def test_a_run_already_answered_is_left_as_it_is(kayenta: KayentaClient) -> None:
    load(kayenta, canary_latency=0.1)
    command = interval("s3")
    *_, answered = await kayenta.send(command, count=3, to="kayenta")
    assert isinstance(answered, KayentaTaskCompleted) and answered.status == "SUCCEEDED"
    await kayenta.bus.publish(ended("s3"))
    await asyncio.sleep(0.1)
    found = await kayenta.ask(GetCanaryExecution(execution_id=execution_id_of(command)))
    assert isinstance(found, CanaryExecutionFound) and found.execution is not None
    assert found.execution["status"] == "succeeded"
