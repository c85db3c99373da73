"""The stage, trigger and notification type names a saved pipeline may use, shared by the workers.

Front50 decides saves but only Orca knows its stage types, only Echo and Orca fire triggers and
only Echo delivers notifications; Front50 cannot import them (workers do not import each other).
These catalogues are the names they run, so Front50 can refuse a pipeline naming a type nothing
would run (400 naming ``stages[N].type``, ``triggers[N].type`` or ``notifications[N].type``)
rather than let it fail, or dead-letter, at run time. ``tests/unit/test_type_catalogues.py``
checks each equals what the worker actually registers, so they cannot drift apart.

* :data:`STAGE_TYPES`: every stage type Orca's engine registers with its default options (its own
  stages, the ones Clouddriver, Rosco and Kayenta provide and the composed ones), including those
  Orca adds itself as synthetic stages (``disableCluster``, ``shrinkCluster``, ``findImage``, …),
  which a pipeline may also name directly. Orca here registers no aliases, so none are listed.
* :data:`TRIGGER_TYPES`: what Echo fires (:data:`schemas.echo.TriggerType`; Igor's Jenkins builds
  reach Echo as ``jenkins`` events) plus Orca's ``pipeline`` trigger.
  :data:`SPINNAKER_TRIGGER_TYPES` are Spinnaker's others, accepted so exported pipelines save.
* :data:`NOTIFICATION_TYPES`: the channels Echo has (:data:`schemas.echo_notifications.ChannelType`),
  configured or not.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

STAGE_TYPES: frozenset[str] = frozenset(
    {
        # Orca's own
        "checkPreconditions",
        "evaluateVariables",
        "manualJudgment",
        "pipeline",
        "wait",
        "webhook",
        # composed of others (deploy strategies, canary, Jenkins, Terraformer, Rosco bakes, applications)
        "bake",
        "cleanupCanaryClusters",
        "cloneServerGroup",
        "createApplication",
        "createServerGroup",
        "deleteApplication",
        "deploy",
        "deployCanaryServerGroups",
        "disableCluster",
        "findImage",
        "jenkins",
        "kayentaCanary",
        "rollbackServerGroup",
        "runCanaryIntervals",
        "scaleDownCluster",
        "shrinkCluster",
        "terraform",
        "updateApplication",
        # provided by Clouddriver, Rosco and Kayenta
        "bakeManifest",
        "deleteLoadBalancer",
        "deleteManifest",
        "deployManifest",
        "destroyServerGroup",
        "disableServerGroup",
        "enableServerGroup",
        "findArtifactsFromResource",
        "findImageFromTags",
        "getProperties",
        "patchManifest",
        "resizeServerGroup",
        "rollingRestartManifest",
        "runCanary",
        "runJobManifest",
        "scaleManifest",
        "terminateInstances",
        "undoRolloutManifest",
        "upsertLoadBalancer",
    }
)
"""Stage types Orca runs."""

TRIGGER_TYPES: frozenset[str] = frozenset({"cloudevent", "cron", "docker", "git", "jenkins", "pipeline", "webhook"})
"""Trigger types something fires: Echo (cron, webhook, git, docker, cloudevent, jenkins) and Orca (pipeline)."""

SPINNAKER_TRIGGER_TYPES: frozenset[str] = frozenset(
    {
        "artifactory",
        "concourse",
        "googleCloudBuild",
        "helm",
        "nexus",
        "plugin",
        "pubsub",
        "travis",
        "wercker",
    }
)
"""Trigger types Spinnaker's Echo and Igor fire that nothing here polls for. Exported pipelines carry
them, so Front50 saves them as Spinnaker does; they fire only through a typed webhook
``/webhooks/{type}/{source}``."""

NOTIFICATION_TYPES: frozenset[str] = frozenset({"email", "googlechat", "microsoftteams", "slack", "webhook"})
"""Notification types Echo has a channel for (whether or not this installation configures it)."""


def unknown_type_message(kind: str, value: str, known: Iterable[str]) -> str:
    """``unknown stage type 'bakeManifestt'; closest: bakeManifest`` (or ``known: …`` when nothing
    is close), so the message says what to write instead."""
    names = sorted(known)
    closest = difflib.get_close_matches(value, names, n=3, cutoff=0.6)
    hint = f"closest: {', '.join(closest)}" if closest else f"known: {', '.join(names)}"
    return f"unknown {kind} type {value!r}; {hint}"


__all__ = [
    "NOTIFICATION_TYPES",
    "SPINNAKER_TRIGGER_TYPES",
    "STAGE_TYPES",
    "TRIGGER_TYPES",
    "unknown_type_message",
]
