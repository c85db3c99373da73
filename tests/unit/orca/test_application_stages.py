"""A pipeline's application stages (``updateApplication``…) on Orca's pure state machine: Front50's
answer is kept while the pipeline is paused, and a restarted stage asks Front50 again."""

from __future__ import annotations

from workers.orca.engine.expression_language import SpelExpressions
from workers.orca.engine.stages import StageTypes
from workers.orca.engine.stages.applications import CALL_KEY, application_stage_types, record_answer
from workers.orca.engine.transitions import Transitions

from .engine_core import Core, describe, execution, stage, statuses


def pipeline() -> Core:
    """A pipeline of one ``updateApplication`` stage, run until its command to Front50 is sent."""
    expressions = SpelExpressions()
    types = StageTypes.standard(expressions, extra=application_stage_types())
    update = stage("1", "updateApplication", application={"name": "shop", "email": "ops@example.com"})
    core = Core(execution(update), t=Transitions(types, expressions))
    core.start()
    settle(core)
    return core


def settle(core: Core) -> list[str]:
    """Deliver Orca's own messages until only commands to other services are pending; those, named."""
    while own := [out for out in core.pending if not out.message.message_type.startswith("front50.")]:
        core.pending.remove(own[0])
        core.apply(own[0])
    return [describe(out) for out in core.pending]


def command_id(core: Core) -> str:
    return str(core.execution.stages[0].context[CALL_KEY]["commandId"])


def answer(core: Core, given: dict[str, object]) -> None:
    core.take(record_answer(core.execution, command_id(core), given, core.now))
    settle(core)


def test_the_stage_sends_its_command_and_finishes_on_the_answer() -> None:
    core = pipeline()
    assert [describe(out) for out in core.pending] == ["front50.SaveApplication"]
    assert statuses(core.execution) == {"execution": "RUNNING", "s1": "RUNNING", "s1/1": "RUNNING"}

    answer(core, {"ok": True})

    assert statuses(core.execution) == {"execution": "SUCCEEDED", "s1": "SUCCEEDED", "s1/1": "SUCCEEDED"}


def test_an_answer_while_paused_is_kept_and_judged_on_resume() -> None:
    core = pipeline()
    core.pending.clear()  # the command was sent
    core.take(core.t.pause_execution(core.execution, "ana", core.now))

    answer(core, {"ok": True})
    assert statuses(core.execution)["execution"] == "PAUSED"
    core.take(core.t.resume_execution(core.execution, "ana", core.now))
    settle(core)

    assert statuses(core.execution) == {"execution": "SUCCEEDED", "s1": "SUCCEEDED", "s1/1": "SUCCEEDED"}


def test_a_restarted_stage_asks_front50_again_under_a_new_id() -> None:
    core = pipeline()
    core.pending.clear()
    first = command_id(core)
    answer(core, {"rejected": {"reason": "no WRITE on shop", "status": 403, "commandType": "front50.SaveApplication"}})
    assert statuses(core.execution)["execution"] == "TERMINAL"

    core.take(core.t.restart_stage(core.execution, "s1", "ana", core.now))

    assert settle(core) == ["front50.SaveApplication"]
    assert statuses(core.execution) == {"execution": "RUNNING", "s1": "RUNNING", "s1/1": "RUNNING"}
    assert command_id(core) != first
    answer(core, {"ok": True})
    assert statuses(core.execution)["execution"] == "SUCCEEDED"
