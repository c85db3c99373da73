"""Spinnaker's artifact model as Orca binds it: expected artifacts matched against what a trigger
brought, what an earlier execution used, or a default; a stage's produced artifacts; and the
``manifestArtifactId`` / ``requiredArtifactIds`` / ``inputArtifacts`` a stage names.

An artifact is Spinnaker's JSON (``type``, ``name``, ``version``, ``location``, ``reference``,
``artifactAccount``, ``metadata``…). An expected artifact (``{id, matchArtifact, useDefaultArtifact,
defaultArtifact, usePriorArtifact, boundArtifact}``) matches an artifact as
:func:`schemas.artifacts.matches` says (Echo asks the same of what a trigger brought).

At the start of an execution (:func:`bind_trigger`) the pipeline's ``expectedArtifacts`` that the
trigger names in ``expectedArtifactIds``, or that may fall back on a prior or default artifact, are
bound: first to the trigger's ``artifacts``, then (``usePriorArtifact``) to those of the pipeline's
previous execution, then (``useDefaultArtifact``) to the ``defaultArtifact``. One that binds to
none fails the execution before any stage starts. The trigger then holds ``artifacts`` (received
and bound), ``expectedArtifacts`` and ``resolvedExpectedArtifacts`` (each with its
``boundArtifact``), as in Orca.

A stage that lists ``expectedArtifacts`` (the artifacts it produces, e.g. ``bakeManifest``'s
output) binds them once its work is done (:class:`BindProducedArtifactsTask`) against what it and
its upstream stages produced and the trigger's artifacts; its outputs then hold ``artifacts`` and
``resolvedExpectedArtifacts`` for the stages downstream. A stage looks an expected artifact id up
(:func:`bound_for_id`) in its own context, then in its ancestors' outputs nearest first, then in the
trigger: the first expected artifact with that id gives its bound artifact, whose account defaults
to its ``matchArtifact``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from schemas.artifacts import matches
from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import TaskResult, TaskRun
from workers.orca.expressions.ancestors import ancestors


class ArtifactError(ValueError):
    """An expected artifact that binds to nothing, or one stage reference that names none."""


def _dicts(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _describe(expected: Json) -> str:
    match = expected.get("matchArtifact") if isinstance(expected.get("matchArtifact"), dict) else {}
    shown = ", ".join(f"{key}={value!r}" for key, value in (match or {}).items() if value)
    return f"{expected.get('displayName') or expected.get('id')!s} ({shown or 'matches anything'})"


def _one(expected: Json, candidates: Sequence[Json], unique: bool) -> Json | None:
    found = [artifact for artifact in candidates if matches(expected, artifact)]
    if len(found) > 1 and unique:
        raise ArtifactError(f"expected artifact {_describe(expected)} matches {len(found)} artifacts: {found}")
    return found[0] if found else None


def resolve(
    expected: Iterable[Json], received: Sequence[Json], prior: Sequence[Json] = (), *, unique: bool = True
) -> tuple[list[Json], list[Json]]:
    """Bind each expected artifact: to one of ``received``, else (``usePriorArtifact``) one of
    ``prior``, else (``useDefaultArtifact``) its ``defaultArtifact``. Returns the bound artifacts
    (each once) and the expected artifacts with their ``boundArtifact``; raises :class:`ArtifactError`
    naming the first that binds to nothing (or, when ``unique``, to more than one)."""
    bound: list[Json] = []
    resolved: list[Json] = []
    for item in expected:
        artifact = _one(item, received, unique)
        if artifact is None and item.get("usePriorArtifact") is True:
            artifact = _one(item, prior, unique)
        if (
            artifact is None
            and item.get("useDefaultArtifact") is True
            and isinstance(item.get("defaultArtifact"), dict)
        ):
            artifact = item["defaultArtifact"]
        if artifact is None:
            raise ArtifactError(
                f"Unmatched expected artifact {_describe(item)} could not be resolved: the trigger brought "
                f"{len(received)} artifact(s), none of them a match"
                + ("; nor did the pipeline's previous execution" if item.get("usePriorArtifact") is True else "")
            )
        if artifact not in bound:
            bound.append(artifact)
        resolved.append({**item, "boundArtifact": artifact})
    return bound, resolved


def execution_artifacts(stages: Iterable[Json], trigger: Json) -> list[Json]:
    """Every artifact an execution (as stored JSON) produced, later stages first, then its trigger's:
    what ``usePriorArtifact`` draws on."""
    produced: list[Json] = []
    for stage in stages:
        outputs = stage.get("outputs") if isinstance(stage.get("outputs"), dict) else {}
        produced.extend(_dicts((outputs or {}).get("artifacts")))
    return [*reversed(produced), *_dicts(trigger.get("artifacts"))]


def bind_trigger(pipeline: Json, trigger: Json, prior: Sequence[Json] = ()) -> Json:
    """``trigger`` with the pipeline's expected artifacts bound (see the module); raises :class:`ArtifactError`."""
    named = {str(item) for item in trigger.get("expectedArtifactIds") or [] if isinstance(item, str)}
    expected = [
        item
        for item in _dicts(pipeline.get("expectedArtifacts"))
        if item.get("id") in named or item.get("useDefaultArtifact") is True or item.get("usePriorArtifact") is True
    ]
    received = [*_dicts(pipeline.get("receivedArtifacts")), *_dicts(trigger.get("artifacts"))]
    if not expected and not received:
        return trigger
    bound, resolved = resolve(expected, received, prior)
    artifacts = list(received)
    artifacts.extend(artifact for artifact in bound if artifact not in artifacts)
    return {**trigger, "artifacts": artifacts, "expectedArtifacts": resolved, "resolvedExpectedArtifacts": resolved}


def _lineage(execution: Execution, stage: Stage) -> list[Json]:
    """``stage``'s ancestors' stored JSON, nearest first (the stage itself excluded)."""
    fields = {"id", "ref_id", "parent_stage_id", "synthetic_stage_owner", "requisite_stage_ref_ids", "outputs"}
    stages = [other.model_dump(by_alias=True, include=fields) for other in execution.stages]
    own = next((item for item in stages if item.get("id") == stage.id), None)
    if own is None:
        return []
    return [dict(item) for item in ancestors(own, stages) if item.get("id") != stage.id]


def _gathered(execution: Execution, stage: Stage, key: str) -> list[Json]:
    """Every list under ``key`` the stage sees, flattened: its context's, its own outputs', its
    ancestors' outputs' (nearest first), then the trigger's."""
    found = [*_dicts(stage.context.get(key)), *_dicts(stage.outputs.get(key))]
    seen: set[str] = set()
    for ancestor in _lineage(execution, stage):
        if ancestor.get("id") in seen:
            continue
        seen.add(str(ancestor.get("id")))
        outputs = ancestor.get("outputs") if isinstance(ancestor.get("outputs"), dict) else {}
        found.extend(_dicts((outputs or {}).get(key)))
    trigger_key = "resolvedExpectedArtifacts" if key == "resolvedExpectedArtifacts" else "artifacts"
    found.extend(_dicts(execution.trigger.get(trigger_key)))
    return found


def visible_artifacts(execution: Execution, stage: Stage) -> list[Json]:
    """The artifacts ``stage`` may use: its own, its upstream stages', the trigger's (Orca's ``getArtifacts``)."""
    return _gathered(execution, stage, "artifacts")


def bound_for_id(execution: Execution, stage: Stage, expected_id: str) -> Json | None:
    """The artifact bound to the expected artifact ``expected_id`` as ``stage`` sees it, or ``None``."""
    for expected in _gathered(execution, stage, "resolvedExpectedArtifacts"):
        if expected.get("id") != expected_id:
            continue
        bound = expected.get("boundArtifact")
        if not isinstance(bound, dict):
            return None
        account = (expected.get("matchArtifact") or {}).get("artifactAccount")
        if not bound.get("artifactAccount") and account:
            return {**bound, "artifactAccount": account}
        return dict(bound)
    return None


def _required(execution: Execution, stage: Stage, expected_id: Any, field: str) -> Json:
    bound = bound_for_id(execution, stage, str(expected_id)) if expected_id else None
    if bound is None:
        raise ArtifactError(
            f"{field}: no artifact with id {expected_id!r} could be found in the pipeline context "
            "(bound by the trigger or produced by an upstream stage's expectedArtifacts)"
        )
    return bound


def with_bound_references(execution: Execution, stage: Stage, context: Json) -> Json:
    """``context`` as another service needs it: ``manifestArtifactId`` → ``manifestArtifact``,
    ``requiredArtifactIds`` → ``requiredArtifacts``, each ``inputArtifacts[].id`` → its
    ``artifact``, and ``optionalArtifacts`` (every artifact the stage sees); raises
    :class:`ArtifactError` naming a reference that binds to nothing."""
    shaped = dict(context)
    if context.get("manifestArtifactId"):
        manifest = _required(execution, stage, context["manifestArtifactId"], "manifestArtifactId")
        account = context.get("manifestArtifactAccount")
        shaped["manifestArtifact"] = {**manifest, "artifactAccount": account} if account else manifest
    ids = context.get("requiredArtifactIds")
    if isinstance(ids, list) and ids:
        shaped["requiredArtifacts"] = [
            _required(execution, stage, item, f"requiredArtifactIds[{n}]") for n, item in enumerate(ids)
        ]
    inputs = context.get("inputArtifacts")
    if isinstance(inputs, list):
        bound_inputs = []
        for n, item in enumerate(inputs):
            if not isinstance(item, dict):
                raise ArtifactError(f"inputArtifacts[{n}] must be an object with an 'id' or an 'artifact'")
            artifact: Any = (
                _required(execution, stage, item["id"], f"inputArtifacts[{n}]")
                if item.get("id")
                else item.get("artifact")
            )
            if not isinstance(artifact, dict):
                raise ArtifactError(f"inputArtifacts[{n}] names no expected artifact id and holds no artifact")
            if item.get("account"):
                artifact = {**artifact, "artifactAccount": item["account"]}
            bound_inputs.append({**item, "artifact": artifact})
        shaped["inputArtifacts"] = bound_inputs
    if any(key in context for key in ("manifestArtifactId", "requiredArtifactIds", "inputArtifacts", "manifests")):
        shaped["optionalArtifacts"] = visible_artifacts(execution, stage)
    return shaped


class BindProducedArtifactsTask:
    """Orca's ``bindProducedArtifacts``: bind the stage's ``expectedArtifacts`` to what it (and its
    upstream stages, and the trigger) produced; outputs ``artifacts`` and ``resolvedExpectedArtifacts``."""

    name = "bindProducedArtifacts"

    def run(self, run: TaskRun) -> TaskResult:
        expected = _dicts(run.stage.context.get("expectedArtifacts"))
        if not expected:
            return TaskResult.succeeded()
        candidates = visible_artifacts(run.execution, run.stage)
        try:
            bound, resolved = resolve(expected, candidates, unique=False)
        except ArtifactError as unmatched:
            return TaskResult.terminal(f"{unmatched} (the stage produced {len(candidates)} artifact(s) it can see)")
        produced = {"artifacts": bound, "resolvedExpectedArtifacts": resolved}
        return TaskResult.succeeded(outputs=produced, context=produced)


def produces(stage: Stage) -> bool:
    """Whether ``stage`` lists artifacts it produces (``expectedArtifacts``) to bind when it is done."""
    return bool(_dicts(stage.context.get("expectedArtifacts")))
