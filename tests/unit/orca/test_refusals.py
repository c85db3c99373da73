"""Which cancels and judgments Orca refuses, and the words it refuses them in
(:mod:`workers.orca.engine.refusals`): one row per state, against the pure state machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from schemas.orca_engine import CancelExecution, JudgeStage, PauseExecution
from tests.authorities import admin
from workers.orca.engine.refusals import refusal

from .engine_core import Core, execution, stage


def judgment(stage_id: str = "s1") -> JudgeStage:
    return JudgeStage(execution_id="e1", stage_id=stage_id, judgment_status="continue", authority=admin("cy"))


CANCEL = CancelExecution(execution_id="e1", authority=admin("cy"))


def waiting(core: Core) -> None:
    core.start()
    core.deliver("StartStage s1")
    core.deliver("RunTask s1")


def judged(core: Core) -> None:
    waiting(core)
    core.take(core.t.judge_stage(core.execution, "s1", {"judgmentStatus": "stop"}, "bo", core.now))
    core.run_all()


def canceled(core: Core) -> None:
    waiting(core)
    core.take(core.t.cancel_execution(core.execution, "bo", None, core.now))


@dataclass(frozen=True)
class Row:
    name: str
    setup: Callable[[Core], None]
    command: object
    status: int | None
    says: str = ""


ROWS = [
    Row("a waiting judgment is taken", waiting, judgment(), None),
    Row("a second judgment is refused", judged, judgment(), 409, "stage 1 'gate' was already judged 'stop' by bo"),
    Row("a judgment of a cancelled execution", canceled, judgment(), 409, "has already finished (CANCELED)"),
    Row("a judgment of an unknown stage", waiting, judgment("s9"), 404, "has no stage s9"),
    Row("a running execution may be cancelled", waiting, CANCEL, None),
    Row("a finished execution is not cancelled", judged, CANCEL, 409, "already finished (TERMINAL)"),
    Row("a cancelled one names who", canceled, CANCEL, 409, "(CANCELED by bo): there is nothing to cancel"),
    Row("other commands are not judged here", judged, PauseExecution(execution_id="e1", authority=admin("cy")), None),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_refusal(row: Row) -> None:
    core = Core(execution(stage("1", "manualJudgment", name="gate"), stage("2", after=["1"])))
    row.setup(core)
    found = refusal(core.execution, row.command)
    assert (found and found.status) == row.status, found
    if found is not None:
        assert row.says in found.reason, found.reason
