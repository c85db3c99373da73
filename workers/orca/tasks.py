"""Orca's ad-hoc tasks (Spinnaker's "orchestrations"): the state machine, free of storage and transport.

A task is a list of jobs submitted through Gate's ``POST /tasks``; each job runs as one step, in
order. A step that sends a command to another service records the command's id *before* it is
sent, so the answering event (``causationid`` = that id) finds its step after any crash or
redelivery. Transitions are pure functions of the record and the time; :mod:`workers.orca.handlers`
stores their results and delivers what they ask to send.

Statuses are Spinnaker's ``ExecutionStatus`` values::

    NOT_STARTED → RUNNING → SUCCEEDED
                          → TERMINAL   (a step was rejected)
                          → CANCELED   (orca.CancelTask before the end)
"""

from __future__ import annotations

import time
from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.authority import Authority, upcast_user_to_authority
from schemas.json_types import Json


class ExecutionStatus(StrEnum):
    """The subset of Spinnaker's ``ExecutionStatus`` a task and its steps pass through."""

    NOT_STARTED = "NOT_STARTED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    TERMINAL = "TERMINAL"
    CANCELED = "CANCELED"

    @property
    def finished(self) -> bool:
        """True once nothing more will happen to a task or step in this status."""
        return self in (ExecutionStatus.SUCCEEDED, ExecutionStatus.TERMINAL, ExecutionStatus.CANCELED)


STEP_NAMES = {
    "createApplication": "upsertApplication",
    "updateApplication": "upsertApplication",
    "deleteApplication": "deleteApplication",
}
"""The Orca task each job type runs as, shown as the step's name (as Deck's task view shows it)."""


def now_ms() -> int:
    """Epoch milliseconds, the unit of every Spinnaker timestamp."""
    return int(time.time() * 1000)


class Step(BaseModel):
    """One job of a task: its status, its times and the id of the command it sent (if any)."""

    id: str
    name: str
    job: Json
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    start_time: int | None = None
    end_time: int | None = None
    command_id: str | None = None

    @property
    def job_type(self) -> str:
        """The job's Spinnaker ``type`` (``createApplication``...), or ``""`` when it has none."""
        value = self.job.get("type")
        return value if isinstance(value, str) else ""


class Task(BaseModel):
    """A task as Orca stores it; :meth:`to_json` is its Spinnaker view.

    ``version`` is the optimistic-concurrency counter; ``delivered`` is false while the effects of
    the stored state (the running step's command, the ``orca.task.updated`` event) may not have
    been sent yet, so whoever loads it next sends them (at least once, never lost).
    """

    id: str
    name: str
    application: str
    user: str = "anonymous"
    authority: Authority | None = None
    """Who submitted the task, roles included; its commands act for them (``user`` is its name)."""
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    build_time: int
    start_time: int | None = None
    end_time: int | None = None
    steps: list[Step]
    variables: Json = Field(default_factory=dict)
    canceled_by: str | None = None
    correlation_id: str | None = None
    version: int = 0
    delivered: bool = False

    @classmethod
    def submitted(
        cls,
        *,
        task_id: str,
        application: str,
        description: str,
        jobs: list[Json],
        authority: Authority,
        correlation_id: str | None = None,
        at: int | None = None,
    ) -> Task:
        """A new NOT_STARTED task with one step per job; its variables are the jobs' context."""
        steps = [
            Step(
                id=str(index + 1), name=STEP_NAMES.get(str(job.get("type")), str(job.get("type") or "unknown")), job=job
            )
            for index, job in enumerate(jobs)
        ]
        variables: Json = {}
        for job in jobs:
            variables.update({key: value for key, value in job.items() if key != "type"})
        variables["user"] = authority.user  # the authenticated caller, never a job's claim
        return cls(
            id=task_id,
            name=description or f"{', '.join(step.job_type or 'unknown' for step in steps)} of {application}",
            application=application,
            user=authority.user,
            authority=authority,
            build_time=at if at is not None else now_ms(),
            steps=steps,
            variables=variables,
            correlation_id=correlation_id,
        )

    # --- queries ----------------------------------------------------------------------------

    def acting_for(self) -> Authority:
        """The authority the task's commands carry; a task stored before it was recorded acts as
        its ``user`` with no roles."""
        if self.authority is not None:
            return self.authority
        return Authority.model_validate(upcast_user_to_authority({"user": self.user})["authority"])

    def running_step(self) -> Step | None:
        """The step in flight, if any."""
        return next((step for step in self.steps if step.status is ExecutionStatus.RUNNING), None)

    def step_of_command(self, command_id: str) -> Step | None:
        """The step that sent command ``command_id``."""
        return next((step for step in self.steps if step.command_id == command_id), None)

    # --- transitions (each returns the step to start next, if any) --------------------------

    def start(self, at: int) -> Step | None:
        """NOT_STARTED → RUNNING; returns the first step to run. A no-op once started."""
        if self.status is not ExecutionStatus.NOT_STARTED:
            return None
        self.status = ExecutionStatus.RUNNING
        self.start_time = at
        return self._advance(at)

    def begin_step(self, step: Step, command_id: str | None, at: int) -> None:
        """Mark ``step`` RUNNING with the id of the command it is about to send."""
        step.status = ExecutionStatus.RUNNING
        step.start_time = at
        step.command_id = command_id

    def step_succeeded(self, step: Step, at: int) -> Step | None:
        """``step`` finished well: the next step to run, or the task SUCCEEDED when none is left."""
        if step.status.finished or self.status.finished:
            return None
        step.status = ExecutionStatus.SUCCEEDED
        step.end_time = at
        return self._advance(at)

    def step_failed(
        self, step: Step, *, reason: str, at: int, field: str | None = None, exception_type: str = "Rejected"
    ) -> None:
        """``step`` failed: it and the task become TERMINAL; the reason goes to ``variables.exception``.

        The shape is Orca's, so Gate and ``spin`` read ``exception.details.errors[0]`` as they do there.
        """
        if step.status.finished or self.status.finished:
            return
        step.status = ExecutionStatus.TERMINAL
        step.end_time = at
        details: Json = {"error": reason, "errors": [reason]}
        if field is not None:
            details["field"] = field
        self.variables["exception"] = {
            "details": details,
            "exceptionType": exception_type,
            "shouldRetry": False,
            "timestamp": at,
        }
        self._finish(ExecutionStatus.TERMINAL, at)

    def cancel(self, user: str, at: int) -> bool:
        """CANCELED unless already finished; the running step is abandoned. True if it changed."""
        if self.status.finished:
            return False
        for step in self.steps:
            if step.status is ExecutionStatus.RUNNING:
                step.status = ExecutionStatus.CANCELED
                step.end_time = at
        self.canceled_by = user
        self._finish(ExecutionStatus.CANCELED, at)
        return True

    def _advance(self, at: int) -> Step | None:
        following = next((step for step in self.steps if step.status is ExecutionStatus.NOT_STARTED), None)
        if following is None:
            self._finish(ExecutionStatus.SUCCEEDED, at)
        return following

    def _finish(self, status: ExecutionStatus, at: int) -> None:
        self.status = status
        self.end_time = at
        if self.start_time is None:
            self.start_time = at

    # --- the Spinnaker view -----------------------------------------------------------------

    def to_json(self) -> Json:
        """The task as Orca's ``GET /tasks/{id}`` returns it (``OrchestrationViewModel``)."""
        return {
            "id": self.id,
            "name": self.name,
            "application": self.application,
            "status": self.status.value,
            "buildTime": self.build_time,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "steps": [
                {
                    "id": step.id,
                    "name": step.name,
                    "status": step.status.value,
                    "startTime": step.start_time,
                    "endTime": step.end_time,
                }
                for step in self.steps
            ],
            "variables": [{"key": key, "value": value} for key, value in self.variables.items()],
            "execution": {
                "id": self.id,
                "type": "ORCHESTRATION",
                "application": self.application,
                "description": self.name,
                "status": self.status.value,
                "buildTime": self.build_time,
                "startTime": self.start_time,
                "endTime": self.end_time,
                "canceled": self.status is ExecutionStatus.CANCELED,
                "canceledBy": self.canceled_by,
                "authentication": {"user": self.user},
            },
        }
