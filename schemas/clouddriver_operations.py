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

FETCH_MANIFEST_ARTIFACT = "fetchManifestArtifact"
"""A task of Orca's ``deployManifest`` / ``runJobManifest`` that is no stage type of its own
(Orca's ``resolveDeploySourceManifest`` asks Clouddriver's ``/artifacts/fetch``): Clouddriver
fetches the ``manifestArtifact`` of its context with the artifact account it names, which the
command's authority must READ, and answers the text in :data:`FETCHED_MANIFEST_TEXT` and which
artifact it is in :data:`FETCHED_MANIFEST`, so Orca evaluates its ``${…}`` before the deploy."""
TASK_TYPES = (FETCH_MANIFEST_ARTIFACT,)
"""The task types Clouddriver answers besides :data:`STAGE_TYPES`."""
FETCHED_MANIFEST = "fetchedManifest"
"""The answer's ``{type, reference, version, artifactAccount}`` of the artifact fetched."""
FETCHED_MANIFEST_TEXT = "fetchedManifestText"
"""The answer's text of the artifact fetched: a secret to every reader (:mod:`schemas.secrets`),
since it may hold a Secret's data and its reader need not READ the artifact account."""


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
