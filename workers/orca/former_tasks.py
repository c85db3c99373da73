"""The ``orca_tasks`` collection the former task engine wrote, read once to move each task onto the
pipeline engine as an ORCHESTRATION execution (migration on read).

Before ad-hoc tasks ran on the engine, each was one JSON document in ``orca_tasks``: its steps (one
per job), their statuses, and the id of the command a running step had sent to Front50 (``delivered``
false if it might not have been sent yet). :func:`as_orchestration` turns such a record into the
execution the engine would have made: the same id, statuses, times, authority and variables, and a
running step's command id kept as the stage's ``front50Call`` so Front50's answer to it still finds
its stage (or, when it may never have been sent, marked to be sent again under that same id, which
Front50 answers once). :mod:`workers.orca.orchestrations` migrates a task the first time anything
touches it and then deletes the record; a crash in between migrates it again, harmlessly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymongo.asynchronous.database import AsyncDatabase

from schemas.authority import Authority, upcast_user_to_authority
from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage, Task
from workers.orca.engine.stages.applications import CALL_KEY, RESEND, Front50ApplicationTask
from workers.orca.engine.status import ExecutionStatus

COLLECTION = "orca_tasks"


class FormerStep(BaseModel):
    """One job of a former task, as it was stored."""

    id: str
    name: str
    job: Json
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    start_time: int | None = None
    end_time: int | None = None
    command_id: str | None = None


class FormerTask(BaseModel):
    """A former task, as it was stored (statuses are a subset of the engine's)."""

    id: str
    name: str
    application: str
    user: str = "anonymous"
    authority: Authority | None = None
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    build_time: int
    start_time: int | None = None
    end_time: int | None = None
    steps: list[FormerStep]
    variables: Json = Field(default_factory=dict)
    canceled_by: str | None = None
    delivered: bool = False


def stored_form(task: FormerTask) -> dict[str, Any]:
    """The document the former engine wrote for ``task`` (what tests of an upgrade start from)."""
    return {
        "_id": task.id,
        "version": 1,
        "application_key": task.application.lower(),
        "build_time": task.build_time,
        "command_ids": [step.command_id for step in task.steps if step.command_id is not None],
        "task": task.model_dump_json(),
    }


class FormerTasks:
    """Reads what is left of ``orca_tasks``; removes a record once it has been migrated."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def get(self, task_id: str) -> FormerTask | None:
        """The former task ``task_id``, or ``None`` (never stored there, or migrated)."""
        document = await self.collection.find_one({"_id": task_id})
        return FormerTask.model_validate_json(document["task"]) if document else None

    async def ids_of_application(self, application: str, limit: int) -> list[str]:
        """The ids of ``application``'s former tasks (any case), newest first."""
        cursor = self.collection.find({"application_key": application.lower()}, {"_id": 1})
        return [str(document["_id"]) for document in await cursor.sort("build_time", -1).limit(limit).to_list()]

    async def forget(self, task_id: str) -> None:
        """Delete the record of a task now stored as an execution."""
        await self.collection.delete_one({"_id": task_id})


def as_orchestration(task: FormerTask, authentication: Json) -> Execution:
    """The ORCHESTRATION execution the engine would have stored for ``task``."""
    exception = task.variables.get("exception")
    authority = task.authority or Authority.model_validate(upcast_user_to_authority({"user": task.user})["authority"])
    stages = [_stage(task, step, index, exception) for index, step in enumerate(task.steps)]
    return Execution(
        id=task.id,
        type="ORCHESTRATION",
        application=task.application,
        name=task.name,
        description=task.name,
        status=task.status,
        build_time=task.build_time,
        start_time=task.start_time,
        end_time=task.end_time,
        trigger={"type": "manual", "user": task.user},
        stages=stages,
        canceled=task.status is ExecutionStatus.CANCELED,
        canceled_by=task.canceled_by,
        authentication=authentication,
        authority=authority,
    )


def _stage(task: FormerTask, step: FormerStep, index: int, exception: Any) -> Stage:
    job_type = str(step.job.get("type") or "")
    context: Json = {key: value for key, value in step.job.items() if key != "type"}
    context["user"] = task.user
    if step.status is ExecutionStatus.TERMINAL and isinstance(exception, dict):
        context["exception"] = exception
    if step.command_id is not None:
        running_unsent = step.status is ExecutionStatus.RUNNING and not task.delivered
        context[CALL_KEY] = {"commandId": step.command_id, **({RESEND: True} if running_unsent else {})}
    tasks = []
    if step.status is not ExecutionStatus.NOT_STARTED:
        tasks = [
            Task(
                id="1",
                name=step.name,
                implementing_class=Front50ApplicationTask.__name__,
                status=step.status,
                start_time=step.start_time,
                end_time=step.end_time,
                stage_start=True,
                stage_end=True,
            )
        ]
    return Stage(
        id=f"{task.id}-{step.id}",
        ref_id=str(index + 1),
        type=job_type,
        name=job_type or "unknown",
        context=context,
        requisite_stage_ref_ids=[str(index)] if index else [],
        status=step.status,
        start_time=step.start_time,
        end_time=step.end_time,
        tasks=tasks,
    )
