"""Orca's task messages: ad-hoc operations (Spinnaker's "orchestrations") submitted through
``POST /tasks``, each a list of jobs such as ``createApplication``, run by Orca as steps.

A task's JSON is Spinnaker's: ``id``, ``name``, ``application``, ``status`` (NOT_STARTED →
RUNNING → SUCCEEDED / TERMINAL / CANCELED), ``steps`` with their own status and times,
``startTime`` / ``endTime`` in epoch milliseconds, and ``variables``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority, upcast_user_to_authority
from schemas.base import Command, Event, Query, Reply
from schemas.idempotency import ClientKey
from schemas.json_types import Json
from schemas.registry import message, registry


@message
class SubmitTask(Command):
    """Run ``job`` (Spinnaker's task jobs, each with a ``type``) as task ``task_id``; idempotent by id.

    With ``client_key`` (a client's ``Idempotency-Key``), a second command carrying the same key from
    the same caller within 24 h runs nothing new: it is answered with the first one's task
    (``orca.task.updated``), or, for another request under that key, ``orca.command.rejected`` 422.
    """

    message_type: ClassVar[str] = "orca.SubmitTask"
    message_version: ClassVar[int] = 2
    task_id: str = Field(min_length=1)
    application: str = Field(min_length=1)
    description: str = ""
    job: list[Json] = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    client_key: ClientKey | None = None


@message
class CancelTask(Command):
    """Cancel a task that has not finished; its running step is abandoned, later steps never start."""

    message_type: ClassVar[str] = "orca.CancelTask"
    message_version: ClassVar[int] = 2
    task_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class TaskUpdated(Event):
    """A task changed status; ``task`` is its whole current JSON."""

    message_type: ClassVar[str] = "orca.task.updated"
    task: Json


@message
class TaskFound(Reply):
    """One task, or ``None``."""

    message_type: ClassVar[str] = "orca.TaskFound"
    task: Json | None


@message
class GetTask(Query):
    """One task by id."""

    message_type: ClassVar[str] = "orca.GetTask"
    reply_model: ClassVar[type[Reply]] = TaskFound
    task_id: str = Field(min_length=1)


@message
class TaskList(Reply):
    """Tasks, newest first."""

    message_type: ClassVar[str] = "orca.TaskList"
    tasks: list[Json]


@message
class ListTasks(Query):
    """The tasks of one application, newest first."""

    message_type: ClassVar[str] = "orca.ListTasks"
    reply_model: ClassVar[type[Reply]] = TaskList
    application: str = Field(min_length=1)
    limit: int = Field(50, ge=1, le=1000)


for _model in (SubmitTask, CancelTask):
    registry.upcaster(_model.message_type, 1)(upcast_user_to_authority)
