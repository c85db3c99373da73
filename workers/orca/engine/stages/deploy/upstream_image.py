"""The image a deploy takes from the stages before it, as Orca's ``DeploymentDetailsAware`` finds it.

A cluster config that names no image (``amiName``, ``imageId``, ``image``; Deck's "use image from
upstream bake") deploys the image an upstream ``bake`` or ``findImage`` stage produced: the nearest
ancestor whose outputs hold ``deploymentDetails`` with an entry for the cluster's region (and its
cloud provider, when both say), whose ``imageId`` / ``ami`` becomes the cluster's ``amiName`` and
``imageId``. A cluster that names its image keeps it.
"""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.deploy import cluster
from workers.orca.expressions.ancestors import ancestors

IMAGE_KEYS = ("amiName", "imageId", "image")


def _details(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _provider(detail: Json) -> str | None:
    value = detail.get("cloudProviderType") or detail.get("cloudProvider")
    return str(value) if value else None


def upstream_detail(execution: Execution, stage: Stage, region: str | None, provider: str | None) -> Json | None:
    """The nearest ancestor's ``deploymentDetails`` entry for ``region`` and ``provider``."""
    fields = {"id", "ref_id", "parent_stage_id", "synthetic_stage_owner", "requisite_stage_ref_ids", "outputs"}
    stages = [other.model_dump(by_alias=True, include=fields) for other in execution.stages]
    own = next((item for item in stages if item.get("id") == stage.id), None)
    if own is None:
        return None
    for ancestor in ancestors(own, stages):
        if ancestor.get("id") == stage.id:
            continue
        outputs = ancestor.get("outputs") if isinstance(ancestor.get("outputs"), dict) else {}
        for detail in _details((outputs or {}).get("deploymentDetails")):
            if region and detail.get("region") not in (None, region):
                continue
            if provider and _provider(detail) not in (None, provider):
                continue
            if detail.get("imageId") or detail.get("ami"):
                return detail
    return None


def with_image(execution: Execution, stage: Stage) -> Json:
    """The stage's cluster config, with the upstream image when it names none."""
    context = stage.context
    if any(context.get(key) for key in IMAGE_KEYS):
        return context
    regions = cluster.regions(context)
    provider = context.get("cloudProvider") or context.get("provider")
    detail = upstream_detail(execution, stage, regions[0] if regions else None, str(provider) if provider else None)
    if detail is None:
        return context
    image = detail.get("imageId") or detail.get("ami")
    return {**context, "amiName": image, "imageId": image}
