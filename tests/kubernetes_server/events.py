"""Events the local API server's controllers record, as kube-controller-manager's do (``kubectl describe``
shows them): a Deployment's ``ScalingReplicaSet`` each time it scales one of its ReplicaSets."""

from __future__ import annotations

import uuid

from schemas.json_types import Json
from tests.kubernetes_server import kinds
from tests.kubernetes_server.store import ObjectStore, now

EVENT = next(kind for kind in kinds.KINDS if kind.kind == "Event")


async def record(store: ObjectStore, involved: Json, reason: str, message: str, *, component: str) -> None:
    """A ``Normal`` event about ``involved`` in its namespace, from ``component``."""
    meta = involved["metadata"]
    namespace = meta.get("namespace", "default")
    stamp = now()
    event: Json = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}"},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": namespace,
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message,
        "type": "Normal",
        "source": {"component": component},
        "reportingComponent": component,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    await store.create(EVENT, namespace, event)
