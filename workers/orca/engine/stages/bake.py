"""``bake``: Orca's bake stage, one ``Bake in <region>`` child per region, each baked by Rosco.

The top-level stage plans its children when it starts (Orca's ``BakeStage``): the regions are its
``region`` and ``regions`` plus, unless ``skipRegionDetection`` (or the region ``global``), the
regions of the deploy stages downstream whose clusters deploy to the bake's cloud provider
(``cloudProviderType``, default ``aws`` as in Orca). Each child gets the parent's context with its
``region`` and an ``amiSuffix`` defaulted from the stage's start (``yyyyMMddHHmmss``, UTC), so every
region's image has the same name. A child's one task is Rosco's (``orca.RunExternalTask``, stage
type ``bake``): Rosco builds the BakeRequest, bakes or answers from its cache, and puts Orca's
``CompletedBakeTask`` keys (``ami``, ``imageId``, ``imageName``, ``artifacts``) in the child's
context; a failed bake fails the child with the last lines of its log. The parent's task,
``completeParallel``, gathers the children into ``deploymentDetails`` (Orca's fields), which a
following deploy reads (:mod:`~workers.orca.engine.stages.deploy.upstream_image`). Cancelling the
pipeline ends the stages, and Rosco cancels a region's bake when it sees its stage end, unless
another execution still waits for the same (cached) bake (:mod:`workers.rosco.bakery.handlers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from schemas.json_types import Json
from workers.orca.engine import graph
from workers.orca.engine.model import Execution, Stage, now_ms
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.stages.deploy import cluster
from workers.orca.engine.stages.external import ExternalTask

BAKE = "bake"
ROSCO = "rosco"
DEPLOYMENT_DETAILS_FIELDS = (
    "ami",
    "amiName",
    "imageId",
    "imageName",
    "amiSuffix",
    "baseLabel",
    "baseOs",
    "refId",
    "storeType",
    "vmType",
    "region",
    "package",
    "cloudProviderType",
    "cloudProvider",
    "baseAmiId",
)
"""What Orca's ``CompleteParallelBakeTask`` copies from each region's bake."""
DEPLOY_TYPES = ("deploy", "createServerGroup", "cloneServerGroup")


def _regions_downstream(execution: Execution, stage: Stage) -> list[str]:
    provider = str(stage.context.get("cloudProviderType") or "aws")
    found: list[str] = []
    for following in graph.all_downstream(execution, stage):
        if following.type not in DEPLOY_TYPES:
            continue
        configs = following.context.get("clusters") if following.type == "deploy" else [following.context]
        for config in configs if isinstance(configs, list) else []:
            if not isinstance(config, dict):
                continue
            if str(config.get("cloudProvider") or config.get("provider") or "aws") != provider:
                continue
            found.extend(region for region in cluster.regions(config) if region not in found)
    return found


def regions(execution: Execution, stage: Stage) -> list[str]:
    """The regions to bake in (see the module docstring)."""
    found: list[str] = []
    if isinstance(stage.context.get("region"), str) and stage.context["region"]:
        found.append(stage.context["region"])
    listed = stage.context.get("regions")
    for region in listed if isinstance(listed, list) else []:
        if isinstance(region, str) and region and region not in found:
            found.append(region)
    if "global" not in found and stage.context.get("skipRegionDetection") is not True:
        found.extend(region for region in _regions_downstream(execution, stage) if region not in found)
    return found


def ami_suffix(stage: Stage, execution: Execution) -> str:
    """The stage's ``amiSuffix``, else its start time as Orca formats it."""
    given = stage.context.get("amiSuffix")
    if isinstance(given, str | int) and str(given):
        return str(given)
    started = stage.start_time or execution.start_time or now_ms()
    return datetime.fromtimestamp(started / 1000, UTC).strftime("%Y%m%d%H%M%S")


class CompleteParallelBakeTask:
    """Orca's ``CompleteParallelBakeTask``: the children's images as ``deploymentDetails``."""

    name = "completeParallel"

    def run(self, run: TaskRun) -> TaskResult:
        children = [child for child in run.execution.children(run.stage, "before") if child.type == BAKE]
        details: list[Json] = []
        for child in children:
            context = {**child.context, **child.outputs}
            if context.get("ami") or context.get("imageId"):
                details.append({key: context[key] for key in DEPLOYMENT_DETAILS_FIELDS if key in context})
        return TaskResult.succeeded(outputs={"deploymentDetails": details})


class BakeStage:
    """``bake``: the top-level stage plans one child per region and gathers them; a child bakes."""

    type = BAKE

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        if stage.parent_stage_id is None:
            return (CompleteParallelBakeTask(),)
        return (ExternalTask(ROSCO, None, stage_type=BAKE),)

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        if stage.parent_stage_id is not None:
            return []
        found = regions(execution, stage)
        if not found:
            raise ValueError(
                "a bake stage needs a region: set 'region' or 'regions', or deploy the image downstream "
                "(its clusters' regions are baked in unless skipRegionDetection)"
            )
        suffix = ami_suffix(stage, execution)
        carried = {
            key: value
            for key, value in stage.context.items()
            if key not in ("regions", "skipRegionDetection", "refId", "requisiteStageRefIds", "name", "type")
        }
        return [
            {
                **carried,
                "refId": str(index + 1),
                "type": BAKE,
                "name": f"Bake in {region}",
                "region": region,
                "amiSuffix": suffix,
            }
            for index, region in enumerate(found)
        ]
