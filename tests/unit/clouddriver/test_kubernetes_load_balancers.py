"""A Kubernetes server group is disabled when none of the Services it names selects its pods."""

from __future__ import annotations

import json

from schemas.json_types import Json
from workers.clouddriver.kubernetes.load_balancers import LOAD_BALANCERS, is_disabled, named_services

SELECTORS: dict[tuple[str, str], Json] = {("web", "shop"): {"serving": "shop"}, ("web", "bare"): {}}


def replica_set(labels: Json, named: object = None) -> Json:
    notes = {} if named is None else {LOAD_BALANCERS: named if isinstance(named, str) else json.dumps(named)}
    return {
        "metadata": {"name": "rb-v000", "namespace": "web", "annotations": notes},
        "spec": {"template": {"metadata": {"labels": labels}}},
    }


def test_a_version_in_a_named_service_is_enabled_and_one_taken_out_is_disabled() -> None:
    assert not is_disabled(replica_set({"app": "rb", "serving": "shop"}, ["service shop"]), SELECTORS)
    assert is_disabled(replica_set({"app": "rb"}, ["service shop"]), SELECTORS)
    # a missing Service, or one without a selector, selects nothing
    assert is_disabled(replica_set({"app": "rb"}, ["service gone", "service bare"]), SELECTORS)


def test_a_version_naming_no_services_is_never_disabled_and_bad_annotations_name_none() -> None:
    assert not is_disabled(replica_set({"app": "rb"}), SELECTORS)
    assert not is_disabled(replica_set({"app": "rb"}, []), SELECTORS)
    for bad in ("not json", '{"a": 1}', [1, "", "deployment web", " "]):
        assert named_services(replica_set({}, bad)) == []
    assert named_services(replica_set({}, ["shop", "service other"])) == ["shop", "other"]
