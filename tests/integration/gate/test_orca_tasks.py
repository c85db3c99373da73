"""Orca's tasks survive redelivery and crashes: nothing is done twice, nothing pending is lost.

Tasks run as ORCHESTRATION executions on the pipeline engine; one the former task engine stored in
``orca_tasks`` before an upgrade is moved onto it when first touched, and finishes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from bus import Endpoint, Envelope, MessageContext
from schemas.json_types import Json
from schemas.orca import SubmitTask
from tests.authorities import ADMIN
from tests.integration.gate.conftest import System, eventually, start_system
from tests.integration.gate.flows import create_application_task, run_task
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.store import ExecutionStore
from workers.orca.former_tasks import COLLECTION, FormerStep, FormerTask, stored_form


class Updates:
    """Every ``orca.task.updated`` event, in order."""

    def __init__(self) -> None:
        self.tasks: list[Json] = []

    async def deliver(self, envelope: Envelope, context: MessageContext) -> None:
        self.tasks.append(envelope.data["task"])

    def statuses(self, task_id: str) -> list[str]:
        return [task["status"] for task in self.tasks if task["id"] == task_id]


async def follow(system: System) -> Updates:
    updates = Updates()
    endpoint = Endpoint(
        service="test-tap", kind="events", patterns=("orca.task.#",), raw_handler=updates.deliver, durable=False
    )
    await system.bus.consume(endpoint)
    return updates


async def task_status(system: System, task_id: str) -> str:
    execution = await ExecutionStore(system.db).get(task_id)
    return execution.status.value if execution else "MISSING"


def submit_command(task_id: str, name: str = "shop") -> SubmitTask:
    body = create_application_task(name)
    return SubmitTask(
        authority=ADMIN, task_id=task_id, application=name, description=body["description"], job=body["job"]
    )


async def test_a_redelivered_submit_changes_nothing_twice(system: System) -> None:
    updates = await follow(system)
    envelope = system.bus.envelope(submit_command("task-1"))
    await system.bus.send_envelope(envelope, to="orca")
    await eventually(lambda: task_status(system, "task-1"), lambda status: status == "SUCCEEDED")

    await system.bus.send_envelope(envelope, to="orca")
    await system.bus.send_envelope(system.bus.envelope(submit_command("task-2", "other")), to="orca")
    await eventually(lambda: task_status(system, "task-2"), lambda status: status == "SUCCEEDED")
    await eventually(lambda: _count(updates, "task-2"), lambda count: count == 2)

    # the redelivery changes nothing; it only answers again with the state as it is
    assert updates.statuses("task-1") == ["RUNNING", "SUCCEEDED", "SUCCEEDED"]
    history = await (await system.client.get("/applications/shop/history")).json()
    assert len(history) == 1
    stored = await ExecutionStore(system.db).get("task-1")
    assert stored is not None and stored.type == "ORCHESTRATION"
    # a task is listed as a task, not as one of the application's pipeline executions
    assert [task["id"] for task in await (await system.client.get("/applications/shop/tasks")).json()] == ["task-1"]
    assert await (await system.client.get("/applications/shop/pipelines")).json() == []


async def _count(updates: Updates, task_id: str) -> int:
    return len(updates.statuses(task_id))


async def test_a_task_of_the_former_engine_stored_but_never_sent_finishes_after_the_upgrade(system: System) -> None:
    """The former task engine stored a step's command id and died before sending the command; after
    the upgrade a redelivered submit moves the task onto the engine, which sends it under that id."""
    command = submit_command("task-crashed")
    started = 1_700_000_000_000
    step = FormerStep(
        id="1",
        name="upsertApplication",
        job=command.job[0],
        status=ExecutionStatus.RUNNING,
        start_time=started,
        command_id="command-stored-before-the-crash",
    )
    task = FormerTask(
        id=command.task_id,
        name="crashed",
        application="shop",
        user=ADMIN.user,
        authority=ADMIN,
        status=ExecutionStatus.RUNNING,
        build_time=started,
        start_time=started,
        steps=[step],
        variables={"user": ADMIN.user},
    )
    await system.db[COLLECTION].insert_one(stored_form(task))

    await system.bus.send(command)

    await eventually(lambda: task_status(system, "task-crashed"), lambda status: status == "SUCCEEDED")
    assert (await system.client.get("/applications/shop")).status == 200
    shown = await (await system.client.get("/tasks/task-crashed")).json()
    assert (shown["status"], shown["startTime"], shown["execution"]["type"]) == ("SUCCEEDED", started, "ORCHESTRATION")
    assert await system.db[COLLECTION].find_one({"_id": "task-crashed"}) is None
    history = await (await system.client.get("/applications/shop/history")).json()
    assert len(history) == 1


async def test_tasks_of_the_former_engine_are_listed_and_read_as_they_were(system: System) -> None:
    finished = FormerTask(
        id="task-old",
        name="create shop",
        application="shop",
        status=ExecutionStatus.TERMINAL,
        build_time=1_700_000_000_000,
        start_time=1_700_000_000_000,
        end_time=1_700_000_000_500,
        steps=[
            FormerStep(
                id="1",
                name="upsertApplication",
                job={"type": "createApplication", "application": {"name": "shop"}},
                status=ExecutionStatus.TERMINAL,
                command_id="c-1",
            )
        ],
        variables={"exception": {"details": {"error": "no (status 400)", "errors": ["no (status 400)"]}}},
    )
    await system.db[COLLECTION].insert_one(stored_form(finished))

    new = await run_task(system.client, create_application_task("shop"))

    listed = await (await system.client.get("/applications/shop/tasks")).json()
    assert [(task["id"], task["status"]) for task in listed] == [(new["id"], "SUCCEEDED"), ("task-old", "TERMINAL")]
    old = await (await system.client.get("/tasks/task-old")).json()
    assert (old["endTime"], [step["status"] for step in old["steps"]]) == (1_700_000_000_500, ["TERMINAL"])
    variables = {variable["key"]: variable["value"] for variable in old["variables"]}
    assert variables["exception"]["details"]["errors"] == ["no (status 400)"]


@pytest.fixture
async def stuck_front50() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        yield await start_system(stack, workers=("front50-readonly", "orca", "clouddriver"))


async def test_cancel_a_running_task(stuck_front50: System) -> None:
    client = stuck_front50.client
    response = await client.post("/tasks", json=create_application_task("slow"))
    ref = (await response.json())["ref"]
    running: Json = await eventually(lambda: _task(client, ref), lambda task: task["status"] == "RUNNING")
    assert running["steps"][0]["status"] == "RUNNING"

    assert (await client.put(f"{ref}/cancel")).status == 200
    canceled: Json = await eventually(lambda: _task(client, ref), lambda task: task["status"] == "CANCELED")
    assert canceled["steps"][0]["status"] == "CANCELED"
    assert canceled["endTime"] is not None
    assert canceled["execution"]["canceledBy"] == "anonymous"


async def _task(client: Any, ref: str) -> Json:
    task: Json = await (await client.get(ref)).json()
    return task


async def test_a_job_may_be_any_pipeline_stage_type_as_in_orcas_ops(system: System) -> None:
    await run_task(system.client, create_application_task("shop"))
    body = {"application": "shop", "job": [{"type": "wait", "waitTime": 0}, {"type": "evaluateVariables"}]}

    task = await run_task(system.client, body)

    assert task["status"] == "SUCCEEDED"
    assert [(step["name"], step["status"]) for step in task["steps"]] == [
        ("wait", "SUCCEEDED"),
        ("evaluateVariables", "SUCCEEDED"),
    ]
    assert task["execution"]["type"] == "ORCHESTRATION"


async def test_a_job_the_store_cannot_keep_fails_the_task_naming_the_field(system: System) -> None:
    body = {"application": "shop", "job": [{"type": "wait", "nested": [{"$where": 1}]}]}

    task = await run_task(system.client, body)

    variables = {variable["key"]: variable["value"] for variable in task["variables"]}
    assert task["status"] == "TERMINAL"
    assert variables["exception"]["details"]["field"] == "job[0].nested[0].'$where'"


def wait_task(task_id: str, seconds: int) -> SubmitTask:
    job = [{"type": "wait", "name": "pause", "waitTime": seconds}]
    return SubmitTask(authority=ADMIN, task_id=task_id, application="shop", description="wait", job=job)


async def test_a_task_the_engine_finishes_alone_is_announced_once(system: System) -> None:
    """A ``wait`` job ends by the engine's timer (no worker answers), a cancel through Gate ends a
    long one, a ``createApplication`` job ends by Front50's answer: each final status is announced
    with ``orca.task.updated`` exactly once."""
    updates = await follow(system)
    await system.bus.send(wait_task("task-waits", 1))
    await system.bus.send(wait_task("task-canceled", 60))
    await system.bus.send(submit_command("task-front50", "front"))
    await eventually(lambda: task_status(system, "task-waits"), lambda status: status == "SUCCEEDED")
    await eventually(lambda: task_status(system, "task-front50"), lambda status: status == "SUCCEEDED")
    response = await system.client.put("/tasks/task-canceled/cancel")
    assert response.status == 200, await response.text()
    await eventually(lambda: task_status(system, "task-canceled"), lambda status: status == "CANCELED")
    await asyncio.sleep(0.3)  # a second announcement would be here by now
    assert updates.statuses("task-waits") == ["RUNNING", "SUCCEEDED"]
    assert updates.statuses("task-canceled") == ["RUNNING", "CANCELED"]
    assert updates.statuses("task-front50") == ["RUNNING", "SUCCEEDED"]
    final = next(task for task in updates.tasks if task["id"] == "task-waits" and task["status"] == "SUCCEEDED")
    assert [step["status"] for step in final["steps"]] == ["SUCCEEDED"] and final["endTime"]
