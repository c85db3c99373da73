"""Deploy stages: Spinnaker's ``deploy``, ``createServerGroup`` and ``cloneServerGroup`` with their
strategies, composed in Orca of Clouddriver's atomic operations (run by message contract).

* :mod:`.cluster` — reading a cluster config (account, region, Frigga cluster name);
* :mod:`.strategies` — highlander, redblack, rollingredblack and none as after-stages;
* :mod:`.stages` — the stage definitions, their rollback (``rollback.onFailure``) and compensation.

The atomic operations themselves (``resizeServerGroup``, ``disableCluster``…) are stage types
Clouddriver provides (:data:`CLOUDDRIVER_STAGE_TYPES`).
"""

from workers.orca.engine.stages.deploy.stages import (
    CLOUDDRIVER_STAGE_TYPES,
    CreateServerGroupStage,
    DeployStage,
    deploy_stage_types,
)

__all__ = ["CLOUDDRIVER_STAGE_TYPES", "CreateServerGroupStage", "DeployStage", "deploy_stage_types"]
