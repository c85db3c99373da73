"""An ad-hoc task (an ORCHESTRATION execution) as Orca's ``GET /tasks/{id}`` shows it.

In the engine because the engine announces a task it finished itself (a ``wait`` job's timer, a
Clouddriver operation's answer, a timeout) with ``orca.task.updated``, as the task handlers
(:mod:`workers.orca.orchestrations`) announce the changes they make.
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.orca.engine.model import Execution
from workers.orca.engine.stages.applications import CALL_KEY

ORCHESTRATION = "ORCHESTRATION"
HIDDEN = (CALL_KEY,)
"""Stage context the task view leaves out: the engine's own bookkeeping."""


def task_view(execution: Execution) -> Json:
    """The ORCHESTRATION as Orca's ``GET /tasks/{id}`` shows it: its stages' contexts as
    ``variables`` (the last stage's value of a key wins; ``exception`` says why it failed), their
    tasks as ``steps``, and the execution itself."""
    variables: Json = {}
    for stage in execution.stages:
        variables.update({key: value for key, value in stage.context.items() if key not in HIDDEN})
    if execution.exception is not None:
        variables["exception"] = execution.exception
    document = execution.to_json()
    for stage in document["stages"]:
        for key in HIDDEN:
            stage["context"].pop(key, None)
    steps = [
        {
            "id": task.id,
            "name": task.name,
            "status": task.status.value,
            "startTime": task.start_time,
            "endTime": task.end_time,
        }
        for stage in execution.stages
        for task in stage.tasks
    ]
    if not steps:  # not started (or refused before starting): one pending step per job, as Deck lists them
        steps = [
            {"id": stage.ref_id, "name": stage.name, "status": stage.status.value, "startTime": None, "endTime": None}
            for stage in execution.stages
        ]
    return {
        "id": execution.id,
        "name": execution.name,
        "application": execution.application,
        "status": execution.status.value,
        "buildTime": execution.build_time,
        "startTime": execution.start_time,
        "endTime": execution.end_time,
        "steps": steps,
        "variables": [{"key": key, "value": value} for key, value in variables.items()],
        "execution": document,
    }
