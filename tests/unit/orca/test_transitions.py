"""Orca's state machine on its own, one table per message kind: (execution, message, now) →
the new state and the messages it causes. No store, no bus (``engine_core.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from schemas.clouddriver_operations import TaskCompleted, TaskHeartbeat
from schemas.orca_engine import RunTask
from workers.orca.engine.model import Stage
from workers.orca.engine.outgoing import Outgoing

from .engine_core import Core, describe, execution, stage, statuses

type Setup = Callable[[Core], object]
type Act = Callable[[Core], list[Outgoing]]


@dataclass(frozen=True)
class Case:
    """``stages`` are made fresh for every run; ``setup`` brings the execution where ``act`` finds it."""

    name: str
    stages: Callable[[], list[Stage]]
    setup: Setup
    act: Act
    sends: list[str]
    then: dict[str, str] = field(default_factory=dict)
    check: Callable[[Core], bool] = lambda core: True
    fields: dict[str, Any] = field(default_factory=dict)


def steps(*prefixes: str, start: bool = True) -> Setup:
    """Start the execution (unless told not to), then deliver each pending message named."""

    def run(core: Core) -> None:
        if start:
            core.start()
        for prefix in prefixes:
            core.deliver(prefix)

    return run


def deliver(prefix: str) -> Act:
    return lambda core: core.deliver(prefix)


def twice(prefix: str) -> Act:
    """Deliver ``prefix`` and deliver the same message again: the second delivery's messages."""

    def run(core: Core) -> list[Outgoing]:
        out = core.find(prefix)
        core.deliver(prefix)
        return core.apply(out)

    return run


def run(core: Core) -> None:
    core.start()
    core.run_all()


def one(*stages: Stage) -> Callable[[], list[Stage]]:
    return lambda: [s.model_copy(deep=True) for s in stages]


UP_TO_S1_DONE = ("StartStage s1", "RunTask s1", "CompleteTask s1/1")


def play(case: Case) -> Core:
    core = Core(execution(*case.stages(), **case.fields))
    case.setup(core)
    sent = case.act(core)
    assert [describe(out) for out in sent] == case.sends
    found = statuses(core.execution)
    assert {key: found.get(key) for key in case.then} == case.then
    assert case.check(core), f"{case.name}: the check on the state failed"
    return core


def _exception(core: Core, stage_id: str) -> str:
    found = core.execution.stage(stage_id)
    assert found is not None
    return str(found.context["exception"]["details"]["error"])


START_EXECUTION = [
    Case(
        "every stage without requisites starts",
        one(stage("1"), stage("2", after=["1"]), stage("3")),
        steps(start=False),
        lambda core: core.start(),
        ["execution.started RUNNING", "StartStage s1", "StartStage s3"],
        {"execution": "RUNNING", "s1": "NOT_STARTED", "s2": "NOT_STARTED"},
    ),
    Case(
        "a requisite naming no stage ends it TERMINAL, saying which",
        one(stage("1", after=["9"])),
        steps(start=False),
        lambda core: core.start(),
        ["execution.started RUNNING", "execution.completed TERMINAL"],
        {"execution": "TERMINAL", "s1": "NOT_STARTED"},
        lambda core: "names '9'" in str((core.execution.exception or {}).get("details")),
    ),
    Case(
        "a cycle ends it TERMINAL",
        one(stage("1", after=["2"]), stage("2", after=["1"])),
        steps(start=False),
        lambda core: core.start(),
        ["execution.started RUNNING", "execution.completed TERMINAL"],
        {"execution": "TERMINAL"},
    ),
    Case(
        "started again: nothing",
        one(stage("1")),
        steps(),
        lambda core: core.start(),
        [],
        {"execution": "RUNNING", "s1": "NOT_STARTED"},
    ),
]

START_STAGE = [
    Case(
        "NOT_STARTED becomes RUNNING and its first task runs",
        one(stage("1", tasks=2)),
        steps(),
        deliver("StartStage s1"),
        ["stage.started s1 RUNNING", "RunTask s1/1"],
        {"s1": "RUNNING", "s1/1": "RUNNING", "s1/2": "NOT_STARTED"},
    ),
    Case(
        "stageEnabled false: SKIPPED, and the next stage starts",
        one(
            stage("1", stageEnabled={"type": "expression", "expression": "parameters.env == 'dev'"}),
            stage("2", after=["1"]),
        ),
        steps(),
        deliver("StartStage s1"),
        ["stage.completed s1 SKIPPED", "StartStage s2"],
        {"s1": "SKIPPED"},
    ),
    Case(
        "a failed expression fails the stage at once, naming it",
        one(stage("1", message="${nobody.here}")),
        steps(),
        deliver("StartStage s1"),
        ["stage.started s1 RUNNING", "CompleteStage s1"],
        {"s1": "RUNNING"},
        lambda core: "property 'nobody' not found" in _exception(core, "s1"),
    ),
    Case(
        "an unknown stage type fails the stage, naming the known ones",
        one(stage("1", "nope")),
        steps(),
        deliver("StartStage s1"),
        ["stage.started s1 RUNNING", "CompleteStage s1"],
        {"s1": "RUNNING"},
        lambda core: "known types:" in _exception(core, "s1"),
    ),
    Case(
        "a requisite still running: the stage waits",
        one(stage("1"), stage("2", after=["1"])),
        steps("StartStage s1"),
        lambda core: core.t.start_stage(core.execution, "s2", core.now),
        ["CompleteExecution"],
        {"s1": "RUNNING", "s2": "NOT_STARTED"},
    ),
    Case(
        "delivered twice: nothing the second time",
        one(stage("1")),
        steps(),
        twice("StartStage s1"),
        [],
        {"s1": "RUNNING", "s1/1": "RUNNING"},
    ),
    Case(
        "after the execution was cancelled: nothing",
        one(stage("1")),
        lambda core: (core.start(), core.t.cancel_execution(core.execution, "bob", None, core.now)),
        deliver("StartStage s1"),
        [],
        {"execution": "CANCELED", "s1": "NOT_STARTED"},
    ),
]

RUN_TASK = [
    Case(
        "a task that is done completes with its outputs",
        one(stage("1")),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["CompleteTask s1/1 SUCCEEDED"],
        {"s1/1": "RUNNING"},
        lambda core: core.execution.stages[0].outputs == {"out1": 1},
    ),
    Case(
        "a task not done yet runs again after its backoff, through a timer",
        one(stage("1", polls=1)),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["RunTask s1/1 @+1000"],
        {"s1/1": "RUNNING"},
    ),
    Case(
        "a run whose token is stale does nothing",
        one(stage("1")),
        steps("StartStage s1"),
        lambda core: core.t.run_task(
            core.execution, RunTask(execution_id="e1", stage_id="s1", task_id="1", token="stale"), core.now
        ),
        [],
        {"s1/1": "RUNNING"},
    ),
    Case(
        "a repeated run (timer fired twice) does nothing",
        one(stage("1", polls=1)),
        steps("StartStage s1"),
        twice("RunTask s1"),
        [],
        {"s1/1": "RUNNING"},
    ),
    Case(
        "a failed task is TERMINAL, its error the stage's exception",
        one(stage("1", script="fail")),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["CompleteTask s1/1 TERMINAL"],
        check=lambda core: _exception(core, "s1") == "the scripted task failed",
    ),
    Case(
        "continuePipeline makes a failure FAILED_CONTINUE",
        one(stage("1", script="fail", continuePipeline=True)),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["CompleteTask s1/1 FAILED_CONTINUE"],
    ),
    Case(
        "failPipeline false makes a failure STOPPED",
        one(stage("1", script="fail", failPipeline=False)),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["CompleteTask s1/1 STOPPED"],
    ),
    Case(
        "a task that raises fails its stage, never the worker",
        one(stage("1", script="raise")),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["CompleteTask s1/1 TERMINAL"],
        check=lambda core: "RuntimeError: the scripted task broke" in _exception(core, "s1"),
    ),
    Case(
        "stageTimeoutMs: the timer fires at the deadline and the stage times out",
        one(stage("1", polls=5, stageTimeoutMs=500)),
        steps("StartStage s1", "RunTask s1"),
        deliver("RunTask s1"),
        ["CompleteTask s1/1 TERMINAL"],
        check=lambda core: core.execution.stages[0].context["exception"]["exceptionType"] == "TimeoutException",
    ),
    Case(
        "the first run of a task another service runs sends it the attempt",
        one(stage("1", "bake")),
        steps("StartStage s1"),
        deliver("RunTask s1"),
        ["orca.RunExternalTask"],
        {"s1/1": "RUNNING"},
        lambda core: core.pending[-1].to == "clouddriver",
    ),
]

COMPLETE_TASK = [
    Case(
        "a succeeded task starts the next",
        one(stage("1", tasks=2)),
        steps("StartStage s1", "RunTask s1"),
        deliver("CompleteTask s1/1"),
        ["RunTask s1/2"],
        {"s1/1": "SUCCEEDED", "s1/2": "RUNNING"},
    ),
    Case(
        "the last task completes the stage",
        one(stage("1")),
        steps("StartStage s1", "RunTask s1"),
        deliver("CompleteTask s1/1"),
        ["CompleteStage s1"],
        {"s1/1": "SUCCEEDED", "s1": "RUNNING"},
    ),
    Case(
        "a failed task leaves the rest unrun",
        one(stage("1", tasks=2, script="fail")),
        steps("StartStage s1", "RunTask s1"),
        deliver("CompleteTask s1/1"),
        ["CompleteStage s1"],
        {"s1/1": "TERMINAL", "s1/2": "NOT_STARTED"},
    ),
    Case(
        "delivered twice: nothing the second time",
        one(stage("1", tasks=2)),
        steps("StartStage s1", "RunTask s1"),
        twice("CompleteTask s1/1"),
        [],
        {"s1/1": "SUCCEEDED", "s1/2": "RUNNING"},
    ),
]

COMPLETE_STAGE = [
    Case(
        "SUCCEEDED, and the next stage starts",
        one(stage("1"), stage("2", after=["1"])),
        steps(*UP_TO_S1_DONE),
        deliver("CompleteStage s1"),
        ["stage.completed s1 SUCCEEDED", "StartStage s2"],
        {"s1": "SUCCEEDED"},
    ),
    Case(
        "the last stage: the execution may complete",
        one(stage("1")),
        steps(*UP_TO_S1_DONE),
        deliver("CompleteStage s1"),
        ["stage.completed s1 SUCCEEDED", "CompleteExecution"],
    ),
    Case(
        "a join waits for its other requisite",
        one(stage("1"), stage("2", polls=3), stage("3", after=["1", "2"])),
        steps("StartStage s2", *UP_TO_S1_DONE),
        deliver("CompleteStage s1"),
        ["stage.completed s1 SUCCEEDED", "CompleteExecution"],
        {"s2": "RUNNING", "s3": "NOT_STARTED"},
    ),
    Case(
        "the last requisite to finish starts the join",
        one(stage("1"), stage("2"), stage("3", after=["1", "2"])),
        steps("StartStage s2", *UP_TO_S1_DONE, "CompleteStage s1", "RunTask s2", "CompleteTask s2/1"),
        deliver("CompleteStage s2"),
        ["stage.completed s2 SUCCEEDED", "StartStage s3"],
    ),
    Case(
        "a failed stage is TERMINAL and the execution decides",
        one(stage("1", script="fail"), stage("2", after=["1"])),
        steps(*UP_TO_S1_DONE),
        deliver("CompleteStage s1"),
        ["stage.completed s1 TERMINAL", "CompleteExecution"],
        {"s2": "NOT_STARTED"},
    ),
    Case(
        "FAILED_CONTINUE lets the next stage run",
        one(stage("1", script="fail", continuePipeline=True), stage("2", after=["1"])),
        steps(*UP_TO_S1_DONE),
        deliver("CompleteStage s1"),
        ["stage.completed s1 FAILED_CONTINUE", "StartStage s2"],
    ),
    Case(
        "STOPPED halts its branch",
        one(stage("1", script="fail", failPipeline=False), stage("2", after=["1"])),
        steps(*UP_TO_S1_DONE),
        deliver("CompleteStage s1"),
        ["stage.completed s1 STOPPED", "CompleteExecution"],
        {"s2": "NOT_STARTED"},
    ),
    Case(
        "delivered twice: nothing the second time",
        one(stage("1"), stage("2", after=["1"])),
        steps(*UP_TO_S1_DONE),
        twice("CompleteStage s1"),
        [],
        {"s1": "SUCCEEDED", "s2": "NOT_STARTED"},
    ),
]

COMPLETE_EXECUTION = [
    Case(
        "every stage SUCCEEDED",
        one(stage("1")),
        steps(*UP_TO_S1_DONE, "CompleteStage s1"),
        deliver("CompleteExecution"),
        ["execution.completed SUCCEEDED"],
        {"execution": "SUCCEEDED"},
    ),
    Case(
        "undecided while another branch runs",
        one(stage("1"), stage("2", polls=3)),
        steps("StartStage s2", *UP_TO_S1_DONE, "CompleteStage s1"),
        deliver("CompleteExecution"),
        [],
        {"execution": "RUNNING", "s2": "RUNNING"},
    ),
    Case(
        "a TERMINAL stage ends it at once, cancelling what still runs",
        one(stage("1", script="fail"), stage("2", polls=3)),
        steps("StartStage s2", *UP_TO_S1_DONE, "CompleteStage s1"),
        deliver("CompleteExecution"),
        ["stage.completed s2 CANCELED", "execution.completed TERMINAL"],
        {"execution": "TERMINAL", "s2": "CANCELED", "s2/1": "CANCELED"},
    ),
    Case(
        "with limitConcurrent the next waiting execution may start",
        one(stage("1")),
        steps(*UP_TO_S1_DONE, "CompleteStage s1"),
        deliver("CompleteExecution"),
        ["StartWaitingExecutions config-1", "execution.completed SUCCEEDED"],
        fields={"limit_concurrent": True, "pipeline_config_id": "config-1"},
    ),
    Case(
        "delivered twice: nothing the second time",
        one(stage("1")),
        steps(*UP_TO_S1_DONE, "CompleteStage s1"),
        twice("CompleteExecution"),
        [],
        {"execution": "SUCCEEDED"},
    ),
]


def _judge(status: str) -> Act:
    return lambda core: core.t.judge_stage(core.execution, "s1", {"judgmentStatus": status}, "bob", core.now)


def _answer(attempt: int, status: str = "SUCCEEDED") -> Act:
    def act(core: Core) -> list[Outgoing]:
        answer = TaskCompleted(
            execution_id="e1", stage_id="s1", task_id="1", attempt=attempt, status=status, outputs={"ami": "ami-1"}
        )
        return core.t.external_task_completed(core.execution, answer, core.now)

    return act


OPERATORS_AND_ANSWERS = [
    Case(
        "cancel: what runs is CANCELED",
        one(stage("1", polls=3)),
        steps("StartStage s1"),
        lambda core: core.t.cancel_execution(core.execution, "bob", "not today", core.now),
        ["stage.completed s1 CANCELED", "execution.completed CANCELED"],
        {"execution": "CANCELED", "s1/1": "CANCELED"},
        lambda core: core.execution.canceled_by == "bob",
    ),
    Case(
        "pause: running stages and tasks PAUSED, their pending run made stale",
        one(stage("1", polls=3)),
        lambda core: (steps("StartStage s1")(core), core.t.pause_execution(core.execution, "bob", core.now)),
        deliver("RunTask s1"),
        [],
        {"execution": "PAUSED", "s1": "PAUSED", "s1/1": "PAUSED"},
    ),
    Case(
        "pause: announced once, with who paused",
        one(stage("1", polls=3)),
        steps("StartStage s1"),
        lambda core: core.t.pause_execution(core.execution, "bob", core.now),
        ["execution.paused by bob"],
        {"execution": "PAUSED", "s1": "PAUSED", "s1/1": "PAUSED"},
        lambda core: core.t.pause_execution(core.execution, "bob", core.now) == [],
    ),
    Case(
        "resume: paused tasks run again",
        one(stage("1", polls=3)),
        lambda core: (steps("StartStage s1")(core), core.t.pause_execution(core.execution, "bob", core.now)),
        lambda core: core.t.resume_execution(core.execution, "bob", core.now + 5),
        ["execution.resumed by bob after 5 ms", "RunTask s1/1"],
        {"execution": "RUNNING", "s1": "RUNNING", "s1/1": "RUNNING"},
    ),
    Case(
        "skip: SKIPPED, and the next stage starts",
        one(stage("1", polls=3), stage("2", after=["1"])),
        steps("StartStage s1"),
        lambda core: core.t.skip_stage(core.execution, "s1", core.now),
        ["stage.completed s1 SKIPPED", "StartStage s2"],
        {"s1": "SKIPPED", "s1/1": "SKIPPED"},
    ),
    Case(
        "restart of a failed stage reopens the execution",
        one(stage("1", script="fail")),
        run,
        lambda core: core.t.restart_stage(core.execution, "s1", "bob", core.now),
        ["execution.started RUNNING", "StartStage s1"],
        {"execution": "RUNNING", "s1": "NOT_STARTED"},
        lambda core: core.execution.stages[0].tasks == [],
    ),
    Case(
        "restart of a skipped wait waits again",
        one(stage("1", "wait", waitTime=60, skipRemainingWait=True)),
        run,
        lambda core: core.t.restart_stage(core.execution, "s1", "bob", core.now),
        ["execution.started RUNNING", "StartStage s1"],
        {"execution": "RUNNING", "s1": "NOT_STARTED"},
        lambda core: "skipRemainingWait" not in core.execution.stages[0].context,
    ),
    Case(
        "a judgment runs the waiting task again",
        one(stage("1", "manualJudgment")),
        steps("StartStage s1", "RunTask s1"),
        _judge("continue"),
        ["stage.judged s1 continue by bob", "RunTask s1/1"],
        check=lambda core: core.execution.stages[0].context["judgedBy"] == "bob",
    ),
    Case(
        "the first judgment wins",
        one(stage("1", "manualJudgment")),
        lambda core: (steps("StartStage s1", "RunTask s1")(core), _judge("continue")(core)),
        _judge("stop"),
        [],
        check=lambda core: core.execution.stages[0].context["judgmentStatus"] == "continue",
    ),
    Case(
        "skipRemainingWait ends a wait",
        one(stage("1", "wait", waitTime=600)),
        steps("StartStage s1", "RunTask s1"),
        lambda core: core.t.update_stage(core.execution, "s1", {"skipRemainingWait": True}, "bob", core.now),
        ["RunTask s1/1"],
    ),
    Case(
        "another service's answer completes its task with its outputs",
        one(stage("1", "bake")),
        steps("StartStage s1", "RunTask s1"),
        _answer(1),
        ["CompleteTask s1/1 SUCCEEDED"],
        check=lambda core: core.execution.stages[0].outputs == {"ami": "ami-1"},
    ),
    Case(
        "an answer for an attempt no longer awaited is ignored",
        one(stage("1", "bake")),
        steps("StartStage s1", "RunTask s1"),
        _answer(2),
        [],
        {"s1/1": "RUNNING"},
    ),
    Case(
        "a heartbeat records the progress and sends nothing",
        one(stage("1", "bake")),
        steps("StartStage s1", "RunTask s1"),
        lambda core: core.t.external_task_heartbeat(
            core.execution,
            TaskHeartbeat(execution_id="e1", stage_id="s1", task_id="1", attempt=1, progress="waiting for health"),
            core.now,
        ),
        [],
        check=lambda core: core.execution.stages[0].context["progress"] == "waiting for health",
    ),
]


def _table(cases: list[Case]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", cases, ids=[case.name for case in cases])


@_table(START_EXECUTION)
def test_start_execution(case: Case) -> None:
    play(case)


@_table(START_STAGE)
def test_start_stage(case: Case) -> None:
    play(case)


@_table(RUN_TASK)
def test_run_task(case: Case) -> None:
    play(case)


@_table(COMPLETE_TASK)
def test_complete_task(case: Case) -> None:
    play(case)


@_table(COMPLETE_STAGE)
def test_complete_stage(case: Case) -> None:
    play(case)


@_table(COMPLETE_EXECUTION)
def test_complete_execution(case: Case) -> None:
    play(case)


@_table(OPERATORS_AND_ANSWERS)
def test_operators_and_answers(case: Case) -> None:
    play(case)


@pytest.mark.parametrize(
    ("stages", "final"),
    [
        ([stage("1"), stage("2", after=["1"])], "SUCCEEDED"),
        ([stage("1", script="fail")], "TERMINAL"),
        ([stage("1", script="fail", continuePipeline=True), stage("2", after=["1"])], "SUCCEEDED"),
        ([stage("1", script="fail", failPipeline=False), stage("2")], "SUCCEEDED"),
        ([stage("1", script="fail", completeOtherBranchesThenFail=True), stage("2", polls=2)], "TERMINAL"),
        ([stage("1", stageEnabled={"type": "expression", "expression": "false"})], "SUCCEEDED"),
    ],
    ids=["succeeded", "terminal", "failed-continue", "stopped-branch", "complete-other-branches-then-fail", "skipped"],
)
def test_final_status_follows_orcas_rules(stages: list[Stage], final: str) -> None:
    core = Core(execution(*(s.model_copy(deep=True) for s in stages)))
    run(core)
    assert core.execution.status.value == final
    completed = [e for e in core.events if e.message_type == "orca.execution.completed"]
    assert len(completed) == 1
