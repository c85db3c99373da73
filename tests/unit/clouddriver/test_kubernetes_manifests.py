"""Manifests are checked, annotated and versioned before they are applied; stability is judged per kind."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import pytest

from workers.clouddriver.kubernetes import manifests, stability
from workers.clouddriver.kubernetes.manifests import ManifestRefused


def test_yaml_text_and_lists_are_read_as_documents_counted_from_zero() -> None:
    text = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Secret\napiVersion: v1\nmetadata: {}\n"
    with pytest.raises(ManifestRefused, match=r"manifest 1 \(Secret\): 'metadata.name' is missing"):
        manifests.read({"manifests": [text]})
    listed = {"kind": "List", "items": [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}}]}
    assert [d["kind"] for d in manifests.read({"manifests": [listed]})] == ["Pod"]


def test_an_embedded_artifact_is_decoded_and_other_sources_are_refused() -> None:
    text = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n"
    artifact = {"type": "embedded/base64", "reference": base64.b64encode(text.encode()).decode()}
    assert manifests.read({"source": "artifact", "manifestArtifact": artifact})[0]["metadata"]["name"] == "a"
    with pytest.raises(ManifestRefused, match="embedded/base64"):
        manifests.read({"source": "artifact", "manifestArtifact": {"type": "github/file"}})


def test_too_many_documents_are_refused() -> None:
    many = [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": f"p{i}"}} for i in range(101)]
    with pytest.raises(ManifestRefused, match="at most 100"):
        manifests.read({"manifests": many})


def test_versioning_follows_the_kind_unless_the_annotation_says_otherwise() -> None:
    assert manifests.is_versioned({"kind": "ConfigMap", "metadata": {}})
    assert not manifests.is_versioned({"kind": "Deployment", "metadata": {}})
    off = {"kind": "ConfigMap", "metadata": {"annotations": {"strategy.spinnaker.io/versioned": "false"}}}
    assert not manifests.is_versioned(off)
    assert manifests.sequence_of("web-v012", "web") == 12 and manifests.sequence_of("web-v012", "we") is None


def test_references_to_renamed_config_maps_and_secrets_are_rewritten() -> None:
    pod = {
        "volumes": [{"name": "v", "configMap": {"name": "settings"}}, {"name": "s", "secret": {"secretName": "keys"}}],
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "other", "key": "a"}}}],
    }
    renamed = manifests.rewrite_references(
        pod, {("configmap", "settings"): "settings-v001", ("secret", "keys"): "keys-v000"}
    )
    assert renamed["volumes"][0]["configMap"]["name"] == "settings-v001"
    assert renamed["volumes"][1]["secret"]["secretName"] == "keys-v000"
    assert renamed["env"][0]["valueFrom"]["configMapKeyRef"]["name"] == "other"


def deployment(status: Mapping[str, object], generation: int = 2, replicas: int = 2) -> dict[str, object]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": status,
    }


def test_a_deployment_is_stable_once_its_generation_is_seen_and_every_replica_is_available() -> None:
    done = {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    assert stability.judge(deployment(done)).stable
    assert "generation" in stability.judge(deployment({**done, "observedGeneration": 1})).waiting
    assert "available (1/2)" in stability.judge(deployment({**done, "availableReplicas": 1})).waiting
    assert "old replicas" in stability.judge(deployment({**done, "replicas": 3})).waiting
    deadline = {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "timed out"}
    stuck = {"observedGeneration": 2, "conditions": [deadline]}
    assert stability.judge(deployment(stuck)).failed == "Deployment exceeded its progress deadline: timed out"
    # a rollback's first status is the failed generation's: not a failure of the rolled-back one
    rolled_back = stability.judge(deployment(stuck, generation=3))
    assert rolled_back.failed is None and "generation" in rolled_back.waiting


def pod(name: str, status: Mapping[str, object]) -> dict[str, object]:
    return {"kind": "Pod", "metadata": {"name": name}, "status": status}


def test_why_pods_are_not_ready_names_each_reason_once_with_its_pods() -> None:
    ready = pod("a", {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})
    crashing = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "containerStatuses": [
            {"name": "side", "ready": True, "state": {"running": {}}},
            {
                "name": "main",
                "ready": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
            },
        ],
    }
    probe = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "[main]"}],
        "containerStatuses": [{"name": "main", "ready": False, "state": {"running": {}}}],
    }
    pods = [ready, pod("c", crashing), pod("b", crashing), pod("d", probe), pod("e", {"phase": "Pending"})]
    assert stability.unready(pods) == (
        "4 of 5 pods not ready: b, c: container main waiting (CrashLoopBackOff: back-off); "
        "d: ContainersNotReady: [main]; e: phase Pending"
    )
    assert stability.unready([ready]) == "" and stability.unready([]) == ""


def test_jobs_pods_and_other_kinds() -> None:
    failed = {
        "kind": "Job",
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
    }
    assert stability.judge(failed).failed == "Job failed: BackoffLimitExceeded"
    assert stability.judge({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}}).stable
    assert not stability.judge({"kind": "Job", "status": {}}).stable
    ready = {"kind": "Pod", "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    assert stability.judge(ready).stable
    assert stability.judge({"kind": "Service"}).stable
    rolling = {
        "kind": "StatefulSet",
        "metadata": {},
        "spec": {"replicas": 1},
        "status": {"readyReplicas": 1, "availableReplicas": 1, "currentRevision": "a", "updateRevision": "b"},
    }
    assert "rolling update" in stability.judge(rolling).waiting
