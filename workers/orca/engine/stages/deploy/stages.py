"""``deploy``, ``createServerGroup`` and ``cloneServerGroup``: a create in Clouddriver, then the
strategy's steps, each a synthetic stage; ``rollback.onFailure`` and the saga restore the server
group the create replaced.

``deploy`` holds ``clusters`` (one cluster config each) and runs one ``createServerGroup`` per
cluster, in parallel, as its before-stages, as Orca's ``DeployStage`` does. A cluster's own
``rollback`` wins over the deploy's.

On failure with ``rollback: {onFailure: true}`` (a failed health check, a failed strategy step),
the failure stage is ``rollbackServerGroup`` (``EXPLICIT``: the replaced server group restored and
enabled first, then the new one disabled) — or, on a first deploy, ``disableServerGroup`` of the new
one. The same steps are the compensation when a later stage fails a pipeline that asks for the saga.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.clouddriver_operations import STAGE_TYPES as CLOUDDRIVER_OPERATIONS
from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import StageDefinition, TaskDefinition
from workers.orca.engine.stages.deploy import cluster, strategies, upstream_image
from workers.orca.engine.stages.external import ExternalTask

CLOUDDRIVER = "clouddriver"
COMPOSED_IN_ORCA = ("createServerGroup", "cloneServerGroup", "clusterSize")
CLOUDDRIVER_STAGE_TYPES = tuple(kind for kind in CLOUDDRIVER_OPERATIONS if kind not in COMPOSED_IN_ORCA)
"""The atomic stage types Clouddriver provides that pipelines use as they are (``orca.RunExternalTask`` to
``clouddriver``); creates and clones are Orca's deploy stages around Clouddriver's operation, and
``clusterSize`` is a step of ``checkPreconditions``."""
HEARTBEAT_MS = 60_000
"""A Clouddriver operation that has not been heard of for this long is lost (it heartbeats every few seconds)."""


class CreateServerGroupStage:
    """``createServerGroup`` / ``cloneServerGroup``: Clouddriver creates and waits for health; the
    strategy's steps follow."""

    def __init__(self, type: str = "createServerGroup") -> None:
        self.type = type

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        strategy = stage.context.get("strategy") or ""
        if strategy not in strategies.STRATEGIES:
            raise ValueError(f"strategy {strategy!r} is not one of highlander, redblack, rollingredblack, none")
        return (ExternalTask(CLOUDDRIVER, HEARTBEAT_MS, shape_in=_create_context),)

    def after_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        return strategies.after_create(stage, execution.application)

    def failure_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        return restore(stage, execution.application)

    def compensation(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        return restore(stage, execution.application)


class DeployStage:
    """``deploy``: one ``createServerGroup`` per cluster of ``clusters``, in parallel."""

    type = "deploy"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return ()

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        clusters = stage.context.get("clusters")
        if not isinstance(clusters, list) or not clusters or not all(isinstance(c, dict) for c in clusters):
            raise ValueError("a deploy stage needs 'clusters': a list of cluster configs")
        inherited = {key: stage.context[key] for key in ("rollback",) if key in stage.context}
        return [
            {
                **inherited,
                **config,
                "refId": str(index + 1),
                "type": "createServerGroup",
                "name": f"Deploy {cluster.cluster_name(config, execution.application)}",
            }
            for index, config in enumerate(clusters)
        ]

    def compensation(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        steps: list[Json] = []
        for child in execution.children(stage, "before"):
            if child.type == "createServerGroup" and child.status.lets_downstream_run:
                steps.extend(restore(child, execution.application))
        return steps


def restore(stage: Stage, application: str) -> list[Json]:
    """Put back what the create ``stage`` replaced: the old server group enabled, the new one disabled."""
    new = cluster.new_server_group(stage)
    if new is None:
        return []  # nothing was created
    where = {**cluster.location(stage, application), **strategies.carried(stage, *strategies.TASK_SETTINGS)}
    old = cluster.replaced_server_group(stage)
    if old is None:
        return [{"type": "disableServerGroup", "name": f"Disable {new}", **where, "serverGroupName": new}]
    return [
        {
            "type": "rollbackServerGroup",
            "name": f"Roll back to {old}",
            **where,
            "rollbackType": "EXPLICIT",
            "rollbackContext": {"rollbackServerGroupName": new, "restoreServerGroupName": old},
        }
    ]


def deploy_stage_types() -> list[StageDefinition]:
    """The composed deploy stage types Orca defines itself."""
    return [DeployStage(), CreateServerGroupStage("createServerGroup"), CreateServerGroupStage("cloneServerGroup")]


def _create_context(execution: Execution, stage: Stage) -> Json:
    """What Clouddriver is asked to create: the image from an upstream bake or findImage when the
    cluster names none; a rolling red/black starts with no instances."""
    context = upstream_image.with_image(execution, stage)
    if context.get("strategy") != "rollingredblack":
        return context
    target = strategies.target_capacity(stage)
    return {**context, "capacity": {"min": 0, "max": target["max"], "desired": 0}, "targetCapacity": target}
