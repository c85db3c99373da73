"""Properties of Orca's state machine over generated pipelines and delivery orders (hypothesis).

* Delivery is at least once, so every message may arrive twice: applied again right after it was
  applied, it changes nothing, publishes no event and sends no command the first delivery didn't.
* Messages arrive in any order: whatever the interleaving of a parallel branch's completions, and
  however many of them are delivered twice, the join starts once, after every branch, and the
  execution completes once.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.base import Event
from workers.orca.engine.model import Stage
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.status import ExecutionStatus

from .engine_core import Core, describe, execution, stage, state

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_STEPS = 400

OUTCOMES: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {},
        {},
        {"script": "fail"},
        {"script": "fail", "continuePipeline": True},
        {"script": "fail", "failPipeline": False},
        {"script": "raise"},
        {"stageEnabled": {"type": "expression", "expression": "parameters.env == 'dev'"}},
    ]
)


@st.composite
def pipelines(draw: st.DrawFn) -> list[Stage]:
    """One to six scripted stages, each requiring any of the ones before it; tasks that poll, fail, raise."""
    count = draw(st.integers(1, 6))
    stages: list[Stage] = []
    for index in range(count):
        before = [s.ref_id for s in stages]
        after = draw(st.lists(st.sampled_from(before), unique=True, max_size=3)) if before else []
        stages.append(
            stage(
                str(index + 1),
                after=after,
                polls=draw(st.integers(0, 2)),
                tasks=draw(st.integers(1, 2)),
                **draw(OUTCOMES),
            )
        )
    return stages


def _apply_twice_and_check(core: Core, index: int) -> None:
    out = core.pending.pop(index)
    first = core.apply(out)
    before = state(core.execution)
    second = core.apply(out)
    assert state(core.execution) == before, f"{describe(out)} applied again changed the execution"
    assert not [o for o in second if isinstance(o.message, Event)], f"{describe(out)} applied again published"
    repeated = {describe(o) for o in second} - {describe(o) for o in first}
    assert not repeated, f"{describe(out)} applied again sent {repeated} the first delivery did not"
    for extra in second:  # the repeat's messages are duplicates: drop them, as a redelivery would be
        if extra in core.pending:
            core.pending.remove(extra)


def _operate(core: Core, operator: str) -> list[Outgoing]:
    if operator == "pause":
        return core.t.pause_execution(core.execution, "bob", core.now)
    if operator == "resume":
        return core.t.resume_execution(core.execution, "bob", core.now)
    return core.t.cancel_execution(core.execution, "bob", None, core.now)


@SETTINGS
@given(stages=pipelines(), data=st.data())
def test_a_message_applied_twice_changes_nothing_the_second_time(stages: list[Stage], data: st.DataObject) -> None:
    core = Core(execution(*stages))
    core.start()
    for _ in range(MAX_STEPS):
        if not core.pending:
            break
        operator = data.draw(st.sampled_from(["deliver"] * 12 + ["pause", "resume", "cancel"]))
        if operator == "deliver":
            _apply_twice_and_check(core, data.draw(st.integers(0, len(core.pending) - 1)))
            continue
        core.take(_operate(core, operator))
        before = state(core.execution)
        assert _operate(core, operator) == [], f"{operator} applied again sent messages"
        assert state(core.execution) == before, f"{operator} applied again changed the execution"
    else:
        raise AssertionError(f"still running after {MAX_STEPS} steps")
    if core.execution.status is ExecutionStatus.PAUSED:
        core.take(core.t.resume_execution(core.execution, "bob", core.now))
        core.run_all()
    assert core.execution.status.complete, f"ended {core.execution.status} with nothing left to deliver"
    assert [e.message_type for e in core.events].count("orca.execution.completed") == 1


BRANCH_OUTCOMES: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {},
        {},
        {"script": "fail", "continuePipeline": True},
        {"stageEnabled": {"type": "expression", "expression": "false"}},
    ]
)


@st.composite
def fan_out_and_join(draw: st.DrawFn) -> list[Stage]:
    """``1`` → two to four parallel branches of one or two stages → ``join`` → ``last``."""
    stages = [stage("1")]
    ends: list[str] = []
    for branch in range(draw(st.integers(2, 4))):
        previous = "1"
        for step in range(draw(st.integers(1, 2))):
            ref_id = f"b{branch}{step}"
            stages.append(stage(ref_id, after=[previous], polls=draw(st.integers(0, 2)), **draw(BRANCH_OUTCOMES)))
            previous = ref_id
        ends.append(previous)
    stages.append(stage("join", after=ends))
    stages.append(stage("last", after=["join"]))
    return stages


@SETTINGS
@given(stages=fan_out_and_join(), data=st.data())
def test_any_interleaving_of_a_branchs_completions_joins_once(stages: list[Stage], data: st.DataObject) -> None:
    core = Core(execution(*stages))
    core.start()
    redelivered: list[Outgoing] = []
    for _ in range(MAX_STEPS):
        if not core.pending:
            break
        out = core.pending.pop(data.draw(st.integers(0, len(core.pending) - 1)))
        if not any(out is again for again in redelivered) and data.draw(st.booleans()):  # at least once
            redelivered.append(out)
            core.pending.insert(data.draw(st.integers(0, len(core.pending))), out)
        core.apply(out)
    else:
        raise AssertionError(f"still running after {MAX_STEPS} steps")
    started = [e for e in core.events if e.message_type == "orca.stage.started"]
    assert [getattr(e, "ref_id", None) for e in started].count("join") == 1
    assert [getattr(e, "ref_id", None) for e in started].count("last") == 1
    join = next(s for s in core.execution.stages if s.ref_id == "join")
    branches = [s for s in core.execution.stages if s.ref_id.startswith("b")]
    assert join.status is ExecutionStatus.SUCCEEDED
    assert all(join.start_time is not None and (b.end_time or 0) <= join.start_time for b in branches)
    assert core.execution.status is ExecutionStatus.SUCCEEDED
    assert [e.message_type for e in core.events].count("orca.execution.completed") == 1
