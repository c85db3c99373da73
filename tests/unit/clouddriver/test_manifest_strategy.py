"""A manifest's ``strategy.spinnaker.io/*`` annotations are read as Spinnaker reads them, and its
recorded configuration tells an unchanged redeploy from a changed one."""

from __future__ import annotations

import json

import pytest

from schemas.json_types import Json
from workers.clouddriver.kubernetes import manifests
from workers.clouddriver.kubernetes.manifest_strategy import ManifestStrategy, strategy_of
from workers.clouddriver.provider import OperationFailed


def noted(**notes: str) -> Json:
    annotations = {f"strategy.spinnaker.io/{key.replace('_', '-')}": value for key, value in notes.items()}
    return {"kind": "ReplicaSet", "metadata": {"name": "web", "annotations": annotations}}


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ({}, ManifestStrategy()),
        ({"recreate": "true"}, ManifestStrategy(deploy="recreate")),
        ({"replace": "TRUE"}, ManifestStrategy(deploy="replace")),
        ({"recreate": "true", "replace": "true"}, ManifestStrategy(deploy="recreate")),
        ({"replace": "yes"}, ManifestStrategy()),
        ({"max_version_history": "3"}, ManifestStrategy(max_version_history=3)),
        ({"max_version_history": "three"}, ManifestStrategy()),
        ({"use_source_capacity": "true"}, ManifestStrategy(use_source_capacity=True)),
    ],
)
def test_the_annotations_read_as_spinnaker_reads_them(notes: dict[str, str], expected: ManifestStrategy) -> None:
    assert strategy_of(noted(**notes)) == expected


def test_a_history_that_would_delete_what_the_deploy_needs_is_refused() -> None:
    with pytest.raises(OperationFailed, match="max-version-history is 0; it must be at least 1"):
        strategy_of(noted(max_version_history="0"))
    with pytest.raises(OperationFailed, match="is 1, but the redblack strategy keeps the previous version"):
        strategy_of(noted(max_version_history="1"), rollout="redblack")
    assert strategy_of(noted(max_version_history="1"), rollout="highlander").max_version_history == 1


def test_the_recorded_configuration_is_what_was_applied_and_metadata_does_not_count() -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "k"}, "stringData": {"t": "x"}}
    recorded = manifests.with_last_applied(manifest)
    applied = manifests.last_applied(recorded)
    assert applied == {**manifest, "metadata": {"name": "k", "annotations": {}}}
    stored = {**recorded, "data": {"t": "eA=="}, "type": "Opaque"}  # what a server keeps instead
    del stored["stringData"]
    assert manifests.same_configuration(manifests.last_applied(stored), {**manifest, "metadata": {"name": "other"}})
    assert not manifests.same_configuration(manifests.last_applied(stored), {**manifest, "stringData": {"t": "y"}})
    assert not manifests.same_configuration(None, manifest)
    # recorded again, the record does not nest
    again = manifests.with_last_applied(recorded)
    assert (
        manifests.LAST_APPLIED
        not in json.loads(again["metadata"]["annotations"][manifests.LAST_APPLIED])["metadata"]["annotations"]
    )
    huge = {**manifest, "stringData": {"t": "x" * (manifests.MAX_LAST_APPLIED + 1)}}
    assert manifests.last_applied(manifests.with_last_applied(huge)) is None
