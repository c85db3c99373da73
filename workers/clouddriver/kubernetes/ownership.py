"""Which application a live Kubernetes object belongs to, for the reads that show one (a pod's log, a manifest).

Its ``moniker.spinnaker.io/application``, else its owner's: a pod made by a ReplicaSet made by a
Deployment carries no moniker of its own, so the owners are followed up to :data:`LEVELS` levels.
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver.kubernetes.manifests import application_of
from workers.clouddriver.kubernetes.provider import KubernetesProvider
from workers.clouddriver.provider import Account

LEVELS = 3


async def owning_application(provider: KubernetesProvider, account: Account, namespace: str, obj: Json) -> str | None:
    """The application of ``obj`` (in ``namespace``): its moniker's, else its first owner's; ``None`` if none says."""
    for _ in range(LEVELS):
        found = application_of(obj)
        if found:
            return found
        owners = obj["metadata"].get("ownerReferences") or []
        if not owners:
            return None
        owner = await provider.get(account, str(owners[0].get("kind")), namespace, str(owners[0].get("name")))
        if owner is None:
            return None
        obj = owner
    return None
