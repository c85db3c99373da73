"""Orca's canary server groups: a ``kayentaCanary`` stage with ``deployments`` deploys its own
baseline and canary, judges them, and removes them (``DeployCanaryServerGroupsStage``,
``PropagateDeployedServerGroupScopes``, ``CleanupCanaryClustersStage``).

``deployments`` is Orca's: ``serverGroupPairs`` (each a ``control`` and an ``experiment`` cluster
config, as a deploy stage's ``clusters`` hold them), ``baseline`` (the production cluster the
control copies) and ``delayBeforeCleanup`` (ISO-8601 or seconds). ``Deploy Canary Server Groups``
runs two deploys side by side — ``Deploy control server groups`` and ``Deploy experiment server
groups``, highlander unless a cluster says otherwise — then ``propagateDeployedServerGroupScopes``
records each pair's new server groups (``deployedServerGroups``: ``controlScope``,
``controlLocation``, ``experimentScope``, ``experimentLocation``), which the intervals judge in
place of the scopes' own names. Whether the canary passes or fails, ``Cleanup Canary Clusters``
disables both clusters of every pair (a failure there does not stop the rest), waits
``delayBeforeCleanup`` for a look, and shrinks them to nothing.

Orca first finds the baseline cluster's image (``findImageFromCluster``); Gennaker has no such
stage yet, so a control cluster config must name its artifact itself (for the ``local`` provider,
its ``command``), and ``controlAccountId``/``experimentAccountId`` are not looked up.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.stages.canary.settings import CanaryConfigInvalid, duration_ms
from workers.orca.engine.stages.deploy import cluster

DEPLOY_CANARY_SERVER_GROUPS = "deployCanaryServerGroups"
CLEANUP_CANARY_CLUSTERS = "cleanupCanaryClusters"
DEPLOY_CONTROL = "Deploy control server groups"
DEPLOY_EXPERIMENT = "Deploy experiment server groups"


def has_deployments(context: Json) -> bool:
    """Whether a ``kayentaCanary`` stage deploys its own server groups."""
    return context.get("deployments") is not None


def server_group_pairs(context: Json) -> list[tuple[Json, Json]]:
    """``deployments.serverGroupPairs`` as (control, experiment) cluster configs."""
    deployments = context.get("deployments")
    pairs = deployments.get("serverGroupPairs") if isinstance(deployments, dict) else None
    if not isinstance(pairs, list) or not pairs:
        raise CanaryConfigInvalid("deployments.serverGroupPairs must list at least one control/experiment pair")
    found: list[tuple[Json, Json]] = []
    for index, pair in enumerate(pairs):
        control = pair.get("control") if isinstance(pair, dict) else None
        experiment = pair.get("experiment") if isinstance(pair, dict) else None
        if not isinstance(control, dict) or not isinstance(experiment, dict):
            raise CanaryConfigInvalid(f"deployments.serverGroupPairs[{index}] needs a control and an experiment")
        found.append((control, experiment))
    return found


def cluster_of(spec: Json, application: str) -> str:
    """The cluster a spec deploys to: its moniker's, else Frigga's name of app-stack-detail."""
    moniker = spec.get("moniker")
    if isinstance(moniker, dict) and moniker.get("cluster"):
        return str(moniker["cluster"])
    return cluster.cluster_name(spec, application)


def _canary_stage(stage: Stage, execution: Execution) -> Stage:
    parent = execution.parent(stage)
    if parent is None or parent.type != "kayentaCanary":
        raise ValueError(f"{stage.type} should be the child of a kayentaCanary stage")
    return parent


class DeployCanaryServerGroupsStage:
    """``deployCanaryServerGroups``: the control and experiment deploys, then their scopes."""

    type = DEPLOY_CANARY_SERVER_GROUPS

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (PropagateDeployedServerGroupScopes(),)

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        pairs = server_group_pairs(_canary_stage(stage, execution).context)
        return [
            {
                "refId": side,
                "type": "deploy",
                "name": name,
                "clusters": [{"strategy": "highlander", **pair[index]} for pair in pairs],
            }
            for index, (side, name) in enumerate((("control", DEPLOY_CONTROL), ("experiment", DEPLOY_EXPERIMENT)))
        ]


def _deployed(stage: Stage) -> tuple[str | None, str | None]:
    groups = stage.outputs.get("deploy.server.groups")
    if isinstance(groups, dict):
        for location, names in groups.items():
            if isinstance(names, list) and names:
                return str(location), str(names[0])
    return None, cluster.new_server_group(stage)


class PropagateDeployedServerGroupScopes:
    """Orca's task of that name: each pair's new control and experiment server group and region."""

    name = "propagateDeployedServerGroupScopes"

    def run(self, run: TaskRun) -> TaskResult:
        execution = run.execution
        deploys = {child.name: child for child in execution.children(run.stage, "before")}
        if DEPLOY_CONTROL not in deploys or DEPLOY_EXPERIMENT not in deploys:
            return TaskResult.terminal(f"Could not find stage {DEPLOY_CONTROL} or {DEPLOY_EXPERIMENT}.")
        controls = execution.children(deploys[DEPLOY_CONTROL], "before")
        experiments = execution.children(deploys[DEPLOY_EXPERIMENT], "before")
        scopes: list[Json] = []
        for control, experiment in zip(controls, experiments, strict=False):
            control_location, control_scope = _deployed(control)
            experiment_location, experiment_scope = _deployed(experiment)
            scopes.append(
                {
                    "controlLocation": control_location,
                    "controlScope": control_scope,
                    "controlAccountId": None,
                    "experimentLocation": experiment_location,
                    "experimentScope": experiment_scope,
                    "experimentAccountId": None,
                }
            )
        return TaskResult.succeeded(outputs={"deployedServerGroups": scopes})


def deployed_scopes(stage: Stage, execution: Execution) -> Json | None:
    """The first pair ``Deploy Canary Server Groups`` made, for the intervals of the canary owning ``stage``."""
    if stage.parent_stage_id is None:
        return None
    for sibling in execution.stages:
        if sibling.type == DEPLOY_CANARY_SERVER_GROUPS and sibling.parent_stage_id == stage.parent_stage_id:
            found = sibling.outputs.get("deployedServerGroups")
            if isinstance(found, list) and found and isinstance(found[0], dict):
                return dict(found[0])
    return None


def _where(spec: Json, application: str) -> Json:
    where: Json = {
        "cloudProvider": spec.get("cloudProvider"),
        "credentials": cluster.account(spec),
        "cluster": cluster_of(spec, application),
        "moniker": spec.get("moniker"),
        "regions": cluster.regions(spec),
    }
    return {key: value for key, value in where.items() if value not in (None, [])}


class CleanupCanaryClustersStage:
    """``cleanupCanaryClusters``: disable both clusters of every pair, wait, then destroy them."""

    type = CLEANUP_CANARY_CLUSTERS

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return ()

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        canary = _canary_stage(stage, execution)
        application = execution.application
        pairs = server_group_pairs(canary.context)
        deployments = canary.context.get("deployments") or {}
        delay = duration_ms(deployments.get("delayBeforeCleanup"), "deployments.delayBeforeCleanup") or 0
        steps: list[Json] = []
        disables: list[str] = []
        for index, pair in enumerate(pairs):
            for side, spec in zip(("control", "experiment"), pair, strict=True):
                ref = f"disable-{side}-{index}"
                disables.append(ref)
                steps.append(
                    {
                        "refId": ref,
                        "type": "disableCluster",
                        "name": f"Disable {side} cluster {cluster_of(spec, application)}",
                        **_where(spec, application),
                        "remainingEnabledServerGroups": 0,
                        "continuePipeline": True,
                    }
                )
        steps.append(
            {
                "refId": "wait",
                "requisiteStageRefIds": disables,
                "type": "wait",
                "name": "Wait before cleanup",
                "waitTime": delay / 1000,
            }
        )
        for index, pair in enumerate(pairs):
            for side, spec in zip(("control", "experiment"), pair, strict=True):
                steps.append(
                    {
                        "refId": f"shrink-{side}-{index}",
                        "requisiteStageRefIds": ["wait"],
                        "type": "shrinkCluster",
                        "name": f"Cleanup {side} cluster {cluster_of(spec, application)}",
                        **_where(spec, application),
                        "allowDeleteActive": True,
                        "shrinkToSize": 0,
                        "continuePipeline": True,
                    }
                )
        return steps
