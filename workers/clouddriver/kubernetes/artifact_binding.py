"""``docker/image`` artifacts bound into manifests, as Clouddriver's artifact replacement does.

A deploy receives the stage's ``requiredArtifacts`` and ``optionalArtifacts`` (bound by Orca). Every
container and init container of a Pod, of a workload's pod template, or of a CronJob's job template
whose ``image`` is exactly a ``docker/image`` artifact's ``name`` (``acme/shop``, no tag) runs that
artifact's ``reference`` (``acme/shop:v9``) instead; required artifacts are tried first. A required
artifact that no image took fails the deploy before anything is applied, in Spinnaker's words.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

from schemas.json_types import Json


def pod_specs(manifest: Json) -> Iterator[Json]:
    """The pod specs a workload's manifest holds: a Pod's own, a controller's template, a CronJob's job template."""
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return
    if manifest.get("kind") == "Pod":
        yield spec
        return
    if manifest.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    if isinstance(pod, dict):
        yield pod


def _key(artifact: Json) -> tuple[Any, ...]:
    return tuple(artifact.get(field) for field in ("type", "name", "version", "location", "reference"))


def shown(artifact: Json) -> str:
    """An artifact as Spinnaker's messages show it."""
    fields = ", ".join(
        f"{field}={artifact.get(field)}" for field in ("type", "name", "version", "location", "reference")
    )
    return f"ArtifactKey({fields})"


def bind_images(manifest: Json, artifacts: Sequence[Json]) -> tuple[Json, list[Json]]:
    """``manifest`` with its images replaced by the first matching ``docker/image`` artifact, and the
    artifacts it used (each once)."""
    images = [
        artifact
        for artifact in artifacts
        if artifact.get("type") == "docker/image" and artifact.get("name") and artifact.get("reference")
    ]
    if not images:
        return manifest, []
    bound: list[Json] = []
    replaced = copy.deepcopy(manifest)
    for pod in pod_specs(replaced):
        for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            if not isinstance(container, dict):
                continue
            artifact = next((item for item in images if item["name"] == container.get("image")), None)
            if artifact is None:
                continue
            container["image"] = artifact["reference"]
            if all(_key(item) != _key(artifact) for item in bound):
                bound.append(artifact)
    return replaced, bound


def unbound(required: Sequence[Json], bound: Sequence[Json]) -> list[Json]:
    """The ``required`` artifacts that no manifest used."""
    used = {_key(item) for item in bound}
    return [item for item in required if _key(item) not in used]
