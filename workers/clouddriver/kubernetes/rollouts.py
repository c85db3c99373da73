"""A rollout that never became stable: why its pods are not ready, and a Deployment put back.

``deployManifest`` records each Deployment's pod template before it applies the new one
(:func:`template_before`); if the new revision is not stable in time (its progress deadline
exceeded, or ``waitForUpTimeoutSeconds`` over), the Deployment's template becomes that recorded
one again (:func:`restore`), which is what ``kubectl rollout undo`` to the previous revision
does: the controller finds the old ReplicaSet by its template and scales it back, the new one
to zero. The stage still fails, saying it rolled back and why the new pods were not ready
(:func:`pods_of` with :func:`~workers.clouddriver.kubernetes.stability.unready`).
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.provider import Account


def _owned_by(item: Json, uids: set[str]) -> bool:
    return any(ref.get("uid") in uids for ref in item["metadata"].get("ownerReferences") or [])


async def pods_of(k8s: KubernetesProvider, account: Account, workload: Json) -> list[Json]:
    """The pods ``workload`` runs: its own, or for a Deployment those of its ReplicaSets."""
    namespace = workload["metadata"].get("namespace", "")
    owners = {str(workload["metadata"].get("uid"))}
    if workload.get("kind") == "Deployment":
        owners = {
            str(replica_set["metadata"].get("uid"))
            for replica_set in await k8s.list_kind(account, "ReplicaSet", namespace)
            if _owned_by(replica_set, owners)
        }
    return [pod for pod in await k8s.list_kind(account, "Pod", namespace) if _owned_by(pod, owners)]


async def template_before(k8s: KubernetesProvider, account: Account, deployment: Json) -> Json | None:
    """The pod template the live Deployment named like ``deployment`` runs now (``None`` if there is none yet)."""
    namespace, name = deployment["metadata"].get("namespace", ""), deployment["metadata"]["name"]
    live = await k8s.get(account, "Deployment", namespace, name)
    if live is None:
        return None
    template = (live.get("spec") or {}).get("template")
    return dict(template) if isinstance(template, dict) else None


async def restore(k8s: KubernetesProvider, account: Account, deployment: Json, template: Json) -> Json:
    """Set the Deployment's pod template back to ``template`` (a rollback); the Deployment as patched."""
    namespace, name = deployment["metadata"].get("namespace", ""), deployment["metadata"]["name"]
    body = [{"op": "replace", "path": "/spec/template", "value": template}]
    return await k8s.patch(account, "Deployment", namespace, name, body, "json")


def images(template: Json) -> str:
    """The images a pod template runs, for a message (``app:1, sidecar:2``)."""
    containers = (template.get("spec") or {}).get("containers") or []
    return ", ".join(str(container.get("image")) for container in containers if container.get("image"))
