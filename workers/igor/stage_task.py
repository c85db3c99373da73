"""Igor's side of Orca's ``jenkins`` stage: each of its tasks, worked until it has an answer.

Orca sends ``orca.RunExternalTask`` for each task of the stage, naming it in ``igorTask``
(Orca's task names: ``startJenkinsJob``, ``waitForJenkinsJobStart``, ``monitorJenkinsJob``,
``getBuildProperties``, ``getBuildArtifacts``). Igor stores the attempt (``igor_stage_tasks``),
then works it now and again whenever it is due — here or in any other Igor, by lease — until it
decides; the answer is stored, then published as ``igor.task.completed``. While a build waits in
the queue or runs, Igor sends ``igor.task.heartbeat`` with ``progress`` and ``buildInfo``.

What each task does is what Orca's does with Igor's answers:

* start — WRITE on the master; the job's ``buildable`` and choice parameters checked as Igor's
  ``BuildController`` checks them ("`x` is not a valid choice for `p`. Valid choices are: …"),
  then the build queued once per stage start (:meth:`IgorStore.claim_trigger`: the same stage
  asking again gets the same queue item) → ``queuedBuild``;
* wait for start — the queue item until it names its build → ``buildNumber``; the build's
  description then links back to the execution when ``igor.base_url`` is set;
* monitor — the build until it ends: SUCCESS succeeds, UNSTABLE fails "Job is unstable" unless
  ``markUnstableAsSuccessful``, FAILURE fails "Job failed (see Jenkins)", ABORTED is CANCELED "Job
  was aborted (see Jenkins)"; ``buildInfo`` (Igor's ``GenericBuild``) in context and outputs;
* properties — the ``propertyFile`` among the build's artifacts, read as a map
  (:mod:`workers.igor.properties`) and merged into the stage's outputs with
  ``propertyFileContents``;
* artifacts — the build's archived files as ``http/file`` artifacts in ``outputs.artifacts``.

A master that does not answer (refused, timed out, 5xx) is tried again after a back-off doubling
from ``igor.start_backoff``; after ``igor.start_retries`` attempts the task fails naming the
master. The stage's end (``orca.stage.completed`` while a task is undecided: cancelled, timed
out) stops its build, or takes it out of the queue (:meth:`StageTasks.stage_completed`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import structlog

from bus import Bus
from bus.context import MessageContext, Sender
from schemas.authority import Permission
from schemas.igor import IgorSettings, IgorTaskCompleted, IgorTaskHeartbeat
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask, StageCompleted, TaskOutcome
from workers.igor.jenkins import JenkinsClient, JenkinsRefused, MasterUnavailable, generic_build
from workers.igor.masters import Masters, Refused
from workers.igor.properties import parse_properties
from workers.igor.store import IgorStore, now_ms

log = structlog.get_logger("gennaker.igor.stage")

STAGE_TYPE = "jenkins"
STAGE_TYPES = ("jenkins", "getProperties")
TASK_KEY = "igorTask"
START, WAIT, MONITOR, PROPERTIES, ARTIFACTS = (
    "startJenkinsJob",
    "waitForJenkinsJobStart",
    "monitorJenkinsJob",
    "getBuildProperties",
    "getBuildArtifacts",
)
LEASE_MS = 60_000
PARALLEL_TASKS = 32
"""Due tasks one loop works at once: a master that answers slowly delays its own tasks, not the others'."""
MAX_PARAMETERS = 256
MAX_PARAMETER_BYTES = 64 * 1024
JOB_STATUS: dict[str, tuple[TaskOutcome, str | None]] = {
    "SUCCESS": ("SUCCEEDED", None),
    "UNSTABLE": ("TERMINAL", "Job is unstable"),
    "FAILURE": ("TERMINAL", "Job failed (see Jenkins)"),
    "ABORTED": ("CANCELED", "Job was aborted (see Jenkins)"),
}
"""Orca's ``MonitorJenkinsJobTask.JenkinsJobStatus``: a result → the task's status and breadcrumb."""


@dataclass
class Answer:
    """The task is decided."""

    status: TaskOutcome
    error: str | None = None
    outputs: Json = field(default_factory=dict)
    context: Json = field(default_factory=dict)


@dataclass
class Later:
    """Not yet: look again after ``delay`` seconds (a heartbeat says ``progress``)."""

    delay: float
    progress: str | None = None
    context: Json = field(default_factory=dict)
    errors: int | None = None


def task_key(task: RunExternalTask) -> str:
    """One attempt of one task of one run of the stage (a restarted stage starts again at attempt 1)."""
    started = task.context.get("stageStartTime")
    return f"{task.execution_id}/{task.stage_id}/{task.task_id}/{task.attempt}/{started}"


def parameter_value(value: Any) -> str:
    """A parameter as Jenkins takes it (booleans lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def check_choices(config: Json, parameters: dict[str, str]) -> None:
    """Igor's ``validateJobParameters``: a choice parameter's value must be one of its choices."""
    for holder in config.get("property") or []:
        for definition in (holder or {}).get("parameterDefinitions") or []:
            given = parameters.get(str(definition.get("name")))
            choices = definition.get("choices")
            is_choice = definition.get("type") == "ChoiceParameterDefinition" and choices is not None
            if given is not None and is_choice and given not in choices:
                raise Refused(
                    400,
                    f"`{given}` is not a valid choice for `{definition['name']}`. "
                    f"Valid choices are: {', '.join(map(str, choices))}",
                    "parameters",
                )


def has_parameters(config: Json) -> bool:
    return any((holder or {}).get("parameterDefinitions") for holder in config.get("property") or [])


def http_artifacts(build: Json) -> list[Json]:
    """The build's archived files as Spinnaker ``http/file`` artifacts."""
    url = str(build.get("url") or "")
    return [
        {
            "type": "http/file",
            "name": str(artifact.get("relativePath")),
            "reference": f"{url}artifact/{artifact.get('relativePath')}",
            "version": str(build.get("number")),
            "metadata": {"fileName": artifact.get("fileName")},
        }
        for artifact in build.get("artifacts") or []
        if isinstance(artifact, dict) and artifact.get("relativePath")
    ]


class StageTasks:
    """Stores, works and answers the tasks of ``jenkins`` stages."""

    def __init__(self, store: IgorStore, masters: Masters, settings: IgorSettings, *, owner: str) -> None:
        self.store = store
        self.masters = masters
        self.settings = settings
        self.owner = owner

    # --- bus handlers ------------------------------------------------------------------------------

    async def run(self, task: RunExternalTask, context: MessageContext) -> None:
        """``orca.RunExternalTask``'s handler: store the attempt and work it once now."""
        if task.stage_type not in STAGE_TYPES:
            await self._publish(
                context.bus, task, Answer("TERMINAL", f"Igor provides no stage type {task.stage_type!r}")
            )
            return
        key = task_key(task)
        added = await self.store.add_task(
            key,
            {
                "execution_id": task.execution_id,
                "stage_id": task.stage_id,
                "command": task.model_dump(mode="json"),
                "due_at": 0,
                "lease_until": 0,
                "lease_owner": None,
                "errors": 0,
                "answer": None,
                "published": False,
            },
        )
        if not added:
            stored = await self.store.task(key)
            if stored is not None and stored.get("answer") is not None and stored["answer"].get("status") != "CANCELED":
                await self._publish(context.bus, task, Answer(**stored["answer"]))
                return
        await self.work(key, context.bus)

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        """A ``jenkins`` stage ended: stop its build if Igor still watched it."""
        if event.stage_type not in STAGE_TYPES:
            return
        documents = await self.store.tasks_of_stage(event.execution_id, event.stage_id)
        undecided = [document for document in documents if document.get("answer") is None]
        if not undecided:
            return
        await self.store.stop_tasks_of_stage(event.execution_id, event.stage_id)
        command = RunExternalTask.model_validate(undecided[-1]["command"])
        stage = command.context
        queued = next((d.get("queue_item") for d in documents if d.get("queue_item")), stage.get("queuedBuild"))
        number = next((d.get("build_number") for d in documents if d.get("build_number")), stage.get("buildNumber"))
        try:
            client = self.masters.require(str(stage.get("master")), command.authority, Permission.WRITE)
            if number:
                await client.stop(str(stage.get("job")), int(number))
            elif queued:
                await client.cancel_queued(int(queued))
            log.info("jenkins build stopped", execution=event.execution_id, stage=event.stage_id, build=number)
        except (Refused, MasterUnavailable, JenkinsRefused, ValueError) as failed:
            log.warning("could not stop jenkins build", execution=event.execution_id, reason=str(failed))

    # --- the loop ----------------------------------------------------------------------------------

    async def loop(self, bus: Bus) -> None:
        """Work every due task and publish answers left unpublished, until cancelled."""
        tick = min(1.0, self.settings.build_poll_interval)
        await self.store.ensure_indexes()
        while True:
            try:
                due = await self.store.due_tasks(limit=PARALLEL_TASKS)
                await asyncio.gather(*(self.work(key, bus) for key in due))  # a slow master holds up only its own
                for document in await self.store.unpublished_answers(older_than_ms=int(tick * 2000)):
                    task = RunExternalTask.model_validate(document["command"])
                    await self._publish(bus, task, Answer(**document["answer"]))
                    await self.store.mark_published(str(document["_id"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("igor stage loop failed; trying again")
            await asyncio.sleep(tick)

    async def work(self, key: str, bus: Sender) -> None:
        """Claim ``key`` when due and take its next step."""
        document = await self.store.claim_task(key, self.owner, LEASE_MS)
        if document is None:
            return
        task = RunExternalTask.model_validate(document["command"])
        errors = int(document.get("errors") or 0)
        try:
            outcome = await self.step(task, errors)
        except Refused as refused:
            outcome = Answer("TERMINAL", refused.reason)
        except JenkinsRefused as refused:
            outcome = Answer("TERMINAL", refused.text)
        except MasterUnavailable as away:
            outcome = self._away(task, errors, str(away))
        if isinstance(outcome, Later):
            remembered: Json = {"errors": outcome.errors if outcome.errors is not None else 0}
            for name, value in outcome.context.items():
                if name in ("queuedBuild", "buildNumber"):
                    remembered["queue_item" if name == "queuedBuild" else "build_number"] = value
            if outcome.progress is not None or outcome.context:
                beat = IgorTaskHeartbeat(
                    execution_id=task.execution_id,
                    stage_id=task.stage_id,
                    task_id=task.task_id,
                    attempt=task.attempt,
                    application=task.application,
                    progress=outcome.progress,
                    context=outcome.context,
                )
                await bus.publish(beat, subject=task.execution_id)
            await self.store.reschedule(key, self.owner, now_ms() + int(outcome.delay * 1000), remembered)
            return
        answer = {
            "status": outcome.status,
            "error": outcome.error,
            "outputs": outcome.outputs,
            "context": outcome.context,
        }
        if await self.store.decide(key, self.owner, answer):
            await self._publish(bus, task, outcome)
            await self.store.mark_published(key)

    def _away(self, task: RunExternalTask, errors: int, reason: str) -> Answer | Later:
        master = str(task.context.get("master"))
        if errors + 1 > self.settings.start_retries:
            return Answer(
                "TERMINAL",
                f"Jenkins master '{master}' did not answer after {errors + 1} attempts: {reason}",
            )
        delay = self.settings.start_backoff * 2**errors
        progress = f"Jenkins master '{master}' is unavailable ({reason}); trying again in {delay:g} s"
        return Later(delay, progress, errors=errors + 1)

    async def _publish(self, bus: Sender, task: RunExternalTask, answer: Answer) -> None:
        completed = IgorTaskCompleted(
            execution_id=task.execution_id,
            stage_id=task.stage_id,
            task_id=task.task_id,
            attempt=task.attempt,
            application=task.application,
            status=answer.status,
            outputs=answer.outputs,
            context=answer.context,
            error=answer.error,
        )
        await bus.publish(completed, subject=task.execution_id)

    # --- the steps ---------------------------------------------------------------------------------

    async def step(self, task: RunExternalTask, errors: int) -> Answer | Later:
        stage = task.context
        which = stage.get(TASK_KEY)
        master, job = stage.get("master"), stage.get("job")
        if not isinstance(master, str) or not master:
            raise Refused(400, "A jenkins stage needs a master", "master")
        if not isinstance(job, str) or not job or len(job) > 1024:
            raise Refused(400, "A jenkins stage needs a job (at most 1024 characters)", "job")
        if which == START:
            return await self._start(task, self.masters.require(master, task.authority, Permission.WRITE), job, errors)
        client = self.masters.require(master, task.authority, Permission.READ)
        if which == WAIT:
            return await self._wait(task, client, job)
        if which == MONITOR:
            return await self._monitor(stage, client, job)
        if which == PROPERTIES:
            return await self._properties(stage, client, job)
        if which == ARTIFACTS:
            number = stage.get("buildNumber")
            build = await client.build(job, int(number)) if number else {}
            return Answer("SUCCEEDED", outputs={"artifacts": http_artifacts(build)})
        raise Refused(400, f"Igor runs no jenkins task {which!r}", TASK_KEY)

    async def _start(self, task: RunExternalTask, client: JenkinsClient, job: str, errors: int) -> Answer | Later:
        stage = task.context
        given = stage.get("parameters") or {}
        if not isinstance(given, dict) or len(given) > MAX_PARAMETERS:
            raise Refused(400, f"parameters must be a map of at most {MAX_PARAMETERS} entries", "parameters")
        parameters = {str(name): parameter_value(value) for name, value in given.items()}
        if any(len(value.encode()) > MAX_PARAMETER_BYTES for value in parameters.values()):
            raise Refused(400, f"a parameter value is longer than {MAX_PARAMETER_BYTES} bytes", "parameters")
        try:
            config = await client.job_config(job)
        except JenkinsRefused as refused:
            if refused.status == 404:
                raise Refused(404, f"Job '{job}' not found on master '{client.name}'", "job") from None
            raise
        if config.get("buildable") is False:
            raise Refused(400, f"Job '{job}' is not buildable. It may be disabled.", "job")
        if has_parameters(config):
            check_choices(config, parameters)
            if not parameters:
                parameters = {"startedBy": "igor"}
        elif parameters:
            raise Refused(400, f"job : {job}, passing params to a job which doesn't need them", "parameters")
        identity = json.dumps(
            [
                client.name,
                job,
                task.execution_id,
                task.stage_id,
                stage.get("stageStartTime"),
                sorted(parameters.items()),
            ]
        )
        key = hashlib.sha256(identity.encode()).hexdigest()
        stored = await self.store.claim_trigger(key, self.owner, stale_ms=LEASE_MS)
        if stored is not None:
            if stored.get("queue_item"):
                log.info("duplicate request to start job", job=job, master=client.name, queued=stored["queue_item"])
                return Answer("SUCCEEDED", context={"queuedBuild": str(stored["queue_item"])})
            return Later(1.0, f"Build of '{job}' is being queued on '{client.name}'", errors=errors)
        try:
            item = await client.trigger(job, parameters, key)
        except BaseException:
            await self.store.release_trigger(key, self.owner)
            raise
        await self.store.triggered(key, item)
        log.info("jenkins build queued", job=job, master=client.name, queued=item, execution=task.execution_id)
        return Answer("SUCCEEDED", context={"queuedBuild": str(item)})

    async def _wait(self, task: RunExternalTask, client: JenkinsClient, job: str) -> Answer | Later:
        queued = str(task.context.get("queuedBuild") or "")
        if not queued.isdigit():
            raise Refused(
                400, "No queued build to wait for (queuedBuild), check for build start failures", "queuedBuild"
            )
        number, cancelled = await client.queued(int(queued))
        if cancelled:
            return Answer("CANCELED", f"Queued build {queued} of '{job}' was cancelled in Jenkins")
        if number is None:
            progress = f"Build of '{job}' is queued on master '{client.name}' (queue item {queued})"
            return Later(self.settings.build_poll_interval, progress, {"queuedBuild": queued})
        await self._backlink(task, client, job, number)
        return Answer("SUCCEEDED", context={"buildNumber": number})

    async def _backlink(self, task: RunExternalTask, client: JenkinsClient, job: str, number: int) -> None:
        """Orca's ``createBacklink``: the build's description links to the execution."""
        if not self.settings.base_url:
            return
        name = str(task.trigger.get("pipelineName") or task.context.get("pipelineName") or "Unknown Pipeline")
        base = self.settings.base_url.rstrip("/")
        link = f"{base}/#/applications/{task.application}/executions/details/{task.execution_id}"
        text = f"This build was triggered by '<a href=\"{link}\">{name}</a>' in Spinnaker."
        try:
            await client.describe(job, number, text)
        except (MasterUnavailable, JenkinsRefused) as failed:
            log.warning(
                "unable to update build description", master=client.name, job=job, build=number, reason=str(failed)
            )

    async def _monitor(self, stage: Json, client: JenkinsClient, job: str) -> Answer | Later:
        number = stage.get("buildNumber")
        if not number:
            raise Refused(400, f"failed to get build number for job {job} from master {client.name}", "buildNumber")
        build = generic_build(job, await client.build(job, int(number)))
        if build["building"]:
            progress = f"Build #{number} of '{job}' is running"
            return Later(self.settings.build_poll_interval, progress, {"buildInfo": build, "buildNumber": number})
        mapped = JOB_STATUS.get(str(build["result"]))
        if mapped is None:
            return Later(self.settings.build_poll_interval, None, {"buildInfo": build})
        status, breadcrumb = mapped
        if build["result"] == "UNSTABLE" and stage.get("markUnstableAsSuccessful"):
            status, breadcrumb = "SUCCEEDED", None
        found = {"buildInfo": build}
        return Answer(status, breadcrumb, outputs=found, context=found)

    async def _properties(self, stage: Json, client: JenkinsClient, job: str) -> Answer:
        file_name = stage.get("propertyFile")
        if not file_name:
            return Answer("SUCCEEDED")
        number = stage.get("buildNumber")
        if not number:
            raise Refused(
                400,
                "Can't retrieve property file because the build number is not available, "
                "check for build start failures",
                "buildNumber",
            )
        properties = await read_properties(client, job, int(number), str(file_name))
        if not properties:
            raise Refused(
                400,
                f"Expected properties file {file_name} but it was either missing, empty or contained invalid syntax",
                "propertyFile",
            )
        outputs = {**properties, "propertyFileContents": properties}
        return Answer("SUCCEEDED", outputs=outputs, context=outputs)


async def read_properties(client: JenkinsClient, job: str, number: int, file_name: str) -> dict[str, Any]:
    """The build's artifact named ``file_name`` (by file name or relative path) read as a map."""
    build = await client.build(job, number)
    for artifact in build.get("artifacts") or []:
        if isinstance(artifact, dict) and file_name in (artifact.get("fileName"), artifact.get("relativePath")):
            content = await client.artifact(job, number, str(artifact.get("relativePath")))
            return parse_properties(file_name, content or b"")
    return {}
