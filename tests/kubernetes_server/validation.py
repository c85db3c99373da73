"""What the local API server refuses on create and update, as a real one does (a subset).

Checked: ``metadata.name`` present and a lowercase RFC 1123 subdomain (at most 253
characters); the document's ``kind``/``apiVersion`` match the path; workloads have
``spec.selector`` matching their pod template's labels and at least one container, each with a
``name`` and an ``image``; ``spec.replicas`` not negative; a Service's ports have a ``port``.
A real API server validates every field of every type from its OpenAPI schema.
"""

from __future__ import annotations

import re
from typing import Any

from schemas.json_types import Json
from tests.kubernetes_server.errors import ApiFailure, invalid
from tests.kubernetes_server.kinds import Kind

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}


def _qualified(kind: Kind) -> str:
    return f"{kind.kind}.{kind.group}" if kind.group else kind.kind


def _pod_spec_causes(spec: Any, path: str) -> list[str]:
    if not isinstance(spec, dict):
        return [f"{path}: Required value"]
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [f"{path}.containers: Required value"]
    causes = []
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not isinstance(container, dict) or not container.get("name"):
            causes.append(f"{where}.name: Required value")
        elif not container.get("image"):
            causes.append(f"{where}.image: Required value")
    return causes


def _selector_causes(spec: Json) -> list[str]:
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    wanted = selector.get("matchLabels") if isinstance(selector, dict) else None
    if not isinstance(wanted, dict) or not wanted:
        return ["spec.selector: Required value"]
    if any(labels.get(key) != value for key, value in wanted.items()):
        return [f"spec.template.metadata.labels: Invalid value: {labels}: `selector` does not match template `labels`"]
    return []


def validate(kind: Kind, document: Json, path_name: str | None) -> None:
    """Raise :class:`ApiFailure` (400 or 422) for what a real API server would refuse."""
    if document.get("kind") != kind.kind or document.get("apiVersion") != kind.api_version:
        raise ApiFailure(
            400,
            "BadRequest",
            f"the API version in the data ({document.get('apiVersion')}) and kind ({document.get('kind')}) "
            f"do not match the resource {kind.api_version} {kind.kind} of the request",
        )
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise invalid(_qualified(kind), "", ["metadata.name: Required value: name or generateName is required"])
    if path_name is not None and name != path_name:
        raise ApiFailure(400, "BadRequest", f"the name of the object ({name}) does not match the name on the URL")
    causes = []
    if len(name) > 253 or not NAME.match(name):
        causes.append(
            f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )
    spec = document.get("spec")
    if kind.kind in WORKLOADS:
        if not isinstance(spec, dict):
            causes.append("spec: Required value")
        else:
            replicas = spec.get("replicas", 1)
            if not isinstance(replicas, int) or replicas < 0:
                causes.append(f"spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0")
            if kind.kind != "Job":
                causes += _selector_causes(spec)
            causes += _pod_spec_causes((spec.get("template") or {}).get("spec"), "spec.template.spec")
    elif kind.kind == "Pod":
        causes += _pod_spec_causes(spec, "spec")
    elif kind.kind == "Service":
        ports = (spec or {}).get("ports") or []
        for index, port in enumerate(ports):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                causes.append(f"spec.ports[{index}].port: Required value")
    if causes:
        raise invalid(_qualified(kind), name, causes)
