"""Dynamic targets (``mode: dynamic``): the manifest of a cluster a stage acts on, chosen by
``criteria`` as Spinnaker's Clouddriver chooses it.

The stage names ``cluster`` (``"replicaSet web"``, the ``moniker.spinnaker.io/cluster`` its versions
carry) and ``criteria``: ``newest`` / ``second_newest`` / ``oldest`` by ``creationTimestamp``,
``largest`` / ``smallest`` by ``spec.replicas``. Only the pipeline's application's manifests of
the cluster's kind in the stage's ``location`` are candidates; none, or too few for
``second_newest``, fails the stage naming the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.json_types import Json
from workers.clouddriver.kubernetes.manifests import MONIKER, application_of, notes_of
from workers.clouddriver.provider import OperationFailed

CRITERIA = ("newest", "second_newest", "oldest", "largest", "smallest")


def _created(item: Json) -> str:
    return str(item["metadata"].get("creationTimestamp") or "")


def _replicas(item: Json) -> int:
    replicas = (item.get("spec") or {}).get("replicas")
    return replicas if isinstance(replicas, int) else 1


def choose(items: Sequence[Json], *, application: str, cluster: str, criteria: str) -> Json:
    """The manifest ``criteria`` picks among ``items`` of ``cluster`` owned by ``application``."""
    if criteria not in CRITERIA:
        raise OperationFailed(f"criteria {criteria!r} is not one of {', '.join(CRITERIA)}")
    members = [
        item
        for item in items
        if notes_of(item).get(f"{MONIKER}cluster") == cluster
        and (application_of(item) or "").lower() == application.lower()
    ]
    by_age = sorted(members, key=lambda item: (_created(item), item["metadata"]["name"]), reverse=True)
    needed = 2 if criteria == "second_newest" else 1
    if len(by_age) < needed:
        raise OperationFailed(
            f"cluster {cluster!r} of application {application!r} has {len(by_age)} manifest(s); "
            f"criteria {criteria!r} needs at least {needed}"
        )
    if criteria == "newest":
        return by_age[0]
    if criteria == "second_newest":
        return by_age[1]
    if criteria == "oldest":
        return by_age[-1]
    if criteria == "largest":
        return max(by_age, key=_replicas)
    return min(by_age, key=_replicas)
