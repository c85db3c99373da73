"""Orca's ``terraform`` stage sends Terraformer its context with artifact references bound: an
``artifacts[].id`` or ``backendArtifact.id`` names an expected artifact an upstream stage produced,
one that binds to nothing fails the stage naming it, and a stage listing ``expectedArtifacts``
binds what it produced after its Terraformer task."""

from __future__ import annotations

from typing import Any

from schemas.orca_engine import RunExternalTask
from tests.unit.orca.engine_core import execution, stage
from workers.orca.engine.model import Task
from workers.orca.engine.stages.base import TaskRun
from workers.orca.engine.stages.terraform import RunTerraformTask, TerraformStage
from workers.orca.engine.status import ExecutionStatus

PLANFILE = {"type": "embedded/base64", "name": "planfile", "reference": "UEs="}
BACKEND = {"type": "embedded/base64", "name": "backend.tfbackend", "reference": "eA=="}
PRODUCED = {
    "artifacts": [PLANFILE, BACKEND],
    "resolvedExpectedArtifacts": [
        {"id": "the-plan", "matchArtifact": {"name": "planfile"}, "boundArtifact": PLANFILE},
        {"id": "the-backend", "matchArtifact": {"name": "backend.tfbackend"}, "boundArtifact": BACKEND},
    ],
}


def run_of(context: dict[str, Any]) -> TaskRun:
    plan = stage("1", "terraform", action="plan")
    plan.outputs = dict(PRODUCED)
    plan.status = ExecutionStatus.SUCCEEDED
    apply = stage("2", "terraform", after=("1",), **context)
    task = Task(id="1", name="runExternalTask", implementing_class="RunTerraformTask")
    return TaskRun(execution=execution(plan, apply), stage=apply, task=task, now=1_000)


def test_references_are_bound_before_terraformer_gets_them() -> None:
    repo = {"artifact": {"type": "git/repo", "reference": "https://git.example.com/infra.git"}}
    context = {"action": "apply", "artifacts": [repo, {"id": "the-plan"}], "backendArtifact": {"id": "the-backend"}}
    result = RunTerraformTask(60_000).run(run_of(context))
    [outbound] = result.send
    assert outbound.to == "terraformer" and isinstance(outbound.command, RunExternalTask)
    sent = outbound.command.context
    assert sent["artifacts"] == [repo, {"id": "the-plan", "artifact": PLANFILE}]
    assert sent["backendArtifact"] == BACKEND
    assert outbound.command.stage_type == "terraform"


def test_a_reference_to_nothing_fails_the_stage_naming_it() -> None:
    result = RunTerraformTask(60_000).run(run_of({"action": "apply", "artifacts": [{"id": "no-such-plan"}]}))
    assert result.status is ExecutionStatus.TERMINAL and not result.send
    assert "artifacts[0]: no artifact with id 'no-such-plan'" in str(result.error)
    unbound = RunTerraformTask(60_000).run(run_of({"action": "plan", "backendArtifact": {"id": "gone"}}))
    assert "backendArtifact: no artifact with id 'gone'" in str(unbound.error)


def test_a_stage_expecting_artifacts_binds_them_after_its_task() -> None:
    plain = stage("1", "terraform", action="plan")
    expecting = stage("1", "terraform", action="plan", expectedArtifacts=[{"id": "p", "matchArtifact": {}}])
    assert [task.name for task in TerraformStage().tasks(plain)] == ["runExternalTask"]
    assert [task.name for task in TerraformStage().tasks(expecting)] == ["runExternalTask", "bindProducedArtifacts"]
