"""What a real API server adds to an object it stores: defaulted fields, and a Secret's ``stringData``
folded into ``data``.

A client that compares what it sent with what it reads back sees these differences on a real
cluster, so this server makes them too (a subset of the real defaulting, the fields the kinds here
most visibly gain): pod specs (``restartPolicy``, ``dnsPolicy``, ``schedulerName``,
``terminationGracePeriodSeconds``, ``securityContext``; per container ``imagePullPolicy``,
``terminationMessagePath``/``Policy``, ``resources``, port ``protocol``), a pod template's
``metadata.creationTimestamp: null``, workloads' ``replicas``, ``revisionHistoryLimit`` and update
strategies, a Service's ``type``, ``sessionAffinity``, ``clusterIP`` (kept across updates), port
``protocol`` and ``targetPort``, a Secret's ``type``; an empty ``data``/``binaryData`` map is
dropped, as the real server's JSON leaves out empty maps.
"""

from __future__ import annotations

import base64
import copy
import zlib
from typing import Any

from schemas.json_types import Json

TEMPLATED = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}
ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}


def _pull_policy(image: str) -> str:
    bare = image.split("@", 1)[0]
    tag = bare.rsplit(":", 1)[1] if ":" in bare.rsplit("/", 1)[-1] else "latest"
    return "Always" if tag == "latest" and "@" not in image else "IfNotPresent"


def _pod_spec(spec: Any, *, job: bool = False) -> None:
    if not isinstance(spec, dict):
        return
    if not job:
        spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if not isinstance(container, dict):
            continue
        container.setdefault("imagePullPolicy", _pull_policy(str(container.get("image") or "")))
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _template(spec: Json, *, job: bool = False) -> None:
    template = spec.get("template")
    if not isinstance(template, dict):
        return
    metadata = template.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.setdefault("creationTimestamp", None)
    _pod_spec(template.get("spec"), job=job)


def _cluster_ip(namespace: str, name: str) -> str:
    number = zlib.crc32(f"{namespace}/{name}".encode())
    return f"10.96.{(number >> 8) % 256}.{number % 254 + 1}"


def _service(spec: Json, current: Json | None, namespace: str, name: str) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    kept = ((current or {}).get("spec") or {}).get("clusterIP")
    spec.setdefault("clusterIP", kept or _cluster_ip(namespace, name))
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])


def _secret(obj: Json) -> None:
    obj.setdefault("type", "Opaque")
    written = obj.pop("stringData", None)
    if isinstance(written, dict) and written:
        data = dict(obj.get("data") or {})
        for key, value in written.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def with_defaults(document: Json, current: Json | None, namespace: str) -> Json:
    """A copy of ``document`` as a real API server would store it (``current`` is the object it
    replaces, if any, whose assigned fields such as a Service's ``clusterIP`` it keeps)."""
    obj = copy.deepcopy(document)
    kind = obj.get("kind")
    spec = obj.get("spec")
    name = str((obj.get("metadata") or {}).get("name") or "")
    if kind == "Secret":
        _secret(obj)
    if kind in ("Secret", "ConfigMap"):
        for part in ("data", "binaryData"):
            if part in obj and not obj[part]:
                del obj[part]
    if not isinstance(spec, dict):
        return obj
    if kind == "Pod":
        _pod_spec(spec)
    elif kind == "Service":
        _service(spec, current, namespace, name)
    elif kind in TEMPLATED:
        _template(spec, job=kind == "Job")
        if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
            spec.setdefault("replicas", 1)
        if kind in ("Deployment", "StatefulSet", "DaemonSet"):
            spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Job":
            for field, value in (("backoffLimit", 6), ("completions", 1), ("parallelism", 1)):
                spec.setdefault(field, value)
        elif kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", copy.deepcopy(ROLLING))
        elif kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        elif kind == "DaemonSet":
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
    return obj
