"""A harness for Orca's pure state machine (``workers.orca.engine.transitions``): no store, no bus.

:class:`Core` holds one execution and the messages its transitions caused and nobody delivered yet;
:meth:`Core.deliver` hands one of them back to its transition as the worker would. Messages are
named in one line each (:func:`describe`) so a test states what a transition sent as a list of
words. ``scripted`` is a stage type whose task does what its context says, so a test can make a
task poll, succeed, fail or raise without a real stage type.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.base import Command, Event
from schemas.json_types import Json
from schemas.orca_engine import (
    CompleteExecution,
    CompleteStage,
    CompleteTask,
    ContinueRollback,
    ExecutionCompleted,
    ExecutionPaused,
    ExecutionResumed,
    ExecutionStarted,
    RunTask,
    StageCompleted,
    StageJudged,
    StageStarted,
    StartStage,
    StartWaitingExecutions,
)
from workers.orca.engine.expression_language import SpelExpressions
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.stages import StageTypes, TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.status import ExecutionStatus
from workers.orca.engine.transitions import Transitions

START = 1_700_000_000_000


class ScriptedTask:
    """Polls ``polls`` times (RUNNING, 1 s backoff), then does ``script``: succeed (outputs
    ``out<refId>``), fail (TERMINAL) or raise."""

    name = "scripted"

    def run(self, run: TaskRun) -> TaskResult:
        context = run.stage.context
        ran = int(context.get("ran", 0)) + 1
        if ran <= int(context.get("polls", 0)):
            return TaskResult(ExecutionStatus.RUNNING, context={"ran": ran}, backoff_ms=1_000)
        script = context.get("script", "succeed")
        if script == "raise":
            raise RuntimeError("the scripted task broke")
        if script == "fail":
            return TaskResult.terminal("the scripted task failed", context={"ran": ran})
        return TaskResult.succeeded(outputs={f"out{run.stage.ref_id}": ran}, context={"ran": ran})


class ScriptedStage:
    """``tasks`` scripted tasks (1 unless told)."""

    type = "scripted"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return tuple(ScriptedTask() for _ in range(int(stage.context.get("tasks", 1))))


def transitions() -> Transitions:
    """Orca's stage types, ``scripted``, and ``bake`` as a stage type Clouddriver runs."""
    expressions = SpelExpressions()
    types = StageTypes.standard(expressions, external={"bake": "clouddriver"}, extra=[ScriptedStage()])
    return Transitions(types, expressions)


def stage(ref_id: str, type: str = "scripted", *, after: Sequence[str] = (), **context: Any) -> Stage:
    """A top-level stage with id ``s<refId>``."""
    return Stage(
        id=f"s{ref_id}",
        ref_id=ref_id,
        type=type,
        name=context.pop("name", f"{type} {ref_id}"),
        context=context,
        requisite_stage_ref_ids=list(after),
    )


def execution(*stages: Stage, **fields: Any) -> Execution:
    return Execution(
        id="e1",
        application="shop",
        name="deploy",
        build_time=START,
        trigger={"type": "manual", "user": "ana", "parameters": {"env": "prod"}},
        authentication={"user": "ana"},
        stages=list(stages),
        **fields,
    )


def describe(out: Outgoing) -> str:
    """One line for a message: ``RunTask s1/1``, ``CompleteTask s1/1 SUCCEEDED``,
    ``stage.completed s1 SUCCEEDED``, ``execution.completed TERMINAL``… (``@+ms`` when delayed)."""
    message = out.message
    text: str
    match message:
        case StartStage():
            text = f"StartStage {message.stage_id}"
        case RunTask():
            text = f"RunTask {message.stage_id}/{message.task_id}"
        case CompleteTask():
            text = f"CompleteTask {message.stage_id}/{message.task_id} {message.status}"
        case CompleteStage():
            text = f"CompleteStage {message.stage_id}"
        case CompleteExecution():
            text = "CompleteExecution"
        case ContinueRollback():
            text = "ContinueRollback"
        case StartWaitingExecutions():
            text = f"StartWaitingExecutions {message.pipeline_config_id}"
        case StageStarted() | StageCompleted():
            text = f"{message.message_type.removeprefix('orca.')} {message.stage_id} {message.status}"
        case StageJudged():
            text = f"stage.judged {message.stage_id} {message.judgment_status} by {message.judged_by}"
        case ExecutionPaused():
            text = f"execution.paused by {message.paused_by}"
        case ExecutionResumed():
            text = f"execution.resumed by {message.resumed_by} after {message.paused_ms} ms"
        case ExecutionStarted() | ExecutionCompleted():
            text = f"{message.message_type.removeprefix('orca.')} {message.status}"
        case _:
            text = message.message_type
    return text if out.due_at is None else f"{text} @+{out.due_at - START}"


def statuses(execution: Execution) -> dict[str, str]:
    """``{"execution": …, "s1": …, "s1/1": …}``: every status in one flat map."""
    found = {"execution": execution.status.value}
    for each in execution.stages:
        found[each.id] = each.status.value
        for task in each.tasks:
            found[f"{each.id}/{task.id}"] = task.status.value
    return found


def state(execution: Execution) -> Json:
    """Everything a transition may change, for comparing before and after."""
    return execution.model_dump()


@dataclass
class Core:
    """One execution, the transitions, the clock, and the messages waiting to be delivered."""

    execution: Execution
    t: Transitions = field(default_factory=transitions)
    now: int = START
    pending: list[Outgoing] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def take(self, sent: list[Outgoing]) -> list[Outgoing]:
        """Record what a transition sent: events as published, commands as pending."""
        for out in sent:
            if isinstance(out.message, Event):
                self.events.append(out.message)
            else:
                self.pending.append(out)
        return sent

    def start(self) -> list[Outgoing]:
        return self.take(self.t.start_execution(self.execution, self.now))

    def find(self, prefix: str) -> Outgoing:
        """The first pending message whose description starts with ``prefix``."""
        for out in self.pending:
            if describe(out).startswith(prefix):
                return out
        raise AssertionError(f"no pending {prefix!r} in {[describe(out) for out in self.pending]}")

    def deliver(self, prefix: str) -> list[Outgoing]:
        """Deliver the pending message ``prefix`` names (the clock moves to its due time)."""
        out = self.find(prefix)
        self.pending.remove(out)
        return self.apply(out)

    def apply(self, out: Outgoing) -> list[Outgoing]:
        """Run the transition ``out``'s message asks for; the message stays wherever it was."""
        if out.due_at is not None:
            self.now = max(self.now, out.due_at)
        return self.take(apply(self.t, self.execution, out.message, self.now))

    def run_all(self, *, limit: int = 1_000) -> None:
        """Deliver every pending message, oldest first, until none is left."""
        for _ in range(limit):
            if not self.pending:
                return
            self.apply(self.pending.pop(0))
        raise AssertionError(f"still sending after {limit} messages: {[describe(o) for o in self.pending]}")

    def copy(self) -> Core:
        return Core(copy.deepcopy(self.execution), self.t, self.now, list(self.pending), list(self.events))


def apply(t: Transitions, execution: Execution, message: Command | Event, now: int) -> list[Outgoing]:
    """The transition a message of Orca's own chain runs, as ``engine/handlers.py`` wires it."""
    match message:
        case StartStage():
            return t.start_stage(execution, message.stage_id, now)
        case RunTask():
            return t.run_task(execution, message, now)
        case CompleteTask():
            return t.complete_task(execution, message, now)
        case CompleteStage():
            return t.complete_stage(execution, message.stage_id, now)
        case CompleteExecution():
            return t.complete_execution(execution, now)
        case ContinueRollback():
            return t.continue_rollback(execution, now)
        case StartWaitingExecutions():
            return []  # the concurrency module's, not a transition of this execution
    raise AssertionError(f"no transition for {message.message_type}")
