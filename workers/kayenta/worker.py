"""Wires Kayenta (automated canary analysis) to the bus.

Commands: ``kayenta.RunCanary`` (fetch both scopes' metrics from a metrics account, judge with
NetflixACAJudge-v1.0 and, when asked, the sequential test) and Orca's ``orca.RunExternalTask`` for
its ``runCanary`` stage (:mod:`workers.kayenta.stage_task`). Events: ``orca.stage.completed``,
which cancels the runs of a ``runCanary`` stage that ended (:mod:`workers.kayenta.cancellation`).
Queries: an execution, an application's executions, an execution's metric set pairs, the metrics
accounts, an account's metric names. State lives in
``kayenta_executions`` and ``kayenta_pair_lists`` (:mod:`workers.kayenta.store`); metrics
accounts come from ``[[kayenta.accounts]]`` (:mod:`workers.kayenta.accounts`). The judge is pure
(:mod:`workers.kayenta.judge`).
"""

from __future__ import annotations

from bus.endpoint import Endpoint
from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas import kayenta as messages
from schemas.orca_engine import RunExternalTask, StageCompleted
from workers.kayenta.accounts import build_sources
from workers.kayenta.cancellation import RunningCanaries, StageCancellation
from workers.kayenta.handlers import KayentaHandlers
from workers.kayenta.sources.base import MetricsSource
from workers.kayenta.stage_task import RunCanaryTask
from workers.kayenta.store import KayentaStore

NAME = "kayenta"


def build_service(resources: WorkerResources, *, sources: dict[str, MetricsSource] | None = None) -> Service:
    """Kayenta's endpoints; ``sources`` replaces the settings' accounts (tests); the host adds the ping query."""
    accounts = build_sources(resources.settings.kayenta.accounts) if sources is None else sources
    timeout = resources.settings.query_timeout
    store = KayentaStore(resources.db)
    running = RunningCanaries()
    handlers = KayentaHandlers(store, accounts, query_timeout=timeout, running=running)
    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(
                service=NAME,
                kind="commands",
                handlers={
                    messages.RunCanary.message_type: handlers.run_canary,
                    RunExternalTask.message_type: RunCanaryTask(handlers, query_timeout=timeout).run,
                },
            ),
            Endpoint(
                service=NAME,
                kind="events",
                patterns=(StageCompleted.message_type,),
                handlers={StageCompleted.message_type: StageCancellation(store, running).stage_completed},
            ),
            Endpoint(
                service=NAME,
                kind="queries",
                handlers={
                    messages.GetCanaryExecution.message_type: handlers.get_execution,
                    messages.ListCanaryExecutions.message_type: handlers.list_executions,
                    messages.GetMetricSetPairList.message_type: handlers.get_pairs,
                    messages.ListMetricsAccounts.message_type: handlers.list_accounts,
                    messages.ListMetricDescriptors.message_type: handlers.list_descriptors,
                },
            ),
        ],
    )
