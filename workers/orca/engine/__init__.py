"""Orca's pipeline execution engine: Spinnaker pipelines run as a chain of messages.

* :mod:`~workers.orca.engine.status` — Spinnaker's ``ExecutionStatus`` and its rules;
* :mod:`~workers.orca.engine.model` — an execution, its stages and tasks, and their JSON;
* :mod:`~workers.orca.engine.graph` — the stages' DAG;
* :mod:`~workers.orca.engine.transitions` — the state machine, one function per message;
* :mod:`~workers.orca.engine.stages` — stage types (the extension point);
* :mod:`~workers.orca.engine.commit`, :mod:`~workers.orca.engine.store`,
  :mod:`~workers.orca.engine.outbox`, :mod:`~workers.orca.engine.timers` — durability: one atomic
  write per transition with its outbox, delivery after, durable timers;
* :mod:`~workers.orca.engine.reconciler` — re-drives executions whose next message vanished;
* :mod:`~workers.orca.engine.handlers` — one bus handler per message.

:func:`build_engine` assembles it for :mod:`workers.orca.worker`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bus import Bus, Handler
from bus.service import instance_id
from schemas.catalog import registry
from schemas.orca_engine import (
    CancelExecution,
    CompleteExecution,
    CompleteStage,
    CompleteTask,
    ContinueRollback,
    DeleteExecution,
    EvaluateExpression,
    ExecutionCompleted,
    ExternalTaskCompleted,
    ExternalTaskHeartbeat,
    GetExecution,
    JudgeStage,
    ListExecutions,
    PauseExecution,
    RestartStage,
    ResumeExecution,
    RunTask,
    SkipStage,
    StartExecution,
    StartStage,
    StartWaitingExecutions,
    TriggerPipeline,
    UpdateStage,
)
from schemas.outbound import OutboundSettings
from schemas.rosco import STAGE_TYPES as ROSCO_STAGE_TYPES
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.commit import Commit
from workers.orca.engine.concurrency import WaitingExecutions
from workers.orca.engine.delete_execution import ExecutionDeletion
from workers.orca.engine.effects.stage_io import stage_io
from workers.orca.engine.evaluate_expression import ExpressionQueries
from workers.orca.engine.expression_language import Expressions, SpelExpressions
from workers.orca.engine.handlers import ExecutionHandlers
from workers.orca.engine.outbox import OutboxRelay
from workers.orca.engine.reconciler import Reconciler
from workers.orca.engine.settle import Settle
from workers.orca.engine.stages import StageDefinition, StageTypes
from workers.orca.engine.stages.applications import application_stage_types
from workers.orca.engine.stages.bake import BAKE, BakeStage
from workers.orca.engine.stages.canary import canary_stage_types
from workers.orca.engine.stages.deploy import CLOUDDRIVER_STAGE_TYPES, deploy_stage_types
from workers.orca.engine.stages.jenkins import jenkins_stage_types
from workers.orca.engine.stages.terraform import TerraformStage
from workers.orca.engine.store import ExecutionStore
from workers.orca.engine.timers import TimerPoller, TimerStore
from workers.orca.engine.transitions import Transitions
from workers.orca.engine.trigger_pipeline import PipelineTriggerCommands
from workers.orca.engine.triggers import PipelineTriggers, in_turn

EXTERNAL_ANSWERS = ("*.task.completed", "*.task.heartbeat")
"""The routing-key patterns of the events answering ``orca.RunExternalTask``."""


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs. ``external_stage_types`` maps a stage type to the service providing it
    (by default Clouddriver's atomic operations, Rosco's ``bakeManifest`` and Kayenta's ``runCanary``);
    ``extra_stage_types`` are stage types composed of others (by default ``deploy``, ``createServerGroup``,
    ``cloneServerGroup``, ``kayentaCanary``, ``runCanaryIntervals``, ``jenkins``, Terraformer's ``terraform``,
    ``bake``, whose regions Rosco bakes, and the application jobs of ad-hoc tasks)."""

    external_stage_types: Mapping[str, str] = field(
        default_factory=lambda: {
            **dict.fromkeys(CLOUDDRIVER_STAGE_TYPES, "clouddriver"),
            **dict.fromkeys((kind for kind in ROSCO_STAGE_TYPES if kind != BAKE), "rosco"),
            "runCanary": "kayenta",
        }
    )
    external_heartbeat_timeouts: Mapping[str, int] = field(default_factory=lambda: {"clouddriver": 60_000})
    extra_stage_types: Sequence[StageDefinition] = field(
        default_factory=lambda: [
            *deploy_stage_types(),
            *canary_stage_types(),
            *jenkins_stage_types(),
            TerraformStage(),
            BakeStage(),
            *application_stage_types(),
        ]
    )
    expressions: Expressions = field(default_factory=SpelExpressions)
    timer_interval: float = 0.25
    outbox_interval: float = 5.0
    outbox_grace_ms: int = 5_000
    timer_lease_ms: int = 5_000
    reconcile_interval: float = 10.0
    stall_ms: int = 30_000
    settle_steps: int = 256
    """Transitions one message may run at once inside its commit (:mod:`workers.orca.engine.settle`)."""
    execution_window_timezone: str = "UTC"
    pipeline_triggers: bool = True
    front50_timeout: float = 2.0
    access: AccessPolicy = field(default_factory=AccessPolicy)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)


@dataclass(frozen=True)
class Engine:
    """The engine's handler maps (by endpoint kind) and the background loops the worker runs."""

    handlers: ExecutionHandlers
    commands: dict[str, Handler]
    events: dict[str, Handler]
    queries: dict[str, Handler]
    background: list[Callable[[Bus], Awaitable[None]]]
    relay: OutboxRelay
    poller: TimerPoller
    reconciler: Reconciler


def build_engine(db: AsyncDatabase[dict[str, Any]], options: EngineOptions | None = None) -> Engine:
    """Wire the engine on ``db`` (collections ``orca_executions`` and ``orca_timers``)."""
    options = options or EngineOptions()
    store = ExecutionStore(db)
    timers = TimerStore(db, lease_ms=options.timer_lease_ms)
    relay = OutboxRelay(store, timers, interval=options.outbox_interval, grace_ms=options.outbox_grace_ms)
    poller = TimerPoller(timers, owner=instance_id(), interval=options.timer_interval)
    transitions = Transitions(
        StageTypes.standard(
            options.expressions,
            options.external_stage_types,
            options.external_heartbeat_timeouts,
            options.extra_stage_types,
        ),
        options.expressions,
        window_timezone=options.execution_window_timezone,
    )
    commit = Commit(store, relay, stall_ms=options.stall_ms, settle=Settle(transitions, max_steps=options.settle_steps))
    handlers = ExecutionHandlers(
        store, commit, transitions, WaitingExecutions(db, store, commit, transitions), options.access
    )
    reconciler = Reconciler(store, commit, transitions, interval=options.reconcile_interval, stall_ms=options.stall_ms)
    own_io = stage_io(store, commit, options.access, options.outbound)
    commands: dict[str, Handler] = {
        StartExecution.message_type: handlers.start_execution,
        StartWaitingExecutions.message_type: handlers.start_waiting_executions,
        StartStage.message_type: handlers.transition,
        RunTask.message_type: handlers.transition,
        CompleteTask.message_type: handlers.transition,
        CompleteStage.message_type: handlers.transition,
        CompleteExecution.message_type: handlers.transition,
        ContinueRollback.message_type: handlers.transition,
        CancelExecution.message_type: handlers.steer,
        PauseExecution.message_type: handlers.steer,
        ResumeExecution.message_type: handlers.steer,
        SkipStage.message_type: handlers.steer,
        RestartStage.message_type: handlers.steer,
        JudgeStage.message_type: handlers.steer,
        UpdateStage.message_type: handlers.steer,
        DeleteExecution.message_type: ExecutionDeletion(store, options.access).delete_execution,
        TriggerPipeline.message_type: PipelineTriggerCommands(front50_timeout=options.front50_timeout).trigger_pipeline,
        **own_io.commands,
    }
    events: dict[str, Handler] = {
        model.message_type: handlers.transition for model in registry if issubclass(model, ExternalTaskCompleted)
    }
    events |= {
        model.message_type: handlers.transition for model in registry if issubclass(model, ExternalTaskHeartbeat)
    }
    events |= own_io.events
    if options.pipeline_triggers:
        triggers = PipelineTriggers(store, front50_timeout=options.front50_timeout, access=options.access)
        events[ExecutionCompleted.message_type] = in_turn(
            *filter(None, [events.get(ExecutionCompleted.message_type)]), triggers.execution_completed
        )
    queries: dict[str, Handler] = {
        GetExecution.message_type: handlers.get_execution,
        ListExecutions.message_type: handlers.list_executions,
        EvaluateExpression.message_type: ExpressionQueries(store).evaluate_expression,
    }
    return Engine(
        handlers,
        commands,
        events,
        queries,
        [poller.run, relay.run, relay.run_pulls, reconciler.run, *own_io.background],
        relay,
        poller,
        reconciler,
    )
