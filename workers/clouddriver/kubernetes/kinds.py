"""The kinds Clouddriver's Kubernetes provider knows by name, so ``deployment web`` finds ``apps/v1``."""

from __future__ import annotations

API_VERSIONS = {
    "namespace": "v1",
    "pod": "v1",
    "event": "v1",
    "service": "v1",
    "configmap": "v1",
    "secret": "v1",
    "serviceaccount": "v1",
    "persistentvolumeclaim": "v1",
    "deployment": "apps/v1",
    "replicaset": "apps/v1",
    "statefulset": "apps/v1",
    "daemonset": "apps/v1",
    "job": "batch/v1",
    "cronjob": "batch/v1",
    "ingress": "networking.k8s.io/v1",
    "customresourcedefinition": "apiextensions.k8s.io/v1",
}
"""``apiVersion`` of each kind (lower case, as Spinnaker's ``manifestName`` spells it)."""

VERSIONED = frozenset({"replicaset", "configmap", "secret", "pod"})
"""Kinds deployed as ``{name}-v000``, ``-v001``… unless ``strategy.spinnaker.io/versioned`` says otherwise
(Spinnaker's versioned kinds: a changed Pod is a new Pod, since a live one's spec can hardly change)."""

SERVER_GROUPS = ("ReplicaSet", "StatefulSet", "DaemonSet")
"""Kinds the infrastructure views show as server groups (Deployments are their server group managers)."""

CANONICAL = {
    "namespace": "Namespace",
    "pod": "Pod",
    "event": "Event",
    "service": "Service",
    "configmap": "ConfigMap",
    "secret": "Secret",
    "serviceaccount": "ServiceAccount",
    "persistentvolumeclaim": "PersistentVolumeClaim",
    "deployment": "Deployment",
    "replicaset": "ReplicaSet",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
    "job": "Job",
    "cronjob": "CronJob",
    "ingress": "Ingress",
    "customresourcedefinition": "CustomResourceDefinition",
}


def api_version(kind: str) -> str | None:
    """The ``apiVersion`` of ``kind`` (any case), or ``None`` for a kind the provider does not know."""
    return API_VERSIONS.get(kind.lower())


def canonical(kind: str) -> str:
    """``deployment`` → ``Deployment``; an unknown kind as given."""
    return CANONICAL.get(kind.lower(), kind)
