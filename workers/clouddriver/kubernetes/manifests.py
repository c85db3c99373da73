"""Manifests as a ``deployManifest`` stage gives them: read, checked, and annotated before anything is applied.

Every document is refused before the first is applied if it does not parse (a ``manifests`` item
may be YAML text, several documents in one), is not an object, or lacks ``kind``,
``apiVersion`` or ``metadata.name``; the refusal names the document's index (from 0, counted
after ``List`` items are expanded) and its kind. A stage may hold at most
:data:`MAX_DOCUMENTS` documents of :data:`MAX_BYTES` in all.

Each document then carries Spinnaker's annotations: ``moniker.spinnaker.io/application``,
``cluster`` (default ``"{kind} {name}"``), ``stack``/``detail`` when the moniker has them, and
``artifact.spinnaker.io/name``, ``type`` (``kubernetes/{kind}``), ``location`` (the namespace)
and ``version`` for versioned kinds.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

import yaml

from schemas.json_types import Json
from workers.clouddriver.kubernetes import kinds
from workers.clouddriver.provider import OperationFailed

MAX_DOCUMENTS = 100
MAX_BYTES = 1024 * 1024
MONIKER = "moniker.spinnaker.io/"
ARTIFACT = "artifact.spinnaker.io/"
STRATEGY = "strategy.spinnaker.io/"
VERSION_SUFFIX = re.compile(r"^(?P<base>.+)-v(?P<sequence>\d{3})$")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_LAST_APPLIED = 128 * 1024
"""Bytes of recorded configuration at most: a manifest's annotations may not pass 256 KiB in all, so
a larger manifest is applied without the record (and its unchanged redeploy is a new version)."""


class ManifestRefused(OperationFailed):
    """A manifest refused before anything was applied."""


def _documents(item: Any, index: int) -> list[Any]:
    if isinstance(item, str):
        try:
            return [document for document in yaml.safe_load_all(item) if document is not None]
        except yaml.YAMLError as error:
            raise ManifestRefused(f"manifest {index}: the YAML does not parse: {error}") from None
    return [item]


def _artifact_text(context: Json) -> str:
    artifact = context.get("manifestArtifact")
    if not isinstance(artifact, dict) or artifact.get("type") != "embedded/base64":
        raise ManifestRefused(
            "source 'artifact' needs a 'manifestArtifact': an embedded/base64, http/file, github/file "
            "or gitlab/file artifact"
        )
    try:
        return base64.b64decode(str(artifact.get("reference") or ""), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise ManifestRefused(f"manifestArtifact: the reference is not base64 text: {error}") from None


def patch_documents(context: Json) -> list[Any]:
    """The documents of a ``patchManifest`` whose patch is an artifact (``source: artifact``): its YAML,
    each document as it is (a patch need not be a whole manifest)."""
    text = _artifact_text(context)
    try:
        return [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as error:
        raise ManifestRefused(f"the patch artifact's YAML does not parse: {error}") from None


def read(context: Json) -> list[Json]:
    """The stage's documents, checked (:class:`ManifestRefused` naming the first bad one)."""
    if context.get("source") == "artifact":
        items: list[Any] = [_artifact_text(context)]
    else:
        raw = context.get("manifests")
        if raw is None and isinstance(context.get("manifest"), dict | str):
            raw = [context["manifest"]]
        if not isinstance(raw, list) or not raw:
            raise ManifestRefused("deployManifest needs 'manifests': a list of Kubernetes manifests")
        items = raw
    if len(json.dumps(items, default=str)) > MAX_BYTES:
        raise ManifestRefused(f"the manifests are larger than {MAX_BYTES} bytes; split them over stages")
    documents: list[Any] = []
    for index, item in enumerate(items):
        for document in _documents(item, index):
            if isinstance(document, dict) and document.get("kind") == "List":
                documents.extend(document.get("items") or [])
            else:
                documents.append(document)
    if len(documents) > MAX_DOCUMENTS:
        raise ManifestRefused(f"{len(documents)} manifests in one stage; at most {MAX_DOCUMENTS}")
    for index, document in enumerate(documents):
        check(document, index)
    return documents


def check(document: Any, index: int) -> None:
    """Refuse a document that is not an object with ``kind``, ``apiVersion`` and ``metadata.name``."""
    if not isinstance(document, dict):
        raise ManifestRefused(f"manifest {index}: a manifest is an object, not {type(document).__name__}")
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ManifestRefused(f"manifest {index}: 'kind' is missing")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise ManifestRefused(f"manifest {index} ({kind}): 'metadata.name' is missing")
    if not isinstance(document.get("apiVersion"), str):
        raise ManifestRefused(f"manifest {index} ({kind} {metadata['name']}): 'apiVersion' is missing")


def notes_of(manifest: Json) -> dict[str, str]:
    """The manifest's annotations (empty when it has none)."""
    found = (manifest.get("metadata") or {}).get("annotations")
    return dict(found) if isinstance(found, dict) else {}


def is_versioned(manifest: Json) -> bool:
    """Whether the manifest is deployed as ``name-vNNN``: its kind's default unless
    ``strategy.spinnaker.io/versioned`` says ``"true"`` or ``"false"``."""
    asked = notes_of(manifest).get(f"{STRATEGY}versioned")
    if asked in ("true", "false"):
        return asked == "true"
    return str(manifest.get("kind", "")).lower() in kinds.VERSIONED


def version_name(base: str, sequence: int) -> str:
    """``web-v003``."""
    return f"{base}-v{sequence:03d}"


def sequence_of(name: str, base: str) -> int | None:
    """The version number of ``name`` if it is a version of ``base``."""
    found = VERSION_SUFFIX.match(name)
    return int(found.group("sequence")) if found and found.group("base") == base else None


def annotate(manifest: Json, *, application: str, moniker: Json, namespace: str) -> Json:
    """A copy in ``namespace`` with the moniker and artifact annotations (the manifest's own moniker
    annotations win over the stage's moniker, except the application, which is the pipeline's)."""
    result = copy.deepcopy(manifest)
    metadata = result.setdefault("metadata", {})
    kind, name = str(result["kind"]), str(metadata["name"])
    if result.get("kind") != "Namespace":
        metadata["namespace"] = namespace
    notes = notes_of(result)
    notes[f"{MONIKER}application"] = application
    notes.setdefault(f"{MONIKER}cluster", str(moniker.get("cluster") or f"{kind[:1].lower()}{kind[1:]} {name}"))
    for part in ("stack", "detail"):
        if moniker.get(part):
            notes.setdefault(f"{MONIKER}{part}", str(moniker[part]))
    notes[f"{ARTIFACT}name"] = name
    notes[f"{ARTIFACT}type"] = f"kubernetes/{kind[:1].lower()}{kind[1:]}"
    notes[f"{ARTIFACT}location"] = namespace
    metadata["annotations"] = notes
    return result


def moniker_of(item: Json) -> Json:
    """Spinnaker's moniker from the ``moniker.spinnaker.io/*`` annotations (``app`` for ``application``)."""
    notes = notes_of(item)
    found: Json = {}
    for part in ("application", "cluster", "stack", "detail", "sequence"):
        value = notes.get(f"{MONIKER}{part}")
        if value:
            found["app" if part == "application" else part] = (
                int(value) if part == "sequence" and value.isdigit() else value
            )
    return found


def application_of(manifest: Json) -> str | None:
    """The ``moniker.spinnaker.io/application`` a live manifest carries."""
    return notes_of(manifest).get(f"{MONIKER}application")


def rename(manifest: Json, name: str, sequence: int) -> Json:
    """The versioned copy: ``metadata.name`` = ``name``, with ``artifact.spinnaker.io/version`` and
    ``moniker.spinnaker.io/sequence``; a ReplicaSet's pod template carries the sequence too."""
    result = copy.deepcopy(manifest)
    result["metadata"]["name"] = name
    notes = notes_of(result)
    notes[f"{ARTIFACT}version"] = f"v{sequence:03d}"
    notes[f"{MONIKER}sequence"] = str(sequence)
    result["metadata"]["annotations"] = notes
    return result


REFERENCES = {
    "configmap": (("configMap", "name"), ("configMapRef", "name"), ("configMapKeyRef", "name")),
    "secret": (("secret", "secretName"), ("secretRef", "name"), ("secretKeyRef", "name")),
}


def rewrite_references(manifest: Json, renamed: dict[tuple[str, str], str]) -> Json:
    """A copy whose references to ConfigMaps and Secrets deployed as new versions name the
    versions (``volumes[].configMap.name``, ``envFrom[].configMapRef``, ``env[].valueFrom.secretKeyRef``…)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        result = {key: walk(value) for key, value in node.items()}
        for kind, places in REFERENCES.items():
            for holder, field in places:
                target = result.get(holder)
                if isinstance(target, dict) and (kind, target.get(field)) in renamed:
                    result[holder] = {**target, field: renamed[(kind, str(target.get(field)))]}
        return result

    return walk(manifest)  # type: ignore[no-any-return]


def manifest_name(manifest: Json) -> str:
    """Spinnaker's ``"{kind} {name}"`` with the kind in lower camel case: ``deployment web``."""
    kind = str(manifest.get("kind", ""))
    return f"{kind[:1].lower()}{kind[1:]} {manifest['metadata']['name']}"


def split_name(text: str) -> tuple[str, str]:
    """``"deployment web"`` → ``("Deployment", "web")``; :class:`OperationFailed` if it is not that shape."""
    kind, _, name = text.strip().partition(" ")
    if not kind or not name.strip():
        raise OperationFailed(f"manifestName {text!r} must be '<kind> <name>', e.g. 'deployment web'")
    return kinds.canonical(kind), name.strip()


def with_last_applied(manifest: Json) -> Json:
    """A copy recording itself in ``kubectl.kubernetes.io/last-applied-configuration``, as ``kubectl
    apply`` records what it applied: what the API server stores differs from what was sent (defaults,
    a Secret's ``stringData`` folded into ``data``), so only the record tells whether a redeploy is
    unchanged. Left out when it would be over :data:`MAX_LAST_APPLIED` bytes."""
    result = copy.deepcopy(manifest)
    notes = notes_of(result)
    notes.pop(LAST_APPLIED, None)
    result.setdefault("metadata", {})["annotations"] = notes
    record = json.dumps({k: v for k, v in result.items() if k != "status"}, sort_keys=True, separators=(",", ":"))
    if len(record) <= MAX_LAST_APPLIED:
        result["metadata"]["annotations"] = {**notes, LAST_APPLIED: record + "\n"}
    return result


def last_applied(live: Json) -> Json | None:
    """The configuration last applied to ``live`` (:func:`with_last_applied`), or ``None``."""
    text = notes_of(live).get(LAST_APPLIED)
    if not isinstance(text, str):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def same_configuration(applied: Json | None, manifest: Json) -> bool:
    """Whether ``manifest`` asks for what ``applied`` did, all but ``metadata`` (as Spinnaker compares
    versions: metadata does not change what runs)."""
    if applied is None:
        return False
    return {k: v for k, v in applied.items() if k not in ("metadata", "status")} == {
        k: v for k, v in manifest.items() if k not in ("metadata", "status")
    }
