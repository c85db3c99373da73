"""One live manifest as Gate's ``/manifests/{account}/{location}/{name}`` shows it (Clouddriver's manifest container).

The object as the API server returns it, with what Deck's manifest views read beside it:

* ``status``: four conditions, each ``{"state": bool, "message": str | None}``, as Clouddriver's
  handlers report them — ``stable`` and ``failed`` by the rules of
  :mod:`workers.clouddriver.kubernetes.stability`, ``paused`` (a Deployment with ``spec.paused``)
  and ``available`` (false while a Deployment's ``Available`` condition is ``False``);
* ``artifacts``: what the manifest runs and reads: a ``docker/image`` per container image (its
  name without tag or digest), a ``kubernetes/configMap`` or ``kubernetes/secret`` per ConfigMap
  or Secret its pod template mounts or reads into its environment;
* ``events``: the namespace's Events about the object, oldest first (at most :data:`MAX_EVENTS`,
  the latest);
* ``warnings`` and ``metrics``: empty (no metrics server is read).

A Secret's ``data`` and ``stringData`` values are hidden (:data:`schemas.secrets.MARKER`), with the
``kubectl.kubernetes.io/last-applied-configuration`` annotation that may repeat them.
"""

from __future__ import annotations

import copy
from typing import Any

from schemas.json_types import Json
from schemas.secrets import MARKER, redact
from workers.clouddriver.kubernetes import stability
from workers.clouddriver.kubernetes.artifact_binding import pod_specs
from workers.clouddriver.kubernetes.manifests import manifest_name

MAX_EVENTS = 100
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REFERENCES = (
    ("kubernetes/configMap", ("configMap", "name")),
    ("kubernetes/secret", ("secret", "secretName")),
)
"""Volumes naming a ConfigMap or a Secret: the artifact type and where the name is."""
ENV_REFERENCES = (
    ("kubernetes/configMap", "configMapKeyRef"),
    ("kubernetes/secret", "secretKeyRef"),
)
ENV_FROM = (("kubernetes/configMap", "configMapRef"), ("kubernetes/secret", "secretRef"))


def _condition(state: bool, message: str | None = None) -> Json:
    return {"state": state, "message": message or None}


def status_of(manifest: Json) -> Json:
    """Clouddriver's ``status`` of a live manifest."""
    judged = stability.judge(manifest)
    spec: Json = manifest.get("spec") or {}
    status: Json = manifest.get("status") or {}
    kind = manifest.get("kind")
    paused = kind == "Deployment" and bool(spec.get("paused"))
    available = _condition(True)
    if kind == "Deployment":
        down = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Available" and c.get("status") == "False"),
            None,
        )
        if down is not None:
            available = _condition(False, str(down.get("message") or down.get("reason") or "not available"))
    return {
        "stable": _condition(judged.stable, None if judged.stable else judged.failed or judged.waiting),
        "paused": _condition(paused, "the rollout is paused" if paused else None),
        "available": available,
        "failed": _condition(judged.failed is not None, judged.failed),
    }


def _image_name(reference: str) -> str:
    """A Docker image reference without its digest or tag (``registry:5000/web:1`` → ``registry:5000/web``)."""
    bare = reference.split("@", 1)[0]
    return bare.rsplit(":", 1)[0] if ":" in bare.rsplit("/", 1)[-1] else bare


def _dicts(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def artifacts_of(manifest: Json) -> list[Json]:
    """The ``docker/image``, ``kubernetes/configMap`` and ``kubernetes/secret`` artifacts a manifest uses."""
    found: dict[tuple[str, str], Json] = {}

    def add(kind: str, reference: Any, name: str | None = None) -> None:
        if isinstance(reference, str) and reference:
            found.setdefault((kind, reference), {"type": kind, "name": name or reference, "reference": reference})

    for pod in pod_specs(manifest):
        containers = [*_dicts(pod.get("initContainers")), *_dicts(pod.get("containers"))]
        for container in containers:
            image = container.get("image")
            if isinstance(image, str):
                add("docker/image", image, _image_name(image))
        for volume in _dicts(pod.get("volumes")):
            for kind, (holder, field) in REFERENCES:
                add(kind, (volume.get(holder) or {}).get(field))
            for source in _dicts((volume.get("projected") or {}).get("sources")):
                add("kubernetes/configMap", (source.get("configMap") or {}).get("name"))
                add("kubernetes/secret", (source.get("secret") or {}).get("name"))
        for container in containers:
            for variable in _dicts(container.get("env")):
                for kind, holder in ENV_REFERENCES:
                    add(kind, ((variable.get("valueFrom") or {}).get(holder) or {}).get("name"))
            for source in _dicts(container.get("envFrom")):
                for kind, holder in ENV_FROM:
                    add(kind, (source.get(holder) or {}).get("name"))
    return list(found.values())


def about(events: list[Json], manifest: Json) -> list[Json]:
    """The ``events`` whose ``involvedObject`` is ``manifest``, oldest first, the latest :data:`MAX_EVENTS`."""
    meta = manifest["metadata"]

    def concerns(event: Json) -> bool:
        involved = event.get("involvedObject") or {}
        return (
            involved.get("kind") == manifest.get("kind")
            and involved.get("name") == meta.get("name")
            and (not involved.get("uid") or not meta.get("uid") or involved.get("uid") == meta.get("uid"))
        )

    def when(event: Json) -> tuple[int, str]:
        stamp = event.get("lastTimestamp") or event.get("firstTimestamp") or event.get("eventTime")
        return (0, str(stamp)) if stamp else (1, "")

    return sorted((event for event in events if concerns(event)), key=when)[-MAX_EVENTS:]


def hidden(manifest: Json) -> Json:
    """The manifest with a Secret's values hidden (see the module)."""
    if manifest.get("kind") != "Secret":
        return manifest
    shown = copy.deepcopy(manifest)
    for key in ("data", "stringData"):
        if isinstance(shown.get(key), dict):
            shown[key] = dict.fromkeys(shown[key], MARKER)
    notes = (shown.get("metadata") or {}).get("annotations")
    if isinstance(notes, dict) and LAST_APPLIED in notes:
        notes[LAST_APPLIED] = MARKER
    return shown


def container(account: str, manifest: Json, events: list[Json], moniker: Json) -> Json:
    """Clouddriver's manifest container of ``manifest`` in ``account`` (secrets hidden)."""
    shown = hidden(manifest)
    found: Json = redact(
        {
            "account": account,
            "name": manifest_name(manifest),
            "location": manifest["metadata"].get("namespace", ""),
            "moniker": moniker,
            "manifest": shown,
            "status": status_of(manifest),
            "artifacts": artifacts_of(manifest),
            "events": about(events, manifest),
            "warnings": [],
            "metrics": [],
        }
    )
    return found
