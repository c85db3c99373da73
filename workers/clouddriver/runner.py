"""Runs Orca's ``orca.RunExternalTask`` commands as journalled operations and answers each once.

The command handler only claims the operation in the journal and starts it; the work runs as a
task of this process, renewing its lease and sending ``clouddriver.task.heartbeat`` every
``heartbeat_seconds``, then stores its answer and publishes ``clouddriver.task.completed``. So:

* a redelivered command finds its journal entry: answered again if finished, left alone if a
  live Clouddriver is working on it;
* a Clouddriver that dies leaves its entries RUNNING; :meth:`OperationRunner.reconcile` (a
  background loop) takes over those whose owner is a dead process on this host at once and any
  whose lease lapsed, and runs them again from their recorded decisions (providers adopt what
  exists), so every task finishes or fails and is answered;
* an answer stored but not published (death in between) is published by the same loop;
* an operation whose stage Orca finished meanwhile (cancelled, skipped, timed out: its
  ``orca.stage.completed`` while the entry still runs) is asked to stop through the journal, so
  whichever Clouddriver runs it stops at its next heartbeat: it answers CANCELED, and a create it
  interrupted keeps the instances it started and starts no more (its capacity is set to them).

Every operation is judged by the command's authority first (:mod:`workers.clouddriver.access`).

Before the first operation, every provider's :meth:`~workers.clouddriver.provider.CloudProvider.start`
runs (recovering processes and load balancers left by an earlier Clouddriver).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time

import structlog

from bus import Bus, Envelope, Sender
from bus.context import MessageContext
from schemas.authority import Permission
from schemas.base import Query, Reply
from schemas.clouddriver_operations import TaskCompleted, TaskHeartbeat
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask, StageCompleted
from workers.clouddriver.access import OperationAccess
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.artifacts import ArtifactFetcher
from workers.clouddriver.cache import InfrastructureCache
from workers.clouddriver.descriptions import ResizeServerGroup
from workers.clouddriver.journal import OperationJournal, Status
from workers.clouddriver.model import Capacity
from workers.clouddriver.operations import OPERATIONS, OperationRun, Outcome
from workers.clouddriver.provider import (
    ANSWER_MARGIN_SECONDS,
    STAGE_DEADLINE,
    OperationFailed,
    ProviderRegistry,
    no_progress,
)

log = structlog.get_logger("gennaker.clouddriver.operations")


def _owner_is_dead(owner: str) -> bool:
    """``owner`` (``host:pid:token``) was a process on this host that is gone."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


class OperationRunner:
    """Claims, runs, resumes and answers cloud operations."""

    def __init__(
        self,
        journal: OperationJournal,
        accounts: AccountCatalogue,
        providers: ProviderRegistry,
        cache: InfrastructureCache,
        *,
        owner: str,
        heartbeat_seconds: float = 2.0,
        poll_seconds: float = 0.5,
        reconcile_seconds: float = 2.0,
        execute_fallback: Permission = Permission.READ,
        front50_timeout: float = 5.0,
        artifacts: ArtifactFetcher | None = None,
    ) -> None:
        self.artifacts = artifacts
        self.execute_fallback = execute_fallback
        self.front50_timeout = front50_timeout
        self.journal = journal
        self.accounts = accounts
        self.providers = providers
        self.cache = cache
        self.owner = owner
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self.reconcile_seconds = reconcile_seconds
        self._running: dict[str, asyncio.Task[None]] = {}
        self._started = False
        self._start_lock = asyncio.Lock()

    async def start_providers(self) -> None:
        """Run every provider's recovery once, before the first operation."""
        async with self._start_lock:
            if not self._started:
                for provider in self.providers.all():
                    await provider.start()
                self._started = True

    async def stage_completed(self, event: StageCompleted, context: MessageContext) -> None:
        """``orca.stage.completed``: Orca waits no longer for this stage, so stop its operations."""
        asked = await self.journal.request_cancel(event.execution_id, event.stage_id)
        if asked:
            log.info("asked a running operation to stop", stage_id=event.stage_id, status=event.status)

    async def handle(self, command: RunExternalTask, context: MessageContext) -> None:
        """``orca.RunExternalTask``: claim the attempt and start it, or answer it again if finished."""
        await self.start_providers()
        claim = await self.journal.claim(command, self.owner)
        if claim.finished:
            await self._answer(context.bus, claim.entry, caused_by=context.envelope)
        elif claim.owned:
            self._launch(context.bus, claim.entry, caused_by=context.envelope)
        else:
            log.info("operation already running elsewhere", task_id=command.task_id, owner=claim.entry.get("owner"))

    def _launch(self, bus: Sender, entry: Json, *, caused_by: Envelope | None) -> None:
        key = entry["_id"]
        if key in self._running and not self._running[key].done():
            return
        task = asyncio.create_task(self._run(bus, entry, caused_by), name=f"clouddriver operation {key}")
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))

    async def _run(self, bus: Sender, entry: Json, caused_by: Envelope | None) -> None:
        key = entry["_id"]
        command = RunExternalTask.model_validate(entry["command"])
        last_line: list[str | None] = [None]

        async def heartbeat(progress: str | None) -> None:
            event = TaskHeartbeat(
                execution_id=command.execution_id,
                stage_id=command.stage_id,
                task_id=command.task_id,
                attempt=command.attempt,
                application=command.application,
                progress=progress,
            )
            try:
                await bus.publish(event, subject=command.execution_id, caused_by=caused_by)
            except Exception as error:
                log.warning("could not send a heartbeat", task_id=command.task_id, error=repr(error))

        async def progress(line: str) -> None:
            log.info("operation progress", task_id=command.task_id, stage_type=command.stage_type, progress=line)
            last_line[0] = line
            await heartbeat(line)

        async def record(state: Json) -> None:
            await self.journal.checkpoint(key, self.owner, state)

        async def ask(query: Query) -> Reply:
            return await bus.ask(query, timeout=self.front50_timeout, caused_by=caused_by)

        run = OperationRun(
            command=command,
            accounts=self.accounts,
            providers=self.providers,
            progress=progress,
            state=dict(entry.get("state") or {}),
            record=record,
            checks=OperationAccess(
                authority=command.authority,
                application=command.application,
                ask=ask,
                execute_fallback=self.execute_fallback,
            ),
            poll_seconds=self.poll_seconds,
            artifacts=self.artifacts,
        )
        # the stage's deadline bounds the operation and the cache refresh after it, so an answer that says a
        # cloud did not answer reaches Orca before its own timer fails the stage (this task's context only)
        STAGE_DEADLINE.set(stage_deadline(command.context, float(entry.get("started_at") or time.time())))
        operating = asyncio.create_task(self._operate(run))
        canceled: list[bool] = [bool(entry.get("cancel_requested"))]
        if canceled[0]:
            operating.cancel()

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_seconds)
                if not await self.journal.renew(key, self.owner):
                    log.warning("lost the operation's lease", task_id=command.task_id)
                if await self.journal.cancel_requested(key):
                    canceled[0] = True
                    operating.cancel()
                    return
                await heartbeat(last_line[0])

        beating = asyncio.create_task(beat())
        with structlog.contextvars.bound_contextvars(task_id=command.task_id, stage_type=command.stage_type):
            try:
                outcome = await operating
                status: Status = "SUCCEEDED"
                error: str | None = None
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not canceled[0] or (current is not None and current.cancelling()):
                    raise  # Clouddriver is stopping: the entry stays RUNNING for the next one
                outcome, status = Outcome(context=dict(run.partial)), "CANCELED"
                error = "canceled: Orca no longer waits for this stage (it was cancelled, skipped or timed out)"
                log.info("operation canceled")
                await self._stop_creating(run)
            except OperationFailed as failure:
                outcome, status, error = Outcome(context=dict(run.partial)), "TERMINAL", str(failure)
                log.info("operation failed", error=error)
            except Exception as failure:
                outcome = Outcome(context=dict(run.partial))
                status, error = "TERMINAL", f"{type(failure).__name__}: {failure}"
                log.error("operation raised", error=error, exc_info=True)
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating
            deadline = STAGE_DEADLINE.get()
            for account in sorted(run.touched):
                try:
                    if deadline is None:
                        await self.cache.refresh(account)
                    else:  # the answer goes before the stage's timeout even if the refresh waits on a cloud away
                        left = max(0.0, deadline - ANSWER_MARGIN_SECONDS - time.monotonic())
                        await asyncio.wait_for(self.cache.refresh(account), left)
                except Exception as failure:
                    log.warning("could not refresh the cache after an operation", account=account, error=repr(failure))
            finished = await self.journal.finish(
                key, self.owner, status, outputs=outcome.outputs, context=outcome.context, error=error
            )
            if finished is None:
                log.warning("the operation was taken over before it finished; its answer is the new owner's")
                return
            await self._answer(bus, finished, caused_by=caused_by)

    async def _stop_creating(self, run: OperationRun) -> None:
        """After a cancelled create: keep the instances it started, start no more (here or after
        a restart) by setting each server group it was creating to the instances it has."""
        for decision, planned in run.state.items():
            if not decision.startswith("create:") or not isinstance(planned, dict) or "name" not in planned:
                continue
            region, name = decision.removeprefix("create:"), str(planned["name"])
            try:
                account, provider = run.account(planned.get("account"))
            except OperationFailed:
                return
            try:
                group = await provider.server_group(account, region, name)
                if group is None:
                    continue
                live = len(group.instances)
                capacity = Capacity(min=min(group.capacity.min, live), max=max(group.capacity.max, live), desired=live)
                await provider.resize_server_group(
                    account,
                    ResizeServerGroup(account=account.name, region=region, server_group_name=name, capacity=capacity),
                    no_progress,
                )
                run.touched.add(account.name)
                log.info("a cancelled create keeps the instances it started", server_group=name, instances=live)
            except Exception as failure:
                log.warning("could not stop a cancelled create", server_group=name, error=repr(failure))

    async def _operate(self, run: OperationRun) -> Outcome:
        operation = OPERATIONS.get(run.command.stage_type)
        if operation is None:
            raise OperationFailed(
                f"Clouddriver does not provide stage type {run.command.stage_type!r}; it runs {sorted(OPERATIONS)}"
            )
        # the task acts for a pipeline of this application: EXECUTE there to change anything (READ will do to look)
        if run.changes:
            await run.access.require_application(run.command.application, Permission.EXECUTE)
        else:
            await run.access.require_application(run.command.application, Permission.READ, Permission.EXECUTE)
        return await operation(run)

    async def _answer(self, bus: Sender, entry: Json, *, caused_by: Envelope | None) -> None:
        command = RunExternalTask.model_validate(entry["command"])
        event = TaskCompleted(
            execution_id=command.execution_id,
            stage_id=command.stage_id,
            task_id=command.task_id,
            attempt=command.attempt,
            application=command.application,
            status=entry["status"],
            outputs=entry.get("outputs") or {},
            context=entry.get("context") or {},
            error=entry.get("error"),
        )
        await bus.publish(event, subject=command.execution_id, caused_by=caused_by)
        await self.journal.answered(entry["_id"])
        log.info("operation answered", task_id=command.task_id, status=entry["status"], error=entry.get("error"))

    async def reconcile_once(self, bus: Bus) -> int:
        """Resume operations left by dead Clouddrivers and publish answers left unpublished; how many."""
        await self.start_providers()
        resumed = 0
        candidates = await self.journal.stale()
        candidates += [entry for entry in await self.journal.running() if _owner_is_dead(str(entry.get("owner")))]
        for entry in candidates:
            if entry["_id"] in self._running:
                continue
            owner = str(entry.get("owner"))
            if _owner_is_dead(owner):
                claim = await self.journal.take_from(entry["_id"], owner, self.owner)
            else:
                claim = await self.journal.take_over(entry["_id"], self.owner)
            if claim is not None:
                log.info("resuming an operation a stopped Clouddriver left", task_id=entry["command"]["task_id"])
                self._launch(bus, claim.entry, caused_by=None)
                resumed += 1
        for entry in await self.journal.unanswered(older_than=self.reconcile_seconds * 2):
            if entry["_id"] not in self._running:
                await self._answer(bus, entry, caused_by=None)
        return resumed

    async def reconcile(self, bus: Bus) -> None:
        """Background loop: :meth:`reconcile_once` every ``reconcile_seconds``."""
        while True:
            await self.reconcile_once(bus)
            await asyncio.sleep(self.reconcile_seconds)

    async def stop(self) -> None:
        """Cancel operations in flight; their journal entries stay RUNNING for the next Clouddriver."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def stage_deadline(context: Json, started_at: float) -> float | None:
    """The ``time.monotonic()`` by which the stage's ``stageTimeoutMs`` runs out, counted from
    ``started_at`` (when the first Clouddriver took the operation: a resumed one keeps its
    deadline); ``None`` when the stage sets no timeout."""
    timeout = context.get("stageTimeoutMs")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        return None
    return time.monotonic() + (started_at + timeout / 1000 - time.time())
