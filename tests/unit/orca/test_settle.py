"""Settling a commit (``workers.orca.engine.settle``): the steps that need no waiting run in memory
and end where delivering each message in turn would have ended; what waits, or exceeds the step
budget, is left for the outbox."""

from __future__ import annotations

from schemas.orca_engine import CompleteStage
from tests.unit.orca.engine_core import START, Core, describe, execution, stage, state, statuses, transitions
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.settle import Settle


def test_a_chain_of_quick_stages_settles_in_one_commit_as_message_by_message_would() -> None:
    stages = [stage("1"), stage("2", after=("1",)), stage("3", after=("2",)), stage("4", after=("1",))]
    by_messages = Core(execution(*[each.model_copy(deep=True) for each in stages]))
    by_messages.start()
    by_messages.run_all()

    settled = execution(*[each.model_copy(deep=True) for each in stages])
    t = transitions()
    left = Settle(t)(settled, t.start_execution(settled, START))

    assert statuses(settled) == statuses(by_messages.execution)
    assert settled.status.value == "SUCCEEDED"
    assert [describe(out) for out in left if "stage." not in describe(out)] == [
        "execution.started RUNNING",
        "execution.completed SUCCEEDED",
    ]
    started = [describe(out) for out in left if describe(out).startswith("stage.started")]
    assert sorted(started) == sorted(f"stage.started s{n} RUNNING" for n in "1234")


def test_a_task_that_waits_leaves_its_timer_and_the_rest_for_later() -> None:
    settled = execution(stage("1", polls=1), stage("2", after=("1",)))
    t = transitions()
    left = Settle(t)(settled, t.start_execution(settled, START))
    commands = [describe(out) for out in left if "." not in describe(out).split()[0]]
    assert len(commands) == 1 and commands[0].startswith("RunTask s1/1 @+"), commands
    assert statuses(settled)["s2"] == "NOT_STARTED"


def test_the_step_budget_leaves_the_next_command_in_the_outbox() -> None:
    settled = execution(stage("1"), stage("2", after=("1",)))
    t = transitions()
    left = Settle(t, max_steps=3)(settled, t.start_execution(settled, START))
    assert [describe(out) for out in left][-1] == "CompleteStage s1"  # StartStage, RunTask, CompleteTask ran
    assert statuses(settled)["s1"] == "RUNNING" and statuses(settled)["s1/1"] == "SUCCEEDED"


def test_no_budget_changes_nothing() -> None:
    settled = execution(stage("1"))
    t = transitions()
    sent = t.start_execution(settled, START)
    before = state(settled)
    assert Settle(t, max_steps=0)(settled, sent) == sent
    assert state(settled) == before


def test_a_repeated_complete_stage_while_its_task_runs_changes_nothing() -> None:
    core = Core(execution(stage("1", tasks=2)))
    core.start()
    core.deliver("StartStage s1")
    complete = core.find("RunTask s1/1")
    before = state(core.execution)
    assert core.apply(Outgoing(CompleteStage(execution_id="e1", stage_id="s1"))) == []
    assert state(core.execution) == before
    assert complete in core.pending
