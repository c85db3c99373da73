"""Gate's task routes: submit an ad-hoc task (create, update or delete an application, or
any stage type Orca runs), then follow it.

``POST /tasks`` answers ``{"ref": "/tasks/{id}"}`` at once, as Gate relays Orca's ``/ops``; the
client polls ``GET /tasks/{id}`` until ``status`` is SUCCEEDED, TERMINAL or CANCELED (what Deck
and ``spin application save`` do). The task runs in Orca as an ORCHESTRATION execution
(:mod:`workers.orca.orchestrations`); the gateway only checks authorisation, sends
``orca.SubmitTask`` and relays Orca's task JSON.

Authorisation: each application a task names must be WRITE-able by the caller, or not exist yet
(creating one needs only an authenticated caller, Fiat's default); reading a task needs READ on its
application; cancelling needs EXECUTE, as in Orca's ``TaskController``. A task outlives its
application: once that is deleted, its last stored permissions still apply (:mod:`gateway.access`).
A refusal names the task, never its application, which the caller may not know.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, RootModel
from ulid import ULID

from gateway.access import (
    application_for,
    last_known_application,
    may_change_application,
    may_read_application,
    require_on,
)
from gateway.api_model import ApiModel
from gateway.applications import Application
from gateway.auth.middleware import authority_of
from gateway.auth.model import Permission
from gateway.command_results import ask, results_of, send_command
from gateway.gate_api import (
    GateError,
    SpinnakerJson,
    error_responses,
    gate_json,
    gate_route,
    not_found,
    read_spinnaker_json,
)
from gateway.idempotency import DOCUMENTED as IDEMPOTENCY_HEADER
from gateway.idempotency import client_key
from gateway.keys import BUS
from gateway.routing import Response, Route, read_query
from schemas.json_types import Json
from schemas.orca import CancelTask, GetTask, ListTasks, SubmitTask, TaskFound, TaskList

TAG = "tasks"


class Job(SpinnakerJson):
    """One job of a task: ``type`` (createApplication, updateApplication, deleteApplication...) and its context."""

    type: str = Field(min_length=1, examples=["createApplication"])
    application: Application | str | None = Field(
        default=None, description="The application's attributes (or name, for deleteApplication)"
    )
    user: str | None = None


class TaskRequest(SpinnakerJson):
    """Gate's ``POST /tasks`` body."""

    application: str | None = Field(
        default=None, min_length=1, description="Defaults to the first job's application name"
    )
    description: str | None = None
    job: list[Job] = Field(min_length=1)


class TaskRef(ApiModel):
    """Where to follow the submitted task."""

    ref: str = Field(examples=["/tasks/01J0000000000000000000000"])


class Step(SpinnakerJson):
    """One step of a task (a task of one of its stages) and its status."""

    id: str | None = None
    name: str
    status: str
    start_time: int | None = None
    end_time: int | None = None


class Variable(SpinnakerJson):
    """One entry of the task's context; ``exception`` holds why it failed."""

    key: str
    value: Any = None


class Task(SpinnakerJson):
    """A task as Orca shows it (``OrchestrationViewModel``): an execution of type ORCHESTRATION."""

    id: str
    name: str
    application: str
    status: str = Field(description="NOT_STARTED, RUNNING, SUCCEEDED, TERMINAL or CANCELED")
    steps: list[Step]
    variables: list[Variable]
    build_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    execution: dict[str, Any] | None = Field(
        default=None, description="The ORCHESTRATION execution itself, as GET /pipelines/{id} shows one"
    )


class TaskListing(RootModel[list[Task]]):
    """Tasks, newest first."""


class TasksQuery(ApiModel):
    """Gate's task list filters."""

    limit: int = Field(default=50, ge=1, le=1000)
    statuses: str | None = Field(default=None, description="Comma-separated statuses, e.g. 'RUNNING,TERMINAL'")


FINISHED = frozenset({"SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED"})
"""The statuses of a task that will change no more (Spinnaker's complete ``ExecutionStatus`` values)."""


def _job_application(job: Job) -> str | None:
    application = job.application
    if isinstance(application, Application):
        return application.name
    return application


async def _submit(request: web.Request, application: str | None) -> web.Response:
    checked, body = await read_spinnaker_json(request, TaskRequest)
    names = [name for name in map(_job_application, checked.job) if name]
    application = application or checked.application or (names[0] if names else None)
    if not application:
        raise GateError(
            400, "the task names no application: set 'application' or job[0].application.name", field="application"
        )
    for name in dict.fromkeys([application, *names]):
        await may_change_application(request, name)
    task_id = str(ULID())
    authority = authority_of(request)
    key = client_key(request, body, scope=authority.user)
    jobs: list[Json] = [dict(job) for job in body["job"]]
    description = checked.description or f"{checked.job[0].type}: {application}"
    # Orca answers once the task is stored, so the ref is readable the moment the caller has it; a
    # request sent again with its Idempotency-Key is answered with the first one's task
    submit = SubmitTask(
        task_id=task_id,
        application=application,
        description=description,
        job=jobs,
        authority=authority,
        client_key=key,
    )
    answer = await send_command(request, submit, subject=task_id)
    task = answer.data.get("task")
    task_id = str(task.get("id") or task_id) if isinstance(task, dict) else task_id
    return gate_json({"ref": f"/tasks/{task_id}"})


@gate_route
async def create_task(request: web.Request) -> web.Response:
    """Submit a task; follow it at the returned ``ref``."""
    return await _submit(request, None)


@gate_route
async def create_application_task(request: web.Request) -> web.Response:
    """Submit a task for the application in the path."""
    return await _submit(request, request.match_info["application"])


async def _find_task(request: web.Request, task_id: str) -> Json:
    task = (await ask(request, GetTask(task_id=task_id), TaskFound)).task
    if task is None:
        raise not_found(f"Task not found (id: {task_id})")
    return task


@gate_route
async def get_task(request: web.Request) -> web.Response:
    """One task: its status, steps and variables (403 without READ on its application)."""
    task_id = request.match_info["id"]
    task = await _find_task(request, task_id)
    if not await may_read_application(request, task.get("application")):
        raise GateError(403, f"Access denied to task {task_id} - required authorization: READ")
    if task.get("status") in FINISHED:
        # the task's writes to Front50 (createApplication, savePipeline...) were answered to Orca by an
        # event this gateway may not have taken yet: reads the client makes next must ask Front50
        results_of(request.app).suppose_changed("front50")
    return gate_json(task)


@gate_route
async def cancel_task(request: web.Request) -> web.Response:
    """Cancel a task that has not finished (one that has is left as it is); needs EXECUTE on its application."""
    task_id = request.match_info["id"]
    task = await _find_task(request, task_id)
    application = await last_known_application(request, str(task.get("application") or ""))
    require_on(request, application, Permission.EXECUTE, kind="task", name=task_id)
    await request.app[BUS].send(CancelTask(task_id=task_id, authority=authority_of(request)), subject=task_id)
    return gate_json({"ref": f"/tasks/{task_id}"})


@gate_route
async def get_application_tasks(request: web.Request) -> web.Response:
    """An application's tasks, newest first, optionally only those in some statuses."""
    query = read_query(request, TasksQuery)
    application = request.match_info["application"]
    await application_for(request, application, Permission.READ)
    tasks = (await ask(request, ListTasks(application=application, limit=query.limit), TaskList)).tasks
    if query.statuses:
        wanted = {status.strip().upper() for status in query.statuses.split(",") if status.strip()}
        tasks = [task for task in tasks if str(task.get("status")) in wanted]
    return gate_json(tasks)


_SUBMIT_ERRORS = error_responses(400, 403, 422, 504)

ROUTES = (
    Route(
        "POST",
        "/tasks",
        create_task,
        summary="Create a task",
        tag=TAG,
        body=TaskRequest,
        responses={200: Response("Submitted; poll the ref", TaskRef), **_SUBMIT_ERRORS},
        headers=IDEMPOTENCY_HEADER,
    ),
    Route(
        "POST",
        "/applications/{application}/tasks",
        create_application_task,
        summary="Create a task for an application",
        tag=TAG,
        body=TaskRequest,
        responses={200: Response("Submitted; poll the ref", TaskRef), **_SUBMIT_ERRORS},
        headers=IDEMPOTENCY_HEADER,
    ),
    Route(
        "GET",
        "/tasks/{id}",
        get_task,
        summary="Get task",
        tag=TAG,
        responses={200: Response("The task", Task), **error_responses(403, 404, 504)},
    ),
    Route(
        "PUT",
        "/tasks/{id}/cancel",
        cancel_task,
        summary="Cancel task",
        tag=TAG,
        responses={200: Response("Cancellation requested; poll the ref", TaskRef), **error_responses(403, 404, 504)},
    ),
    Route(
        "GET",
        "/applications/{application}/tasks",
        get_application_tasks,
        summary="Retrieve a list of an application's tasks",
        tag=TAG,
        query=TasksQuery,
        responses={200: Response("Tasks, newest first", TaskListing), **error_responses(400, 403, 404, 504)},
    ),
)
