"""Clouddriver's operations by Orca stage type; each runs on any provider through its atomic operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from schemas.clouddriver_operations import FETCH_MANIFEST_ARTIFACT
from workers.clouddriver.operations.artifacts import fetch_manifest_artifact
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.operations.cluster_size import cluster_size
from workers.clouddriver.operations.clusters import disable_cluster, scale_down_cluster, shrink_cluster
from workers.clouddriver.operations.deploy import clone_server_group, create_server_group
from workers.clouddriver.operations.images import find_image
from workers.clouddriver.operations.load_balancers import delete_load_balancer, upsert_load_balancer
from workers.clouddriver.operations.manifests import (
    delete_manifest,
    deploy_manifest,
    find_artifacts_from_resource,
    patch_manifest,
    rolling_restart_manifest,
    run_job_manifest,
    scale_manifest,
    undo_rollout_manifest,
)
from workers.clouddriver.operations.rollback import rollback_server_group
from workers.clouddriver.operations.server_groups import (
    destroy_server_group,
    disable_server_group,
    enable_server_group,
    resize_server_group,
    terminate_instances,
)

Operation = Callable[[OperationRun], Awaitable[Outcome]]

OPERATIONS: dict[str, Operation] = {
    "createServerGroup": create_server_group,
    "cloneServerGroup": clone_server_group,
    "resizeServerGroup": resize_server_group,
    "enableServerGroup": enable_server_group,
    "disableServerGroup": disable_server_group,
    "destroyServerGroup": destroy_server_group,
    "rollbackServerGroup": rollback_server_group,
    "terminateInstances": terminate_instances,
    "upsertLoadBalancer": upsert_load_balancer,
    "deleteLoadBalancer": delete_load_balancer,
    "disableCluster": disable_cluster,
    "scaleDownCluster": scale_down_cluster,
    "shrinkCluster": shrink_cluster,
    "findImage": find_image,
    "findImageFromTags": find_image,
    "clusterSize": cluster_size,
    "deployManifest": deploy_manifest,
    "deleteManifest": delete_manifest,
    "scaleManifest": scale_manifest,
    "patchManifest": patch_manifest,
    "rollingRestartManifest": rolling_restart_manifest,
    "findArtifactsFromResource": find_artifacts_from_resource,
    "runJobManifest": run_job_manifest,
    "undoRolloutManifest": undo_rollout_manifest,
    FETCH_MANIFEST_ARTIFACT: fetch_manifest_artifact,
}
"""The operation run for each stage type (the keys are :data:`schemas.clouddriver_operations.STAGE_TYPES`
and :data:`~schemas.clouddriver_operations.TASK_TYPES`)."""

__all__ = ["OPERATIONS", "Operation", "OperationRun", "Outcome"]
