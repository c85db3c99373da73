"""``${…}`` in manifests read from an artifact, evaluated as Orca's ``ManifestEvaluator`` does.

A ``deployManifest`` (or ``runJobManifest``) with ``source: artifact`` deploys what its bound
``manifestArtifact`` holds; unless the stage says ``skipExpressionEvaluation: true``, Orca parses
that YAML and evaluates its expressions against the stage, as it does a stage's context at its
start. Here that happens for ``embedded/base64`` artifacts (what ``bakeManifest`` produces) as the
task is sent: the command then carries the evaluated documents as ``manifests`` (``source: text``).
An expression that fails fails the stage (unless ``failOnFailedExpressions: false``, which leaves
it as written). YAML that does not parse is sent as it is, for Clouddriver to refuse naming it.
"""

from __future__ import annotations

import base64
import binascii

import yaml

from schemas.json_types import Json
from workers.orca.engine.expression_language import Expressions
from workers.orca.engine.model import Execution, Stage

STAGE_TYPES = ("deployManifest", "runJobManifest")


class ManifestExpressionFailed(ValueError):
    """An expression in the manifest artifact failed."""


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


def evaluated(expressions: Expressions, execution: Execution, stage: Stage, context: Json) -> Json:
    """``context`` with its embedded manifest artifact's documents evaluated (see the module)."""
    artifact = context.get("manifestArtifact")
    if (
        stage.type not in STAGE_TYPES
        or context.get("source") != "artifact"
        or context.get("skipExpressionEvaluation") is True
        or not isinstance(artifact, dict)
        or artifact.get("type") != "embedded/base64"
    ):
        return context
    documents = _documents(artifact)
    if documents is None:
        return context
    probe = stage.model_copy(update={"context": {**stage.context, "manifests": documents}})
    processed = expressions.process(execution, probe)
    if processed.failure and context.get("failOnFailedExpressions") is not False:
        raise ManifestExpressionFailed(f"failed expressions in the manifest artifact: {processed.failure}")
    return {**context, "source": "text", "manifests": processed.context["manifests"]}
