"""What Gate's live manifest read shows beside the object: its status, artifacts and events, and a Secret hidden."""

from __future__ import annotations

import pytest

from schemas.json_types import Json
from schemas.secrets import MARKER
from workers.clouddriver.kubernetes import manifest_view


def deployment(status: Json, **spec: object) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "generation": 2},
        "spec": {"replicas": 2, **spec},
        "status": status,
    }


READY = {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (deployment(READY), {"stable": (True, None), "paused": (False, None), "available": (True, None)}),
        (
            deployment({**READY, "observedGeneration": 1}),
            {"stable": (False, "waiting for the controller to see the new generation")},
        ),
        (
            deployment(READY, paused=True),
            {"stable": (False, "the rollout is paused"), "paused": (True, "the rollout is paused")},
        ),
        (
            deployment(
                {
                    **READY,
                    "readyReplicas": 0,
                    "conditions": [
                        {"type": "Available", "status": "False", "message": "Deployment does not have minimum"},
                        {
                            "type": "Progressing",
                            "status": "False",
                            "reason": "ProgressDeadlineExceeded",
                            "message": 'ReplicaSet "web-1" has timed out progressing.',
                        },
                    ],
                }
            ),
            {
                "available": (False, "Deployment does not have minimum"),
                "failed": (
                    True,
                    'Deployment exceeded its progress deadline: ReplicaSet "web-1" has timed out progressing.',
                ),
            },
        ),
        ({"kind": "Service", "metadata": {"name": "web"}}, {"stable": (True, None), "failed": (False, None)}),
    ],
)
def test_status_reports_each_condition_with_its_reason(
    manifest: Json, expected: dict[str, tuple[bool, str | None]]
) -> None:
    status = manifest_view.status_of(manifest)
    assert set(status) == {"stable", "paused", "available", "failed"}
    for condition, (state, message) in expected.items():
        assert status[condition]["state"] is state, (condition, status)
        if message is not None:
            assert status[condition]["message"] == message, (condition, status)


def test_artifacts_are_the_images_config_maps_and_secrets_a_pod_template_uses() -> None:
    pod = {
        "initContainers": [{"name": "init", "image": "busybox@sha256:abc"}],
        "containers": [
            {
                "name": "main",
                "image": "registry:5000/shop/web:1.2",
                "env": [
                    {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "a"}}},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "db", "key": "b"}}},
                    {"name": "C", "value": "plain"},
                ],
                "envFrom": [{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "keys"}}],
            },
            {"name": "side", "image": "registry:5000/shop/web:1.2"},
        ],
        "volumes": [
            {"name": "v1", "configMap": {"name": "settings"}},
            {"name": "v2", "secret": {"secretName": "tls"}},
            {"name": "v3", "projected": {"sources": [{"configMap": {"name": "extra"}}, {"secret": {"name": "more"}}]}},
        ],
    }
    manifest = {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": pod}}}
    found = {(a["type"], a["name"], a["reference"]) for a in manifest_view.artifacts_of(manifest)}
    assert found == {
        ("docker/image", "busybox", "busybox@sha256:abc"),
        ("docker/image", "registry:5000/shop/web", "registry:5000/shop/web:1.2"),
        ("kubernetes/configMap", "flags", "flags"),
        ("kubernetes/configMap", "settings", "settings"),
        ("kubernetes/configMap", "extra", "extra"),
        ("kubernetes/secret", "db", "db"),
        ("kubernetes/secret", "keys", "keys"),
        ("kubernetes/secret", "tls", "tls"),
        ("kubernetes/secret", "more", "more"),
    }
    assert len(manifest_view.artifacts_of(manifest)) == len(found)  # each once
    pod_manifest = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "m", "image": "x"}]}}
    assert manifest_view.artifacts_of(pod_manifest) == [{"type": "docker/image", "name": "x", "reference": "x"}]
    assert manifest_view.artifacts_of({"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": []}}) == []


def test_events_are_those_about_the_object_oldest_first() -> None:
    live = deployment(READY)

    def event(name: str, kind: str, stamp: str | None, uid: str = "u1") -> Json:
        found: Json = {"metadata": {"name": name}, "involvedObject": {"kind": kind, "name": "web", "uid": uid}}
        if stamp:
            found["lastTimestamp"] = stamp
        return found

    events = [
        event("late", "Deployment", "2026-12-04T10:00:02Z"),
        event("other-kind", "ReplicaSet", "2026-12-04T10:00:00Z"),
        event("undated", "Deployment", None),
        event("early", "Deployment", "2026-12-04T10:00:01Z"),
        event("earlier-namesake", "Deployment", "2026-12-04T09:00:00Z", uid="u0"),
    ]
    assert [e["metadata"]["name"] for e in manifest_view.about(events, live)] == ["early", "late", "undated"]


def test_a_secrets_values_are_hidden_and_other_kinds_are_shown_as_they_are() -> None:
    secret = {
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"data": {"password": "aHVudGVy"}}'},
        },
        "data": {"password": "aHVudGVy"},
        "stringData": {"user": "admin"},
    }
    shown = manifest_view.container("k8s", secret, [], {"app": "shop"})
    assert shown["manifest"]["data"] == {"password": MARKER} and shown["manifest"]["stringData"] == {"user": MARKER}
    assert "aHVudGVy" not in str(shown)
    assert secret["data"] == {"password": "aHVudGVy"}  # the live object is left as it was
    config = {"kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"GREETING": "hi"}}
    assert manifest_view.container("k8s", config, [], {})["manifest"]["data"] == {"GREETING": "hi"}
