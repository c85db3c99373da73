"""Terraformer's side of Orca's ``terraform`` stage: ``orca.RunExternalTask`` in, one Terraform run, one answer.

The handler judges the command, stores the run (its id derived from the task attempt, so a
redelivered command finds it) and starts it as a task of this process; the command is acked at
once. The run then:

* takes the store's lock on its directory + workspace (another execution's run there makes it
  wait, its heartbeats naming the holder: execution, stage, user and since when);
* runs Terraform (:mod:`workers.terraformer.runs`) in ``<work_dir>/<run id>``, every
  ``heartbeat_seconds`` renewing its lease, storing the tail of Terraform's output and sending
  ``terraformer.task.heartbeat`` with the last line (Orca shows it as the stage's progress, and
  the tail as ``terraformLog``);
* stops Terraform when its stage ended meanwhile (``cancel_requested``, set by
  :mod:`workers.terraformer.cancellation` in whichever Terraformer saw the event): SIGINT, the
  grace for Terraform to release its state lock, then SIGKILL;
* stores its answer, releases the lock, publishes ``terraformer.task.completed``.

Judged by the command's authority: EXECUTE on the application (Front50's permissions, as running a
pipeline needs) and WRITE on the ``profile`` it names. A Terraformer that dies mid-run is dealt with
by :mod:`workers.terraformer.recovery`: the run is failed, never run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from bus import Envelope, Sender
from bus.context import MessageContext
from schemas.artifact_accounts import ACCOUNT_TYPES
from schemas.authority import Permission, can
from schemas.base import Query, Reply
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask, TaskOutcome
from schemas.permissions import application_permissions
from schemas.terraformer import (
    GetTerraformRun,
    TerraformerSettings,
    TerraformerTaskCompleted,
    TerraformerTaskHeartbeat,
    TerraformProfile,
    TerraformRunFound,
)
from workers.terraformer.binary import Binaries, BinaryUnavailable
from workers.terraformer.process import TerraformProcess, redactor
from workers.terraformer.request import RequestInvalid, TerraformRequest, read
from workers.terraformer.runs import Canceled, Outcome, RunEnvironment, RunFailed, TerraformRun
from workers.terraformer.sources import SourceRefused, Sources
from workers.terraformer.store import LOG_LINES, RUNNING, TerraformerStore

STAGE_TYPE = "terraform"
HEARTBEAT_LOG_LINES = 20
ANSWER_LOG_LINES = 100
log = structlog.get_logger("gennaker.terraformer")
Beat = Callable[[str | None], Awaitable[None]]


def run_id_of(task: RunExternalTask) -> str:
    """The run of one task attempt, the same on every redelivery."""
    identity = f"{task.execution_id}/{task.stage_id}/{task.task_id}/{task.attempt}"
    return hashlib.sha256(identity.encode()).hexdigest()[:26]


def lock_key(request: TerraformRequest) -> str:
    """The directory + workspace a run works on: its configuration's source, ``subPath``, ``dir`` and workspace."""
    config = request.configuration
    source = config.get("reference") if config.get("type") in ("git/repo", "http/file", "github/file") else None
    sub = (config.get("metadata") or {}).get("subPath") or ""
    parts = [str(config.get("type")), str(source or config.get("name") or ""), str(sub), request.dir]
    parts.append(request.workspace or "default")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def describe_holder(holder: Json) -> str:
    """A lock's holder as a person reads it."""
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(holder.get("since") or 0) / 1000))
    return (
        f"execution {holder.get('execution_id')} (stage {holder.get('stage_id')}, "
        f"application {holder.get('application')}, user {holder.get('user') or 'anonymous'}) since {since}"
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def fresh_directory(work: Path) -> None:
    """``work`` emptied, with the ``home`` and ``tmp`` Terraform runs with."""
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("home", "tmp"):
        (work / sub).mkdir(parents=True)


class Refused(Exception):
    """The command may not or cannot run; nothing ran."""


class TerraformTasks:
    """Runs ``terraform`` stages: judges, claims, runs and answers them."""

    def __init__(
        self,
        store: TerraformerStore,
        settings: TerraformerSettings,
        sources: Sources,
        *,
        owner: str,
        work_root: Path,
        query_timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sources = sources
        self.owner = owner
        self.work_root = work_root
        self.query_timeout = query_timeout
        self.binaries = Binaries(settings)
        self.profiles = {profile.name: profile for profile in settings.profiles}
        self._running: dict[str, asyncio.Task[None]] = {}

    async def handle(self, task: RunExternalTask, context: MessageContext) -> None:
        """``orca.RunExternalTask``: judge and start the run, or answer it again when it is done."""
        if task.stage_type != STAGE_TYPE:
            await self._answer(
                context.bus, task, Outcome("TERMINAL", error=f"Terraformer provides no stage type {task.stage_type!r}")
            )
            return
        stored = await self.store.run(run_id_of(task))
        if stored is not None:
            await self._again(context.bus, stored, context.envelope)
            return
        try:
            request = read(task.context)
            profile = self._profile(task, request)
            self._require_artifact_accounts(task, request)
            await self._require_execute(task, context)
        except (RequestInvalid, Refused) as refused:
            await self._answer(context.bus, task, Outcome("TERMINAL", error=str(refused)), caused_by=context.envelope)
            return
        run: Json = {
            "_id": run_id_of(task),
            "execution_id": task.execution_id,
            "stage_id": task.stage_id,
            "application": task.application,
            "action": request.action,
            "user": task.authority.user,
            "command": task.model_dump(mode="json"),
            "status": RUNNING,
            "owner": self.owner,
            "lease_until": now_ms() + int(self.settings.lease_seconds * 1000),
            "cancel_requested": False,
            "phase": "starting",
            "log": [],
            "lock_key": lock_key(request),
            "workspace": request.workspace or "default",
            "started": now_ms(),
        }
        stored, owned = await self.store.claim(run)
        if not owned:
            await self._again(context.bus, stored, context.envelope)
            return
        self._launch(context.bus, stored, task, request, profile, context.envelope)

    async def _again(self, bus: Sender, stored: Json, caused_by: Envelope | None) -> None:
        if stored.get("status") != RUNNING and stored.get("answer"):
            await self.publish(bus, stored, caused_by)
        else:
            log.info("terraformer.run_already_running", run_id=stored["_id"], owner=stored.get("owner"))

    def _profile(self, task: RunExternalTask, request: TerraformRequest) -> TerraformProfile | None:
        if request.profile is None:
            return None
        profile = self.profiles.get(request.profile)
        if profile is None:
            known = ", ".join(sorted(self.profiles)) or "none are configured ([[terraformer.profiles]])"
            raise Refused(f"profile: no profile named {request.profile!r}; known profiles: {known}")
        if not can(task.authority, profile.permissions, Permission.WRITE):
            who = task.authority.described()
            raise Refused(f"profile: access denied: {who} lacks WRITE permission on profile {profile.name!r}")
        return profile

    def _require_artifact_accounts(self, task: RunExternalTask, request: TerraformRequest) -> None:
        """READ on every artifact account the run's fetched and cloned artifacts name, as Clouddriver asks."""
        named = [(request.configuration_field, request.configuration), *request.var_files]
        named += [("backendArtifact", request.backend)] if request.backend else []
        named += [("artifacts.planfile", request.planfile)] if request.planfile else []
        for where, artifact in named:
            if artifact.get("type") not in ACCOUNT_TYPES:
                continue
            try:
                account = self.sources.account(artifact, where)
            except SourceRefused as refused:
                raise Refused(str(refused)) from None
            if account is not None and not account.may_read(task.authority):
                who = task.authority.described()
                raise Refused(
                    f"{where}: access denied: {who} lacks READ permission on artifact account {account.name!r}"
                )

    async def _require_execute(self, task: RunExternalTask, context: MessageContext) -> None:
        authority = task.authority
        if authority.admin:
            return

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.query_timeout)

        permissions = await application_permissions(ask, task.application)
        if not can(authority, permissions, Permission.EXECUTE):
            who = authority.described()
            raise Refused(f"access denied: {who} lacks EXECUTE permission on application {task.application!r}")

    def _launch(
        self,
        bus: Sender,
        run: Json,
        task: RunExternalTask,
        request: TerraformRequest,
        profile: TerraformProfile | None,
        caused_by: Envelope | None,
    ) -> None:
        run_id = str(run["_id"])
        job = asyncio.create_task(
            self._run(bus, run, task, request, profile, caused_by), name=f"terraform run {run_id}"
        )
        self._running[run_id] = job
        job.add_done_callback(lambda _: self._running.pop(run_id, None))

    async def get_run(self, query: GetTerraformRun, context: MessageContext) -> TerraformRunFound:
        """A run as Gate shows it (the gateway checks READ on its application)."""
        run = await self.store.run(query.run_id)
        if run is None:
            return TerraformRunFound(run=None)
        answer = run.get("answer") or {}
        shown = {
            "id": run["_id"],
            "executionId": run.get("execution_id"),
            "stageId": run.get("stage_id"),
            "application": run.get("application"),
            "action": run.get("action"),
            "workspace": run.get("workspace"),
            "user": run.get("user"),
            "status": run.get("status"),
            "phase": run.get("phase"),
            "startTime": run.get("started"),
            "endTime": run.get("ended"),
            "error": answer.get("error"),
            "log": list(run.get("log") or []),
        }
        return TerraformRunFound(run=shown)

    def runs(self, run_id: str) -> bool:
        """Whether this process runs ``run_id`` now."""
        job = self._running.get(run_id)
        return job is not None and not job.done()

    async def stop(self) -> None:
        """Stop this process's runs (the worker stops): their Terraform gets SIGINT and the grace."""
        for job in list(self._running.values()):
            job.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    def _environment(self, work: Path, profile: TerraformProfile | None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(work / "home"),
            "TMPDIR": str(work / "tmp"),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_CLI_CONFIG_FILE": str(work / "terraform.rc"),
        }
        for name in ("LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR"):
            if name in os.environ:
                env[name] = os.environ[name]
        if profile is not None:
            env |= {name: value.get_secret_value() for name, value in profile.variables.items()}
        return env

    async def _run(
        self,
        bus: Sender,
        run: Json,
        task: RunExternalTask,
        request: TerraformRequest,
        profile: TerraformProfile | None,
        caused_by: Envelope | None,
    ) -> None:
        run_id = str(run["_id"])
        work = self.work_root / run_id
        lines: list[str] = []
        current: list[TerraformProcess | None] = [None]
        canceled = asyncio.Event()
        stopping: list[asyncio.Task[None]] = []
        changes: Json = {}
        grace = self.settings.cancel_grace_seconds

        async def sink(line: str) -> None:
            lines.append(line)
            del lines[:-LOG_LINES]

        async def note(facts: Json) -> None:
            changes.update(facts)
            if "state_lock" in facts or "pid" in facts:
                await self.store.renew(run_id, self.owner, self._lease(), dict(facts))

        async def stop_terraform() -> None:
            canceled.set()
            process = current[0]
            if process is not None:
                await process.stop(grace)

        async def beat(progress: str | None) -> None:
            renewed = await self.store.renew(run_id, self.owner, self._lease(), {**changes, "log": list(lines)})
            if (renewed is None or renewed.get("cancel_requested")) and not canceled.is_set():
                log.info("terraformer.run_cancel", run_id=run_id, lost=renewed is None)
                stopping.append(asyncio.create_task(stop_terraform()))
            context = {"terraformRunId": run_id, "terraformLog": lines[-HEARTBEAT_LOG_LINES:]}
            heartbeat = TerraformerTaskHeartbeat(
                execution_id=task.execution_id,
                stage_id=task.stage_id,
                task_id=task.task_id,
                attempt=task.attempt,
                application=task.application,
                progress=progress or (lines[-1] if lines else changes.get("phase")),
                context=context,
            )
            try:
                await bus.publish(heartbeat, subject=task.execution_id, caused_by=caused_by)
            except Exception as error:  # a lost heartbeat is retried at the next beat
                log.warning("terraformer.heartbeat_failed", run_id=run_id, error=repr(error))

        async def heartbeats() -> None:
            while True:
                await asyncio.sleep(self.settings.heartbeat_seconds)
                await beat(None)

        key = str(run["lock_key"])
        beating = asyncio.create_task(heartbeats())
        holding = False
        try:
            holding = await self._take_lock(key, run, task, beat, canceled)
            if not holding:
                outcome = Outcome("CANCELED", error="the stage ended while it waited for the lock")
            else:
                outcome = await self._terraform(request, run_id, task, work, profile, sink, note, current, canceled)
        except asyncio.CancelledError:
            await stop_terraform()
            raise
        finally:
            beating.cancel()
            shutil.rmtree(work, ignore_errors=True)
            if holding:
                await self.store.release(key, run_id)
        await self._finish(bus, run_id, task, outcome, lines, caused_by)

    def _lease(self) -> int:
        return now_ms() + int(self.settings.lease_seconds * 1000)

    async def _take_lock(self, key: str, run: Json, task: RunExternalTask, beat: Beat, canceled: asyncio.Event) -> bool:
        holder = {
            "run_id": run["_id"],
            "execution_id": task.execution_id,
            "stage_id": task.stage_id,
            "application": task.application,
            "user": task.authority.user,
            "since": now_ms(),
            "owner": self.owner,
        }
        told = 0.0
        while True:
            held_by = await self.store.acquire(key, holder)
            if held_by is None:
                return True
            if canceled.is_set():
                return False
            if time.monotonic() - told >= self.settings.heartbeat_seconds:
                told = time.monotonic()
                await beat(f"waiting for the lock on this directory and workspace, held by {describe_holder(held_by)}")
            await asyncio.sleep(min(0.5, self.settings.heartbeat_seconds))

    async def _terraform(
        self,
        request: TerraformRequest,
        run_id: str,
        task: RunExternalTask,
        work: Path,
        profile: TerraformProfile | None,
        sink: Callable[[str], Awaitable[None]],
        note: Callable[[Json], Awaitable[None]],
        current: list[TerraformProcess | None],
        canceled: asyncio.Event,
    ) -> Outcome:
        fresh_directory(work)
        env = self._environment(work, profile)
        secrets = [value.get_secret_value() for value in profile.variables.values()] if profile else []
        try:
            argv = await self.binaries.argv(request.version, env)
            environment = RunEnvironment(
                work=work,
                argv=argv,
                env=env,
                redact=redactor(secrets),
                sink=sink,
                note=note,
                started=lambda process: current.__setitem__(0, process),
                canceled=canceled.is_set,
                filesystem_mirror=self.settings.filesystem_mirror,
                embed_planfiles=self.settings.planfiles == "embedded",
            )
            return await TerraformRun(request, self.sources, self.store, run_id).carry_out(
                environment, task.application
            )
        except Canceled:
            return Outcome("CANCELED", error="Terraform was stopped: the stage ended (cancelled, timed out or skipped)")
        except (RunFailed, SourceRefused, BinaryUnavailable, RequestInvalid) as failed:
            return Outcome("TERMINAL", error=str(failed))
        except OSError as error:
            return Outcome("TERMINAL", error=f"Terraform could not run: {error}")

    async def _finish(
        self,
        bus: Sender,
        run_id: str,
        task: RunExternalTask,
        outcome: Outcome,
        lines: list[str],
        caused_by: Envelope | None,
    ) -> None:
        answer = {
            "status": outcome.status,
            "outputs": outcome.outputs,
            "context": {"terraformRunId": run_id, "terraformLog": lines[-ANSWER_LOG_LINES:]},
            "error": outcome.error,
        }
        if await self.store.finish(run_id, self.owner, answer, now_ms(), log=lines[-LOG_LINES:]):
            stored = await self.store.run(run_id)
            if stored is not None:
                await self.publish(bus, stored, caused_by)
        else:
            log.warning("terraformer.run_taken_over", run_id=run_id)

    async def publish(self, bus: Sender, stored: Json, caused_by: Envelope | None = None) -> None:
        """Publish the stored answer of ``stored`` and mark it published."""
        task = RunExternalTask.model_validate(stored["command"])
        answer = stored["answer"]
        await self._answer(
            bus,
            task,
            Outcome(answer["status"], answer.get("outputs") or {}, answer.get("error")),
            context=answer.get("context") or {},
            caused_by=caused_by,
        )
        await self.store.published(str(stored["_id"]))

    async def _answer(
        self,
        bus: Sender,
        task: RunExternalTask,
        outcome: Outcome,
        *,
        context: Json | None = None,
        caused_by: Envelope | None = None,
    ) -> None:
        status: TaskOutcome = outcome.status
        answer = TerraformerTaskCompleted(
            execution_id=task.execution_id,
            stage_id=task.stage_id,
            task_id=task.task_id,
            attempt=task.attempt,
            application=task.application,
            status=status,
            outputs=outcome.outputs,
            context=context or {},
            error=outcome.error,
        )
        await bus.publish(answer, subject=task.execution_id, caused_by=caused_by)
