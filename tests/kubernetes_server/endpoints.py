"""The endpoints controller: which pods each Service sends requests to, kept as ``Endpoints`` objects.

As Kubernetes' endpoints controller does, for every Service with a ``spec.selector`` an
``Endpoints`` object of the same name (with the Service's labels) lists the pods of its namespace
whose labels match the selector and that have an IP and have not finished: ``addresses`` for the
Ready ones, ``notReadyAddresses`` for the others (all are ``addresses`` with
``publishNotReadyAddresses``), each with a ``targetRef`` to its pod. The Service's ports are
resolved per pod (``targetPort`` a number, a container port's name, or the port itself when
absent; a pod without the named port is left out of that port), pods with the same ports sharing
one subset; a Service none of whose pods qualify has no ``subsets``. So a pod leaves its Services
once it stops being Ready, stops matching or is deleted; the Endpoints of a deleted Service go
too. A Service without a selector is left alone: its Endpoints are whoever writes them.
"""

from __future__ import annotations

from schemas.json_types import Json
from tests.kubernetes_server import kinds
from tests.kubernetes_server.store import ObjectStore

KIND = {kind.kind: kind for kind in kinds.KINDS}
SERVICE, ENDPOINTS, POD = KIND["Service"], KIND["Endpoints"], KIND["Pod"]


def ready(pod: Json) -> bool:
    """The pod's ``Ready`` condition is ``True``."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _target_port(port: Json, pod: Json) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target and isinstance(declared.get("containerPort"), int):
                return int(declared["containerPort"])
    return None


def _address(pod: Json) -> Json:
    meta = pod["metadata"]
    reference = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}
    return {"ip": pod["status"]["podIP"], "targetRef": reference}


def endpoints_of(service: Json, pods: list[Json]) -> Json:
    """The ``Endpoints`` the controller keeps for ``service`` given the pods of its namespace."""
    spec = service.get("spec") or {}
    selector: Json = spec.get("selector") or {}
    everyone = bool(spec.get("publishNotReadyAddresses"))
    subsets: dict[tuple[tuple[str, int, str], ...], Json] = {}
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        status = pod.get("status") or {}
        if any(labels.get(key) != value for key, value in selector.items()):
            continue
        if not status.get("podIP") or status.get("phase") in ("Succeeded", "Failed"):
            continue
        if pod["metadata"].get("deletionTimestamp") and not everyone:
            continue
        resolved = []
        for port in spec.get("ports") or []:
            number = _target_port(port, pod)
            if number is not None:
                resolved.append((str(port.get("name") or ""), number, str(port.get("protocol") or "TCP")))
        subset = subsets.setdefault(tuple(resolved), {"addresses": [], "notReadyAddresses": []})
        subset["addresses" if everyone or ready(pod) else "notReadyAddresses"].append(_address(pod))
    found: list[Json] = []
    for ports, subset in sorted(subsets.items()):
        shaped: Json = {
            part: sorted(subset[part], key=lambda address: (address["ip"], address["targetRef"]["name"]))
            for part in ("addresses", "notReadyAddresses")
            if subset[part]
        }
        shaped["ports"] = [
            {**({"name": name} if name else {}), "port": number, "protocol": protocol}
            for name, number, protocol in ports
        ]
        found.append(shaped)
    meta = service["metadata"]
    document: Json = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": dict(meta.get("labels") or {})},
    }
    if found:
        document["subsets"] = found
    return document


async def reconcile(store: ObjectStore) -> None:
    """One pass of the endpoints controller over every Service of ``store``."""
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in store.list(SERVICE, None)}
    pods: dict[str, list[Json]] = {}
    for pod in store.list(POD, None):
        pods.setdefault(pod["metadata"]["namespace"], []).append(pod)
    for (namespace, name), service in services.items():
        if not (service.get("spec") or {}).get("selector"):
            continue
        wanted = endpoints_of(service, pods.get(namespace, []))
        current = store.find(ENDPOINTS, namespace, name)
        if current is None:
            await store.create(ENDPOINTS, namespace, wanted)
        elif (current.get("subsets"), current["metadata"].get("labels")) != (
            wanted.get("subsets"),
            wanted["metadata"]["labels"],
        ):
            current["metadata"]["labels"] = wanted["metadata"]["labels"]
            current.pop("subsets", None)
            await store.replace(ENDPOINTS, namespace, name, {**current, **wanted, "metadata": current["metadata"]})
    for endpoints in store.list(ENDPOINTS, None):
        key = (endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])
        if key not in services:
            await store.delete(ENDPOINTS, *key)
