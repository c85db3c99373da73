"""One handler per Kayenta message: run a canary, and the reads of executions, pairs and accounts.

``kayenta.RunCanary`` is judged by the authority it carries: EXECUTE on the application the
canary runs for (Front50's permissions, asked over the bus), as running a pipeline needs. It
answers ``kayenta.canary.started`` once the execution is stored as running, then fetches, judges
and stores the result and publishes ``kayenta.canary.completed``. A redelivered command finds
its execution: a finished one is announced again unchanged, a running one (the worker died
mid-run) is run again, which overwrites only itself. A refused command answers
``kayenta.command.rejected`` and stores nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Literal

import structlog

from bus.context import MessageContext
from schemas.authority import Permission, can
from schemas.base import Query, Reply
from schemas.idempotency import HEADER
from schemas.json_types import Json
from schemas.kayenta import (
    CanaryCompleted,
    CanaryExecutionFound,
    CanaryExecutionList,
    CanaryStarted,
    GetCanaryExecution,
    GetMetricSetPairList,
    KayentaCommandRejected,
    ListCanaryExecutions,
    ListMetricDescriptors,
    ListMetricsAccounts,
    MetricDescriptorList,
    MetricsAccountList,
    MetricSetPairListFound,
    RunCanary,
)
from schemas.permissions import application_permissions
from workers.kayenta.accounts import credentials
from workers.kayenta.cancellation import Canceled, RunningCanaries
from workers.kayenta.runs import MetricsSourceError, RequestInvalid, fetch_pairs, judge_pairs
from workers.kayenta.sources.base import MetricsSource
from workers.kayenta.store import KayentaStore

log = structlog.get_logger("gennaker.kayenta")


class Refused(Exception):
    """The command may not or cannot run; nothing was stored."""

    def __init__(self, status: Literal[400, 403, 404, 422], reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status: Literal[400, 403, 404, 422] = status
        self.reason, self.field = reason, field


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class KayentaHandlers:
    """Kayenta's handlers over its store and its metrics accounts."""

    def __init__(
        self,
        store: KayentaStore,
        sources: dict[str, MetricsSource],
        *,
        query_timeout: float = 5.0,
        running: RunningCanaries | None = None,
    ) -> None:
        self.store = store
        self.sources = sources
        self.query_timeout = query_timeout
        self.running = running or RunningCanaries()

    async def _require_execute(self, command: RunCanary, context: MessageContext) -> None:
        authority = command.authority
        if authority.anonymous and not authority.admin:
            raise Refused(403, "access denied: an anonymous caller may not run a canary analysis", "application")
        if authority.admin:
            return

        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.query_timeout)

        permissions = await application_permissions(ask, command.application)
        if not can(authority, permissions, Permission.EXECUTE):
            raise Refused(
                403,
                f"access denied: {authority.described()} lacks EXECUTE permission on application "
                f"{command.application!r}",
                "application",
            )

    def _source(self, command: RunCanary) -> tuple[str, MetricsSource]:
        name = command.metrics_account_name or next(iter(self.sources), None)
        if name is None or name not in self.sources:
            known = ", ".join(self.sources) or "none are configured ([[kayenta.accounts]])"
            raise Refused(400, f"no metrics account named {name!r}; known accounts: {known}", "metricsAccountName")
        return name, self.sources[name]

    def _execution(self, command: RunCanary, account: str, started: int) -> Json:
        return {
            "id": command.execution_id,
            "application": command.application,
            "parentPipelineExecutionId": command.parent_pipeline_execution_id,
            "parentStageId": command.parent_stage_id,
            "canaryConfigId": command.canary_config_id,
            "config": command.canary_config,
            "canaryExecutionRequest": command.execution_request,
            "metricsAccountName": account,
            "metricsAccountType": self.sources[account].type,
            "metricSetPairListId": command.execution_id,
            "complete": False,
            "status": "running",
            "executionStatus": "RUNNING",
            "startTimeMillis": started,
            "startTimeIso": _iso(started),
            "buildTimeMillis": started,
            "buildTimeIso": _iso(started),
            "user": command.authority.user,
        }

    async def run_canary(self, command: RunCanary, context: MessageContext) -> None:
        """Judge a canary; see the module docstring for the events and redelivery."""
        await self.execute(command, context)

    async def execute(self, command: RunCanary, context: MessageContext) -> Refused | None:
        """Run ``command`` to its end (events included); the refusal, when it was refused."""
        await self.store.ensure_indexes()
        try:
            key = command.client_key
            if key is not None and not await self.store.claim_key(command.execution_id, key.fingerprint):
                raise Refused(
                    422,
                    f"this {HEADER} was used for another canary run request (its run is {command.execution_id}); "
                    "send a new key for a new run, or the first request again to get its answer",
                    HEADER,
                )
        except Refused as refused:
            await self._reject(command, context, refused)
            return refused
        stored = await self.store.execution(command.execution_id)
        if stored is not None and stored.get("complete"):
            await self._announce(command, context, stored)
            return None
        try:
            await self._require_execute(command, context)
            account, source = self._source(command)
            if not command.canary_config.get("metrics"):
                raise Refused(400, "the canary config has no metrics", "canaryConfig.metrics")
        except Refused as refused:
            await self._reject(command, context, refused)
            return refused
        started = int(stored["startTimeMillis"]) if stored else int(time.time() * 1000)
        execution = self._execution(command, account, started)
        await self.store.save_execution(execution)
        await context.publish(
            CanaryStarted(execution_id=command.execution_id, application=command.application, task_id=command.task_id),
            subject=command.execution_id,
        )
        try:
            result = await self.running.run(command.execution_id, self._fetch_and_judge(command, source))
            execution.update(status="succeeded", executionStatus="SUCCEEDED", result=result)
        except (MetricsSourceError, RequestInvalid, KeyError) as error:
            reason = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
            log.warning("kayenta.canary_failed", execution_id=command.execution_id, reason=reason)
            execution.update(status="terminal", executionStatus="TERMINAL", exception={"message": reason})
        except Canceled:
            pass
        ended = int(time.time() * 1000)
        execution.update(complete=True, endTimeMillis=ended, endTimeIso=_iso(ended))
        if not await self.store.finish_execution(execution):  # cancelled meanwhile: that stands
            execution = await self.store.execution(command.execution_id) or execution
        await self._announce(command, context, execution, started_already=True)
        return None

    async def _fetch_and_judge(self, command: RunCanary, source: MetricsSource) -> Json:
        pairs = await fetch_pairs(command.canary_config, command.execution_request, source)
        await self.store.save_pairs(command.execution_id, command.application, pairs)
        return judge_pairs(command.canary_config, command.execution_request, pairs, sequential=command.sequential)

    async def _reject(self, command: RunCanary, context: MessageContext, refused: Refused) -> None:
        rejected = KayentaCommandRejected(
            command_type=command.message_type,
            status=refused.status,
            reason=refused.reason,
            field=refused.field,
            task_id=command.task_id,
        )
        await context.publish(rejected, subject=command.execution_id)

    async def _announce(
        self, command: RunCanary, context: MessageContext, execution: Json, *, started_already: bool = False
    ) -> None:
        if not started_already:
            started = CanaryStarted(
                execution_id=command.execution_id, application=command.application, task_id=command.task_id
            )
            await context.publish(started, subject=command.execution_id)
        score = ((execution.get("result") or {}).get("judgeResult") or {}).get("score") or {}
        sequential = (execution.get("result") or {}).get("sequentialResult") or {}
        completed = CanaryCompleted(
            execution_id=command.execution_id,
            application=command.application,
            status=execution.get("status") if execution.get("status") in ("succeeded", "canceled") else "terminal",
            score=score.get("score"),
            classification=score.get("classification"),
            reason=(execution.get("exception") or {}).get("message") or score.get("classificationReason") or None,
            sequential_stop=bool(sequential.get("stop")),
            task_id=command.task_id,
        )
        await context.publish(completed, subject=command.execution_id)

    async def get_execution(self, query: GetCanaryExecution, context: MessageContext) -> CanaryExecutionFound:
        """One execution (the gateway checks READ on its application)."""
        return CanaryExecutionFound(execution=await self.store.execution(query.execution_id))

    async def list_executions(self, query: ListCanaryExecutions, context: MessageContext) -> CanaryExecutionList:
        """An application's executions, newest first."""
        await self.store.ensure_indexes()
        return CanaryExecutionList(executions=await self.store.executions_of(query.application, query.limit))

    async def get_pairs(self, query: GetMetricSetPairList, context: MessageContext) -> MetricSetPairListFound:
        """The metric set pairs of an execution."""
        found = await self.store.pairs(query.pair_list_id)
        return MetricSetPairListFound(pairs=found[0] if found else None, application=found[1] if found else None)

    async def list_descriptors(self, query: ListMetricDescriptors, context: MessageContext) -> MetricDescriptorList:
        """The account's metrics as Kayenta's descriptors (``{"name": …}``), filtered by ``filter``."""
        name = query.metrics_account_name or next(iter(self.sources), None)
        if name is None or name not in self.sources:
            known = ", ".join(self.sources) or "none are configured ([[kayenta.accounts]])"
            reason = f"no metrics account named {name!r}; known accounts: {known}"
            return MetricDescriptorList(error=reason, field="metricsAccountName")
        try:
            names = await self.sources[name].metric_names()
        except MetricsSourceError as error:
            return MetricDescriptorList(error=str(error))
        wanted = (query.filter or "").lower()
        return MetricDescriptorList(descriptors=[{"name": each} for each in names if wanted in each.lower()])

    async def list_accounts(self, query: ListMetricsAccounts, context: MessageContext) -> MetricsAccountList:
        """The metrics accounts, without secrets."""
        return MetricsAccountList(accounts=credentials(self.sources))
