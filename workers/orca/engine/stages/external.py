"""Stage types other services provide, run by message contract (``orca.RunExternalTask`` out,
``<service>.task.completed`` back, ``<service>.task.heartbeat`` meanwhile; see
:mod:`schemas.orca_engine`).

The task sends the command once per attempt and waits for the answer without a coroutine. A
retryable failure (the answer says ``retryable``) or a silence longer than the stage's
``taskHeartbeatTimeoutMs`` (default: the service's, else none) ends the attempt; while the stage's
``taskRetries`` allow, the next attempt is sent after a backoff doubling from
``taskRetryBackoffMs``, else the stage fails saying why. ``stageTimeoutMs`` bounds it all.

The command carries the stage's artifact references bound (``manifestArtifact`` for
``manifestArtifactId``, ``requiredArtifacts``, ``inputArtifacts[].artifact``, ``optionalArtifacts``;
:mod:`workers.orca.engine.artifacts`): one that binds to nothing fails the stage before anything is
sent; ``${…}`` in a manifest read from an artifact is evaluated
(:mod:`~workers.orca.engine.stages.manifest_expressions`: one fetched over HTTP is first fetched by
Clouddriver in a ``resolveDeploySourceManifest`` task). A stage listing ``expectedArtifacts``
binds what it produced in a last task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from schemas.clouddriver_operations import FETCH_MANIFEST_ARTIFACT
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask
from workers.orca.engine import artifacts
from workers.orca.engine.expression_language import Expressions
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages import manifest_expressions
from workers.orca.engine.stages.base import Outbound, TaskDefinition, TaskResult, TaskRun, positive_int


class ExternalTask:
    """Orca's side of a task another service runs: send an attempt, watch its heartbeats, retry."""

    name = "runExternalTask"

    def __init__(
        self,
        service: str,
        heartbeat_timeout_ms: int | None = None,
        *,
        shape: Callable[[Stage], Json] | None = None,
        shape_in: Callable[[Execution, Stage], Json] | None = None,
        stage_type: str | None = None,
        expressions: Expressions | None = None,
    ) -> None:
        self.service = service
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.shape = shape
        self.shape_in = shape_in
        self.stage_type = stage_type
        self.expressions = expressions

    def run(self, run: TaskRun) -> TaskResult:
        task = run.task
        heartbeat = positive_int(run.stage.context.get("taskHeartbeatTimeoutMs")) or self.heartbeat_timeout_ms
        if task.attempt == 0:
            return self._send(run, 1, heartbeat)
        if task.retry_due is not None:
            if run.now >= task.retry_due:
                return self._send(run, task.attempt + 1, heartbeat)
            return TaskResult.running(backoff_ms=task.retry_due - run.now)
        if heartbeat is None:
            return TaskResult.running(backoff_ms=None)  # the answer runs us again
        silent = run.now - (task.heartbeat_at or task.start_time or run.now)
        if silent < heartbeat:
            return TaskResult.running(backoff_ms=heartbeat - silent)
        lost = (
            f"{self.service} sent no answer or heartbeat for attempt {task.attempt} of task {task.name!r} "
            f"within {heartbeat} ms (taskHeartbeatTimeoutMs)"
        )
        retries = positive_int(run.stage.context.get("taskRetries")) or 0
        if task.attempt <= retries:
            return self._send(run, task.attempt + 1, heartbeat, {"lastAttemptError": lost})
        return TaskResult.terminal(f"{lost}; no retries left (taskRetries={retries}) — check that {self.service} runs")

    def _send(self, run: TaskRun, attempt: int, heartbeat: int | None, context: Json | None = None) -> TaskResult:
        if self.shape_in is not None:
            shaped = self.shape_in(run.execution, run.stage)
        else:
            shaped = self.shape(run.stage) if self.shape else run.stage.context
        try:
            shaped = artifacts.with_bound_references(run.execution, run.stage, shaped)
            if self.expressions is not None:
                shaped = manifest_expressions.evaluated(self.expressions, run.execution, run.stage, shaped)
        except (artifacts.ArtifactError, manifest_expressions.ManifestExpressionFailed) as unbound:
            return TaskResult.terminal(str(unbound))
        command = RunExternalTask(
            execution_id=run.execution.id,
            stage_id=run.stage.id,
            task_id=run.task.id,
            attempt=attempt,
            application=run.execution.application,
            stage_type=self.stage_type or run.stage.type,
            context=shaped,
            trigger=run.execution.trigger,
            authority=run.execution.acting_for(),
        )
        result = TaskResult.running(backoff_ms=heartbeat, send=(Outbound(command, to=self.service),), attempt=attempt)
        if context:
            return TaskResult(result.status, context=context, backoff_ms=heartbeat, send=result.send, attempt=attempt)
        return result


class ExternalStage:
    """A stage of ``type`` run by ``service`` (``expressions`` evaluate manifests read from artifacts)."""

    def __init__(
        self,
        type: str,
        service: str,
        heartbeat_timeout_ms: int | None = None,
        expressions: Expressions | None = None,
    ) -> None:
        self.type = type
        self.service = service
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.expressions = expressions

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        run = ExternalTask(self.service, self.heartbeat_timeout_ms, expressions=self.expressions)
        own: tuple[TaskDefinition, ...] = (
            (run, artifacts.BindProducedArtifactsTask()) if artifacts.produces(stage) else (run,)
        )
        if self.expressions is None or not manifest_expressions.resolves_first(stage):
            return own
        fetch = ExternalTask(
            self.service,
            self.heartbeat_timeout_ms,
            shape_in=manifest_expressions.fetch_request,
            stage_type=FETCH_MANIFEST_ARTIFACT,
        )
        return (manifest_expressions.ResolveSourceManifestTask(fetch), *own)

    def prepare_for_restart(self, stage: Stage) -> None:
        """A restarted stage fetches its manifest artifact again."""
        manifest_expressions.forget_fetched(stage)
