"""``terraform``: Armory's Terraform Integration stage, whose work Terraformer does.

The stage's context is Armory's (``action``, ``artifacts``, ``dir``, ``backendArtifact``,
``overrides``, ``workspace``, ``targets``, ``planForDestroy``, ``lock``, ``terraformVersion``,
``profile``); Orca sends it to Terraformer with every artifact reference bound: an
``artifacts[]`` entry or a ``backendArtifact`` that names an expected artifact by ``id`` (the
``planfile`` a ``plan`` stage produced, a trigger's ``git/repo``) carries that artifact, and one
that binds to nothing fails the stage before anything runs. A stage listing ``expectedArtifacts``
binds what it produced (a plan's ``planfile``) for the stages after it.

A ``plan``'s outputs hold ``planSummary`` (``add``, ``change``, ``destroy``, ``resources`` and
``text``), so a ``manualJudgment`` after it can show it in its instructions
(``${#stage('Plan')['outputs']['planSummary']['text']}``); an ``output`` stage's outputs hold the
Terraform outputs by name (``${#stage('tf output')['outputs']['bucket']}``), sensitive ones only
in ``sensitiveOutputs`` by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from schemas.json_types import Json
from workers.orca.engine import artifacts
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.stages.external import ExternalTask

TERRAFORM = "terraform"
SERVICE = "terraformer"
HEARTBEAT_TIMEOUT_MS = 60_000


def bound_context(execution: Execution, stage: Stage) -> Json:
    """The stage's context with its ``artifacts[].id`` and ``backendArtifact.id`` bound to artifacts."""
    context = dict(stage.context)
    entries = context.get("artifacts")
    if isinstance(entries, list):
        bound: list[object] = []
        for n, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get("id") and not isinstance(entry.get("artifact"), dict):
                found = artifacts.bound_for_id(execution, stage, str(entry["id"]))
                if found is None:
                    raise artifacts.ArtifactError(
                        f"artifacts[{n}]: no artifact with id {entry['id']!r} could be found in the pipeline context"
                    )
                if entry.get("account"):
                    found = {**found, "artifactAccount": entry["account"]}
                entry = {**entry, "artifact": found}
            bound.append(entry)
        context["artifacts"] = bound
    backend = context.get("backendArtifact")
    if isinstance(backend, dict) and backend.get("id") and not backend.get("type"):
        found = artifacts.bound_for_id(execution, stage, str(backend["id"]))
        if found is None:
            raise artifacts.ArtifactError(
                f"backendArtifact: no artifact with id {backend['id']!r} could be found in the pipeline context"
            )
        context["backendArtifact"] = found
    return context


class RunTerraformTask(ExternalTask):
    """Terraformer's task, sent with the stage's artifact references bound."""

    def __init__(self, heartbeat_timeout_ms: int | None) -> None:
        super().__init__(SERVICE, heartbeat_timeout_ms, stage_type=TERRAFORM)

    def _send(self, run: TaskRun, attempt: int, heartbeat: int | None, context: Json | None = None) -> TaskResult:
        try:
            stage = run.stage.model_copy(update={"context": bound_context(run.execution, run.stage)})
        except artifacts.ArtifactError as unbound:
            return TaskResult.terminal(str(unbound))
        return super()._send(replace(run, stage=stage), attempt, heartbeat, context)


class TerraformStage:
    """``terraform``: one Terraformer task, then the binding of what it produced when the stage expects any."""

    type = TERRAFORM

    def __init__(self, heartbeat_timeout_ms: int | None = HEARTBEAT_TIMEOUT_MS) -> None:
        self.heartbeat_timeout_ms = heartbeat_timeout_ms

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        run = RunTerraformTask(self.heartbeat_timeout_ms)
        return (run, artifacts.BindProducedArtifactsTask()) if artifacts.produces(stage) else (run,)
