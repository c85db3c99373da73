"""``pipeline``: run another pipeline as a child and (by default) wait for it, as Orca's
``PipelineStage`` does with ``startPipeline`` then ``monitorPipeline``.

``startPipeline`` sends ``orca.StartChildPipeline`` to Orca itself (the stage's ``pipeline`` config
id, ``pipelineParameters``, a ``pipeline`` trigger naming the parent execution and stage);
:mod:`workers.orca.engine.effects.pipeline_io` asks Front50 for the config and starts it. The child's
execution id is derived from the parent stage (id and start time), so a repeated command, a
redelivery or a retry after a lost answer never starts a second child; a restarted stage starts a
new one. ``executionId`` and ``executionName`` are the stage's context and outputs.

``monitorPipeline`` (unless ``waitForCompletion: false``) waits, without a timer, for the child's
``orca.execution.completed``, recorded as ``childExecutionStatus`` (``{executionId, status}``, so a
restarted stage never reads its previous child's): SUCCEEDED succeeds, anything
else fails the stage (TERMINAL, or what its failure options say). A parent stage that ends any
other way than SUCCEEDED (canceled, timed out, skipped) cancels the child.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ulid import ULID

from schemas.json_types import Json
from schemas.orca_stages import StartChildPipeline
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages import calls
from workers.orca.engine.stages.base import Outbound, TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.status import ExecutionStatus

CALL_KEY = "childPipelineCall"
STATUS_KEY = "childExecutionStatus"
ANSWER_DEADLINE_MS = 60_000
"""How long ``startPipeline`` waits for the start's answer before asking again (it is idempotent)."""
MAX_ATTEMPTS = 5
RETRY_BACKOFF_MS = 5_000


def child_execution_id(execution: Execution, stage: Stage) -> str:
    """The child's execution id: a ULID timed at the stage's start, its randomness a hash of the
    parent stage, so every start of the same stage run names the same child."""
    started = stage.start_time or 0
    digest = hashlib.sha256(f"{execution.id}/{stage.id}/{started}".encode()).digest()
    return str(ULID.from_bytes(started.to_bytes(6, "big") + digest[:10]))


def wait_for_completion(stage: Stage) -> bool:
    value = stage.context.get("waitForCompletion", True)
    return not (value is False or (isinstance(value, str) and value.lower() == "false"))


def child_trigger(execution: Execution, stage: Stage) -> Json:
    """The trigger of the child (Orca's ``PipelineTrigger``), with a summary of the parent."""
    parameters = stage.context.get("pipelineParameters") or {}
    return {
        "type": "pipeline",
        "user": execution.trigger.get("user") or execution.acting_for().user,
        "parentExecution": {
            "id": execution.id,
            "type": execution.type,
            "application": execution.application,
            "name": execution.name,
            "pipelineConfigId": execution.pipeline_config_id,
        },
        "parentPipelineId": execution.pipeline_config_id,
        "parentPipelineName": execution.name,
        "parentPipelineApplication": execution.application,
        "parentPipelineStageId": stage.id,
        "parameters": dict(parameters) if isinstance(parameters, dict) else {},
    }


class StartPipelineTask:
    name = "startPipeline"

    def run(self, run: TaskRun) -> TaskResult:
        config_id = run.stage.context.get("pipeline")
        if not isinstance(config_id, str) or not config_id:
            return TaskResult.terminal("a pipeline stage needs 'pipeline': the id of the pipeline config to run")
        parameters = run.stage.context.get("pipelineParameters")
        if parameters is not None and not isinstance(parameters, dict):
            return TaskResult.terminal("pipelineParameters must be an object of parameter name → value")
        call = calls.current(run.stage, run.task, CALL_KEY)
        if call is None:
            return self._send(run, config_id, attempt=1)
        answer = call.get("answer")
        if answer is None:
            due = call["sentAt"] + ANSWER_DEADLINE_MS
            if due > run.now:
                return TaskResult.running(backoff_ms=due - run.now)
            answer = {"error": "no answer to starting the child pipeline", "retryable": True}
        if answer.get("started"):
            found: Json = {"executionId": answer["executionId"], "executionName": answer.get("executionName")}
            return TaskResult.succeeded(outputs=found, context=found)
        if not answer.get("retryable") or call["attempt"] >= MAX_ATTEMPTS:
            return TaskResult.terminal(f"could not start pipeline {config_id!r}: {answer.get('error')}")
        next_at = call.get("nextAt") or run.now + RETRY_BACKOFF_MS
        if next_at > run.now:
            context = {CALL_KEY: {**call, "answer": answer, "nextAt": next_at}}
            return TaskResult(ExecutionStatus.RUNNING, context=context, backoff_ms=next_at - run.now)
        return self._send(run, config_id, attempt=call["attempt"] + 1)

    def _send(self, run: TaskRun, config_id: str, *, attempt: int) -> TaskResult:
        command = StartChildPipeline(
            execution_id=run.execution.id,
            stage_id=run.stage.id,
            task_id=run.task.id,
            attempt=attempt,
            child_execution_id=child_execution_id(run.execution, run.stage),
            application=run.stage.context.get("application") or run.execution.application,
            pipeline_config_id=config_id,
            trigger=child_trigger(run.execution, run.stage),
            authority=run.execution.acting_for(),
        )
        return TaskResult(
            ExecutionStatus.RUNNING,
            context={CALL_KEY: calls.sent(run.task, attempt, run.now)},
            backoff_ms=ANSWER_DEADLINE_MS,
            send=(Outbound(command, to="orca"),),
            attempt=attempt,
        )


class MonitorPipelineTask:
    name = "monitorPipeline"

    def run(self, run: TaskRun) -> TaskResult:
        child = child_execution_id(run.execution, run.stage)
        finished = run.stage.context.get(STATUS_KEY)
        if not isinstance(finished, dict) or finished.get("executionId") != child:
            return TaskResult.running(backoff_ms=None)  # the child's completion runs us again
        status = finished.get("status")
        if status == ExecutionStatus.SUCCEEDED.value:
            return TaskResult.succeeded()
        return TaskResult.terminal(f"child pipeline {child} finished {status}")


class PipelineStage:
    type = "pipeline"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        if wait_for_completion(stage):
            return (StartPipelineTask(), MonitorPipelineTask())
        return (StartPipelineTask(),)
