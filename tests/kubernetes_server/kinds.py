"""The kinds the local API server serves, and the discovery documents that describe them."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.json_types import Json


@dataclass(frozen=True)
class Kind:
    """One served resource: where it lives in the API and whether it has a status subresource."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    status: bool = True
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS = (
    Kind("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",)),
    Kind("", "v1", "Pod", "pods", short_names=("po",)),
    Kind("", "v1", "Service", "services", short_names=("svc",)),
    Kind("", "v1", "ConfigMap", "configmaps", status=False, short_names=("cm",)),
    Kind("", "v1", "Secret", "secrets", status=False),
    Kind("apps", "v1", "Deployment", "deployments", short_names=("deploy",)),
    Kind("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",)),
    Kind("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",)),
    Kind("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",)),
    Kind("batch", "v1", "Job", "jobs"),
)
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def find(group: str, version: str, plural: str) -> Kind | None:
    """The kind served at ``/apis/{group}/{version}/.../{plural}`` (group ``""`` for ``/api/v1``)."""
    for kind in KINDS:
        if (kind.group, kind.version, kind.plural) == (group, version, plural):
            return kind
    return None


def by_kind(api_version: str, kind_name: str) -> Kind | None:
    """The kind of a document's ``apiVersion`` and ``kind``."""
    for kind in KINDS:
        if kind.api_version == api_version and kind.kind == kind_name:
            return kind
    return None


def core_versions() -> Json:
    """``GET /api``."""
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def groups() -> Json:
    """``GET /apis``: every group but the core one."""
    names = sorted({(kind.group, kind.version) for kind in KINDS if kind.group})
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{version}", "version": version}],
                "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version},
            }
            for group, version in names
        ],
    }


def resource_list(group: str, version: str) -> Json | None:
    """``GET /api/v1`` or ``GET /apis/{group}/{version}``: the resources and subresources there."""
    served = [kind for kind in KINDS if (kind.group, kind.version) == (group, version)]
    if not served:
        return None
    resources: list[Json] = []
    for kind in served:
        resources.append(
            {
                "name": kind.plural,
                "singularName": kind.kind.lower(),
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": VERBS,
                "shortNames": list(kind.short_names),
            }
        )
        if kind.status:
            resources.append(
                {"name": f"{kind.plural}/status", "namespaced": kind.namespaced, "kind": kind.kind, "verbs": VERBS[2:6]}
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }
