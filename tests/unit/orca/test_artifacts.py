"""Orca binds artifacts as Spinnaker does: expected artifacts at the trigger (received, prior,
default), artifacts a stage produces, and the references a stage sends to another service."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from schemas.artifacts import matches
from schemas.authority import Authority
from schemas.clouddriver_operations import TaskCompleted
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask, StartExecution
from schemas.secrets import MARKER, redact
from tests.unit.orca.engine_core import Core, execution, stage
from workers.orca.engine.artifacts import ArtifactError, bind_trigger, resolve
from workers.orca.engine.expression_language import SpelExpressions
from workers.orca.engine.plan import new_execution
from workers.orca.engine.stages import StageTypes, manifest_expressions
from workers.orca.engine.transitions import Transitions

CHART = {"type": "helm/chart", "name": "shop", "version": "1.2.0", "artifactAccount": "helm-charts"}
EXPECTED_CHART = {
    "id": "chart",
    "displayName": "shop-chart",
    "matchArtifact": {"type": "helm/chart", "name": "shop", "artifactAccount": "helm-charts"},
    "useDefaultArtifact": False,
    "usePriorArtifact": True,
}


@pytest.mark.parametrize(
    ("match", "artifact", "expected"),
    [
        ({"type": "helm/chart", "name": "shop"}, CHART, True),
        ({"type": "helm/chart", "name": "sho"}, CHART, False),  # the whole value, not a prefix
        ({"type": "helm/.*", "version": r"1\.\d+\.0"}, CHART, True),  # regular expressions
        ({"type": "docker/image"}, CHART, False),
        ({"type": "helm/chart", "artifactAccount": "elsewhere"}, CHART, True),  # accounts never compared
        ({"type": "helm/chart", "reference": "x"}, CHART, False),  # set but absent: no match
        ({"type": "["}, CHART, False),  # a pattern that does not compile matches nothing
        ({}, CHART, True),
    ],
)
def test_match_artifact_fields_are_whole_value_patterns(match: Json, artifact: Json, expected: bool) -> None:
    assert matches({"id": "x", "matchArtifact": match}, artifact) is expected


def test_received_then_prior_then_default() -> None:
    older = {**CHART, "version": "1.1.0"}
    default = {"type": "helm/chart", "name": "shop", "version": "0.9.0"}
    prior_and_default = {**EXPECTED_CHART, "useDefaultArtifact": True, "defaultArtifact": default}
    assert resolve([prior_and_default], [CHART], [older])[0] == [CHART]
    assert resolve([prior_and_default], [], [older])[0] == [older]
    assert resolve([prior_and_default], [], [])[0] == [default]
    with pytest.raises(ArtifactError, match=r"Unmatched expected artifact shop-chart .*type='helm/chart'"):
        resolve([{**EXPECTED_CHART, "usePriorArtifact": False}], [], [older])


def test_two_matches_for_one_expected_artifact_are_refused_at_the_trigger() -> None:
    with pytest.raises(ArtifactError, match="matches 2 artifacts"):
        resolve([EXPECTED_CHART], [CHART, {**CHART, "version": "2.0.0"}])


def test_the_trigger_binds_only_what_it_names_or_what_may_fall_back() -> None:
    named_only = {"id": "image", "matchArtifact": {"type": "docker/image"}}
    pipeline = {"expectedArtifacts": [EXPECTED_CHART, named_only]}
    trigger = bind_trigger(pipeline, {"type": "manual", "artifacts": [CHART]})
    assert [item["id"] for item in trigger["resolvedExpectedArtifacts"]] == ["chart"]
    assert trigger["resolvedExpectedArtifacts"][0]["boundArtifact"] == CHART
    assert trigger["artifacts"] == [CHART]
    with pytest.raises(ArtifactError, match="Unmatched expected artifact image"):
        bind_trigger(pipeline, {"type": "manual", "artifacts": [CHART], "expectedArtifactIds": ["image"]})


def _start(pipeline: Json, trigger: Json, prior: list[Json] | None = None) -> Core:
    command = StartExecution(
        execution_id="e1",
        pipeline={"application": "shop", "name": "deploy", **pipeline},
        trigger=trigger,
        authority=Authority(user="ana"),
    )
    core = Core(new_execution(command, 1_700_000_000_000, prior_artifacts=prior))
    core.start()
    return core


def test_an_execution_whose_expected_artifact_binds_to_nothing_fails_before_any_stage() -> None:
    core = _start({"expectedArtifacts": [EXPECTED_CHART], "stages": [{"refId": "1", "type": "wait"}]}, {})
    core.run_all()
    assert core.execution.status.value == "TERMINAL"
    assert core.execution.stages[0].status.value == "NOT_STARTED"
    assert "Unmatched expected artifact shop-chart" in core.execution.exception["details"]["error"]  # type: ignore[index]


def test_an_execution_falls_back_on_its_previous_executions_artifact() -> None:
    core = _start({"expectedArtifacts": [EXPECTED_CHART], "stages": []}, {}, prior=[CHART])
    assert core.execution.trigger["resolvedExpectedArtifacts"][0]["boundArtifact"] == CHART


BAKED = {"type": "embedded/base64", "name": "shop", "reference": "a2luZDogU2VydmljZQo="}


def _settle(core: Core) -> None:
    """Deliver Orca's own messages until only what other services must answer is left."""
    for _ in range(200):
        own = [out for out in core.pending if not isinstance(out.message, RunExternalTask)]
        if not own:
            return
        core.pending.remove(own[0])
        core.apply(own[0])
    raise AssertionError("still sending")


def _sent(core: Core) -> RunExternalTask:
    found = [out.message for out in core.pending if isinstance(out.message, RunExternalTask)]
    assert found, "nothing was sent to another service"
    core.pending = [out for out in core.pending if not isinstance(out.message, RunExternalTask)]
    return found[-1]


def _answer(core: Core, sent: RunExternalTask, outputs: Json) -> None:
    answer = TaskCompleted(
        execution_id="e1",
        stage_id=sent.stage_id,
        task_id=sent.task_id,
        attempt=sent.attempt,
        status="SUCCEEDED",
        outputs=outputs,
    )
    core.take(core.t.external_task_completed(core.execution, answer, core.now))


def _bake_then_deploy(manifest_artifact_id: str) -> Core:
    produces = [{"id": "bake-output", "matchArtifact": {"type": "embedded/base64", "name": "shop"}}]
    built = execution(
        stage("1", "bake", expectedArtifacts=produces),
        stage("2", "bake", after=["1"], manifestArtifactId=manifest_artifact_id, requiredArtifactIds=["chart"]),
    )
    built.trigger = {
        "type": "manual",
        "artifacts": [CHART],
        "resolvedExpectedArtifacts": [
            {
                **EXPECTED_CHART,
                "boundArtifact": {key: value for key, value in CHART.items() if key != "artifactAccount"},
            }
        ],
    }
    core = Core(built)
    core.start()
    _settle(core)
    _answer(core, _sent(core), {"artifacts": [BAKED]})
    _settle(core)
    return core


def test_a_stage_binds_what_it_produced_and_a_later_stage_receives_it_by_id() -> None:
    core = _bake_then_deploy("bake-output")
    bake = core.execution.stages[0]
    assert bake.status.value == "SUCCEEDED"
    assert [task.name for task in bake.tasks] == ["runExternalTask", "bindProducedArtifacts"]
    assert bake.outputs["resolvedExpectedArtifacts"][0]["boundArtifact"] == BAKED
    sent = _sent(core)
    assert sent.context["manifestArtifact"] == BAKED
    # the account an expected artifact's matchArtifact names is the bound artifact's when it has none
    assert sent.context["requiredArtifacts"] == [CHART]
    assert BAKED in sent.context["optionalArtifacts"] and CHART in sent.context["optionalArtifacts"]


def test_a_reference_that_binds_to_nothing_fails_the_stage_saying_which() -> None:
    core = _bake_then_deploy("nothing-by-that-id")
    deploy = core.execution.stages[1]
    assert deploy.status.value == "TERMINAL"
    error = deploy.context["exception"]["details"]["error"]
    assert "manifestArtifactId: no artifact with id 'nothing-by-that-id'" in error
    assert not [out for out in core.pending if isinstance(out.message, RunExternalTask)]


def test_expressions_in_an_embedded_manifest_artifact_are_evaluated_unless_skipped() -> None:
    text = "kind: ConfigMap\nmetadata: {name: cfg}\ndata: {env: '${trigger.parameters.env}'}\n"
    artifact = {"type": "embedded/base64", "name": "m", "reference": base64.b64encode(text.encode()).decode()}
    deploy = stage("1", "deployManifest", source="artifact", manifestArtifact=artifact)
    run = execution(deploy)
    context = manifest_expressions.evaluated(SpelExpressions(), run, deploy, deploy.context)
    assert context["source"] == "text"
    assert context["manifests"] == [{"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"env": "prod"}}]
    skipped = {**deploy.context, "skipExpressionEvaluation": True}
    assert manifest_expressions.evaluated(SpelExpressions(), run, deploy, skipped) == skipped
    broken = base64.b64encode(b"data: {x: '${nothing.here()}'}\n").decode()
    with pytest.raises(manifest_expressions.ManifestExpressionFailed, match="failed expressions in the manifest"):
        manifest_expressions.evaluated(
            SpelExpressions(), run, deploy, {**deploy.context, "manifestArtifact": {**artifact, "reference": broken}}
        )


GITHUB_MANIFEST = {
    "type": "github/file",
    "reference": "https://api.github.com/repos/acme/shop/contents/web.yaml",
    "version": "main",
    "artifactAccount": "github-acme",
}


def _manifest_core(**context: Any) -> Core:
    types = StageTypes.standard(SpelExpressions(), external={"deployManifest": "clouddriver"})
    deploy = stage("1", "deployManifest", source="artifact", manifestArtifact=GITHUB_MANIFEST, **context)
    core = Core(execution(deploy), Transitions(types, SpelExpressions()))
    core.start()
    _settle(core)
    return core


def _answer_fetch(core: Core, text: str) -> None:
    sent = _sent(core)
    assert sent.stage_type == "fetchManifestArtifact"
    assert sent.context == {"manifestArtifact": GITHUB_MANIFEST}
    assert sent.authority.user == "ana"
    answer = TaskCompleted(
        execution_id="e1",
        stage_id=sent.stage_id,
        task_id=sent.task_id,
        attempt=sent.attempt,
        status="SUCCEEDED",
        context={"fetchedManifest": GITHUB_MANIFEST, "fetchedManifestText": text},
    )
    core.take(core.t.external_task_completed(core.execution, answer, core.now))
    _settle(core)


def test_a_fetched_manifest_is_fetched_by_clouddriver_then_evaluated_and_sent_as_text() -> None:
    core = _manifest_core()
    _answer_fetch(core, "kind: ConfigMap\nmetadata: {name: cfg}\ndata: {env: '${trigger.parameters.env}'}\n")
    deploy = core.execution.stages[0]
    assert [task.name for task in deploy.tasks] == ["resolveDeploySourceManifest", "runExternalTask"]
    sent = _sent(core)
    assert sent.stage_type == "deployManifest" and sent.context["source"] == "text"
    assert sent.context["manifests"] == [{"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"env": "prod"}}]
    assert "fetchedManifestText" not in sent.context
    assert redact(core.execution.to_json())["stages"][0]["context"]["fetchedManifestText"] == MARKER


def test_a_failing_expression_in_a_fetched_manifest_names_its_path_document_and_artifact() -> None:
    core = _manifest_core()
    _answer_fetch(
        core,
        "kind: Service\nmetadata: {name: a}\n---\nkind: Deployment\nmetadata: {name: web}\nspec: {n: '${nope.x}'}\n",
    )
    deploy = core.execution.stages[0]
    assert deploy.status.value == "TERMINAL"
    error = deploy.context["exception"]["details"]["error"]
    assert "[manifests[1].spec.n]" in error and "manifests[1] is Deployment web" in error
    assert f"github/file {GITHUB_MANIFEST['reference']}" in error
    assert not [out for out in core.pending if isinstance(out.message, RunExternalTask)]


def test_skip_expression_evaluation_leaves_the_fetch_to_the_deploy() -> None:
    core = _manifest_core(skipExpressionEvaluation=True)
    sent = _sent(core)
    assert sent.stage_type == "deployManifest" and sent.context["manifestArtifact"] == GITHUB_MANIFEST
    assert [task.name for task in core.execution.stages[0].tasks] == ["runExternalTask"]
