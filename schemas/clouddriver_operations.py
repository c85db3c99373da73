"""Clouddriver's answers to the cloud operations Orca asks of it.

Orca sends ``orca.RunExternalTask`` to service ``clouddriver`` for the stage types Clouddriver
provides (``createServerGroup``, ``resizeServerGroup``, ``disableCluster``, ``findImage``…; see
:data:`STAGE_TYPES`). Clouddriver answers each ``(task_id, attempt)`` once with
``clouddriver.task.completed`` and, while the work lasts, sends ``clouddriver.task.heartbeat``
every few seconds with a line of progress. A redelivered command is answered again with the same
outcome; it never runs the operation twice.
"""

from __future__ import annotations

from typing import ClassVar

from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat
from schemas.registry import message

STAGE_TYPES = (
    "createServerGroup",
    "cloneServerGroup",
    "resizeServerGroup",
    "enableServerGroup",
    "disableServerGroup",
    "destroyServerGroup",
    "rollbackServerGroup",
    "terminateInstances",
    "upsertLoadBalancer",
    "deleteLoadBalancer",
    "disableCluster",
    "scaleDownCluster",
    "shrinkCluster",
    "findImage",
    "findImageFromTags",
    "clusterSize",
    "deployManifest",
    "deleteManifest",
    "scaleManifest",
    "patchManifest",
    "rollingRestartManifest",
    "findArtifactsFromResource",
    "runJobManifest",
    "undoRolloutManifest",
)
"""The stage types whose ``orca.RunExternalTask`` Clouddriver answers."""


@message
class TaskCompleted(ExternalTaskCompleted):
    """A cloud operation finished: ``SUCCEEDED`` with Spinnaker's outputs, or ``TERMINAL`` with ``error``.

    Outputs follow Spinnaker: a create answers ``deploy.server.groups`` (``{region: [name]}``),
    ``deploy.account.name``, ``serverGroupName`` and ``source`` (the cluster's previous server
    groups); a disable/enable/resize/destroy answers ``serverGroupName`` and ``region``.
    """

    message_type: ClassVar[str] = "clouddriver.task.completed"


@message
class TaskHeartbeat(ExternalTaskHeartbeat):
    """Clouddriver still works on an operation; ``progress`` says what it is doing."""

    message_type: ClassVar[str] = "clouddriver.task.heartbeat"
