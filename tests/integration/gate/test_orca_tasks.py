"""Orca's tasks survive redelivery and crashes: nothing is done twice, nothing pending is lost.

Tasks run as ORCHESTRATION executions on the pipeline engine; one stored by the former task engine
(``orca_tasks``) before an upgrade still finishes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from bus import Endpoint, Envelope, MessageContext
from schemas.json_types import Json
from schemas.orca import SubmitTask
from tests.authorities import ADMIN
from tests.integration.gate.conftest import System, eventually, start_system
from tests.integration.gate.flows import create_application_task
from workers.orca.engine.store import ExecutionStore
from workers.orca.store import TaskStore
from workers.orca.tasks import ExecutionStatus, Step, Task


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
    if execution is not None:
        return execution.status.value
    task = await TaskStore(system.db).get(task_id)
    return task.status.value if task else "MISSING"


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


async def test_a_step_stored_but_never_sent_is_sent_on_redelivery(system: System) -> None:
    """The process died after storing the step's command id and before sending the command, while
    tasks ran on the former task engine: after the upgrade the task still finishes, and reads show it."""
    command = submit_command("task-crashed")
    task = Task.submitted(
        task_id=command.task_id, application="shop", description="crashed", jobs=command.job, authority=ADMIN
    )
    task.status = ExecutionStatus.RUNNING
    task.start_time = task.build_time
    step: Step = task.steps[0]
    task.begin_step(step, "command-stored-before-the-crash", task.build_time)
    assert await TaskStore(system.db).insert(task)

    await system.bus.send(command)

    await eventually(lambda: task_status(system, "task-crashed"), lambda status: status == "SUCCEEDED")
    assert (await system.client.get("/applications/shop")).status == 200
    assert (await (await system.client.get("/tasks/task-crashed")).json())["status"] == "SUCCEEDED"
    listed = await (await system.client.get("/applications/shop/tasks")).json()
    assert [task["id"] for task in listed] == ["task-crashed"]


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
