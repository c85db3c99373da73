"""``${…}`` in manifests read from an artifact, evaluated as Orca's ``ManifestEvaluator`` does.

A ``deployManifest`` (or ``runJobManifest``) with ``source: artifact`` deploys what its bound
``manifestArtifact`` holds; unless the stage says ``skipExpressionEvaluation: true``, Orca parses
that YAML and evaluates its expressions against the stage, as it does a stage's context at its
start, and the command then carries the evaluated documents as ``manifests`` (``source: text``).
A ``patchManifest`` reading its patch from an artifact is treated alike (Orca's
``resolvePatchSourceManifest``), its evaluated documents sent as ``patchBody``.

* ``embedded/base64`` (what ``bakeManifest`` produces): evaluated as the deploy is sent.
* ``http/file``, ``github/file``, ``gitlab/file``: a first task, ``resolveDeploySourceManifest``
  (:class:`ResolveSourceManifestTask`), asks Clouddriver to fetch it
  (:data:`~schemas.clouddriver_operations.FETCH_MANIFEST_ARTIFACT`) with the execution's authority,
  so the READ on the artifact account is judged where the credentials are; Orca keeps the text
  Clouddriver answers (hidden from readers) and the deploy evaluates and sends exactly that text,
  so Clouddriver does not fetch it a second time. With ``skipExpressionEvaluation: true`` no
  such task runs: Clouddriver fetches it as the deploy runs and deploys it verbatim.

An expression that fails fails the stage (unless ``failOnFailedExpressions: false``, which leaves
it as written), naming its path (``manifests[1].spec.replicas``), the document there (its kind and
name) and the artifact. YAML that does not parse is sent as it is, for Clouddriver to refuse
naming it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import yaml

from schemas.artifact_accounts import FETCHED_TYPES
from schemas.clouddriver_operations import FETCHED_MANIFEST, FETCHED_MANIFEST_TEXT
from schemas.json_types import Json
from workers.orca.engine import artifacts
from workers.orca.engine.expression_language import Expressions
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun

STAGE_TYPES = ("deployManifest", "runJobManifest", "patchManifest")
PATCH = "patchManifest"
"""Its evaluated documents are sent as ``patchBody`` (the patch), not as ``manifests``."""
RESOLVE_TASK = "resolveDeploySourceManifest"
IDENTITY = ("type", "reference", "version", "artifactAccount")
"""The fields by which the fetched text is known to be the bound artifact's."""
_DOCUMENT_PATH = re.compile(r"\[manifests\[(\d+)\]")


class ManifestExpressionFailed(ValueError):
    """An expression in the manifest artifact failed."""


def _evaluates(stage: Stage, context: Json) -> bool:
    return (
        stage.type in STAGE_TYPES
        and context.get("source") == "artifact"
        and context.get("skipExpressionEvaluation") is not True
    )


def resolves_first(stage: Stage) -> bool:
    """Whether ``stage`` starts with :class:`ResolveSourceManifestTask`: a manifest stage reading an
    artifact whose expressions are evaluated (a stage started before the task existed keeps its tasks)."""
    started = not stage.tasks or any(task.name == RESOLVE_TASK for task in stage.tasks)
    return _evaluates(stage, stage.context) and started


def _identity(artifact: Json) -> Json:
    return {key: artifact[key] for key in IDENTITY if artifact.get(key) is not None}


def _shown(artifact: Json) -> str:
    reference = str(artifact.get("reference") or "").split("?", 1)[0]
    if artifact.get("type") == "embedded/base64":
        reference = str(artifact.get("name") or "")
    return f"{artifact.get('type')} {reference}".strip()


def fetch_request(execution: Execution, stage: Stage) -> Json:
    """What Clouddriver's ``fetchManifestArtifact`` is sent: the bound ``manifestArtifact``."""
    bound = artifacts.with_bound_references(execution, stage, stage.context)
    return {"manifestArtifact": bound.get("manifestArtifact")}


class ResolveSourceManifestTask:
    """Orca's ``resolveDeploySourceManifest``: has Clouddriver fetch a manifest artifact that is
    fetched over HTTP (with ``fetch``, the task that sends ``fetchManifestArtifact``); any other
    artifact needs nothing fetched and the task succeeds at once."""

    name = RESOLVE_TASK

    def __init__(self, fetch: TaskDefinition) -> None:
        self.fetch = fetch

    def run(self, run: TaskRun) -> TaskResult:
        if run.task.attempt == 0:
            try:
                artifact = fetch_request(run.execution, run.stage)["manifestArtifact"]
            except artifacts.ArtifactError as unbound:
                return TaskResult.terminal(str(unbound))
            if not isinstance(artifact, dict) or artifact.get("type") not in FETCHED_TYPES:
                return TaskResult.succeeded()
        return self.fetch.run(run)


def forget_fetched(stage: Stage) -> None:
    """Before a restart: the text fetched last time is fetched again."""
    stage.context.pop(FETCHED_MANIFEST, None)
    stage.context.pop(FETCHED_MANIFEST_TEXT, None)


def _fetched_copy(stage: Stage, artifact: Json) -> Json | None:
    """``artifact`` as an ``embedded/base64`` one holding the text Clouddriver fetched for this stage."""
    text = stage.context.get(FETCHED_MANIFEST_TEXT)
    if not isinstance(text, str) or stage.context.get(FETCHED_MANIFEST) != _identity(artifact):
        return None
    return {**artifact, "type": "embedded/base64", "reference": base64.b64encode(text.encode()).decode()}


def _documents(artifact: Json) -> list[object] | None:
    try:
        text = base64.b64decode(str(artifact.get("reference") or ""), validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if "${" not in text:
        return None
    try:
        return [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError:
        return None


def _named(document: Any) -> str:
    if not isinstance(document, dict):
        return type(document).__name__
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{document.get('kind') or 'a document without kind'} {name or '(no metadata.name)'}"


def _failure(artifact: Json, documents: list[object], failure: str) -> str:
    indices = sorted({int(found) for found in _DOCUMENT_PATH.findall(failure)})
    where = "; ".join(
        f"manifests[{index}] is {_named(documents[index])}" for index in indices if index < len(documents)
    )
    return f"failed expressions in the manifest artifact {_shown(artifact)}: {failure}" + (
        f" ({where})" if where else ""
    )


def evaluated(expressions: Expressions, execution: Execution, stage: Stage, context: Json) -> Json:
    """``context`` with its manifest artifact's documents evaluated (see the module); raises
    :class:`ManifestExpressionFailed` naming what failed."""
    named = context.get("manifestArtifact")
    if not _evaluates(stage, context) or not isinstance(named, dict):
        return context
    artifact: Json = named
    context = _without_fetched(context)
    if named.get("type") in FETCHED_TYPES:
        copy = _fetched_copy(stage, named)
        if copy is None:
            return context  # nothing fetched for it (a stage started before the task existed)
        context, artifact = {**context, "manifestArtifact": copy}, copy
    if artifact.get("type") != "embedded/base64":
        return context
    documents = _documents(artifact)
    if documents is None:
        return context
    probe = stage.model_copy(update={"context": {**_without_fetched(stage.context), "manifests": documents}})
    processed = expressions.process(execution, probe)
    if processed.failure and context.get("failOnFailedExpressions") is not False:
        raise ManifestExpressionFailed(_failure(named, documents, processed.failure))
    key = "patchBody" if stage.type == PATCH else "manifests"
    return {**context, "source": "text", key: processed.context["manifests"]}


def _without_fetched(context: Json) -> Json:
    return {key: value for key, value in context.items() if key not in (FETCHED_MANIFEST, FETCHED_MANIFEST_TEXT)}
