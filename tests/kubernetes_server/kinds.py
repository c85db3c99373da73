"""The kinds the local API server serves, and the discovery documents that describe them."""

from __future__ import annotations

from collections.abc import Sequence
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
    Kind("", "v1", "Endpoints", "endpoints", status=False, short_names=("ep",)),
    Kind("", "v1", "Event", "events", status=False, short_names=("ev",)),
    Kind("", "v1", "ConfigMap", "configmaps", status=False, short_names=("cm",)),
    Kind("", "v1", "Secret", "secrets", status=False),
    Kind("apps", "v1", "Deployment", "deployments", short_names=("deploy",)),
    Kind("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",)),
    Kind("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",)),
    Kind("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",)),
    Kind("batch", "v1", "Job", "jobs"),
    Kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced=False),
)
CRD = KINDS[-1]
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def custom(definitions: Sequence[Json]) -> tuple[Kind, ...]:
    """The kinds stored CustomResourceDefinitions define: each served version of each, with a
    status subresource when the version declares one."""
    found = []
    for definition in definitions:
        spec = definition.get("spec") or {}
        names = spec.get("names") or {}
        for version in spec.get("versions") or []:
            if not isinstance(version, dict) or version.get("served") is False:
                continue
            found.append(
                Kind(
                    str(spec.get("group") or ""),
                    str(version.get("name") or ""),
                    str(names.get("kind") or ""),
                    str(names.get("plural") or ""),
                    namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                    status="status" in (version.get("subresources") or {}),
                    short_names=tuple(names.get("shortNames") or ()),
                )
            )
    return tuple(found)


def find(group: str, version: str, plural: str, extra: Sequence[Kind] = ()) -> Kind | None:
    """The kind served at ``/apis/{group}/{version}/.../{plural}`` (group ``""`` for ``/api/v1``),
    among the built-in kinds and ``extra`` (those CRDs define)."""
    for kind in (*KINDS, *extra):
        if (kind.group, kind.version, kind.plural) == (group, version, plural):
            return kind
    return None


def by_kind(api_version: str, kind_name: str, extra: Sequence[Kind] = ()) -> Kind | None:
    """The kind of a document's ``apiVersion`` and ``kind``."""
    for kind in (*KINDS, *extra):
        if kind.api_version == api_version and kind.kind == kind_name:
            return kind
    return None


def core_versions() -> Json:
    """``GET /api``."""
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def groups(extra: Sequence[Kind] = ()) -> Json:
    """``GET /apis``: every group but the core one."""
    names = sorted({(kind.group, kind.version) for kind in (*KINDS, *extra) if kind.group})
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


def resource_list(group: str, version: str, extra: Sequence[Kind] = ()) -> Json | None:
    """``GET /api/v1`` or ``GET /apis/{group}/{version}``: the resources and subresources there."""
    served = [kind for kind in (*KINDS, *extra) if (kind.group, kind.version) == (group, version)]
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
