"""Dynamic targets: the manifest of a cluster a stage acts on, by criteria, as Clouddriver picks it."""

from __future__ import annotations

import pytest

from schemas.json_types import Json
from workers.clouddriver.kubernetes.targets import choose
from workers.clouddriver.provider import OperationFailed


def version(name: str, created: str, replicas: int, *, cluster: str = "replicaSet web", app: str = "shop") -> Json:
    notes = {"moniker.spinnaker.io/cluster": cluster, "moniker.spinnaker.io/application": app}
    return {
        "kind": "ReplicaSet",
        "metadata": {"name": name, "creationTimestamp": created, "annotations": notes},
        "spec": {"replicas": replicas},
    }


ITEMS = [
    version("web-v000", "2026-12-01T10:00:00Z", 5),
    version("web-v002", "2026-12-03T10:00:00Z", 1),
    version("web-v001", "2026-12-02T10:00:00Z", 2),
    version("api-v009", "2026-12-04T10:00:00Z", 9, cluster="replicaSet api"),
    version("web-v003", "2026-12-05T10:00:00Z", 9, app="other"),
]


@pytest.mark.parametrize(
    ("criteria", "name"),
    [
        ("newest", "web-v002"),
        ("second_newest", "web-v001"),
        ("oldest", "web-v000"),
        ("largest", "web-v000"),
        ("smallest", "web-v002"),
    ],
)
def test_criteria_pick_among_the_applications_cluster(criteria: str, name: str) -> None:
    assert choose(ITEMS, application="shop", cluster="replicaSet web", criteria=criteria)["metadata"]["name"] == name


def test_an_empty_cluster_or_an_unknown_criteria_fails_saying_so() -> None:
    with pytest.raises(OperationFailed, match="has 1 manifest"):
        choose(ITEMS, application="shop", cluster="replicaSet api", criteria="second_newest")
    with pytest.raises(OperationFailed, match="criteria 'biggest' is not one of"):
        choose(ITEMS, application="shop", cluster="replicaSet web", criteria="biggest")
