"""Frigga names: parsing, building and the next push sequence, as Spinnaker names server groups."""

from __future__ import annotations

import pytest

from workers.clouddriver import names


@pytest.mark.parametrize(
    ("name", "app", "stack", "detail", "cluster", "sequence"),
    [
        ("hello", "hello", None, None, "hello", None),
        ("hello-prod", "hello", "prod", None, "hello-prod", None),
        ("hello-prod-v003", "hello", "prod", None, "hello-prod", 3),
        ("hello-prod-canary-v010", "hello", "prod", "canary", "hello-prod-canary", 10),
        ("hello--canary-v000", "hello", None, "canary", "hello--canary", 0),
        ("hello-prod-web-east-v001", "hello", "prod", "web-east", "hello-prod-web-east", 1),
    ],
)
def test_parse(name: str, app: str, stack: str | None, detail: str | None, cluster: str, sequence: int | None) -> None:
    parsed = names.parse(name)
    assert (parsed.app, parsed.stack, parsed.detail, parsed.cluster, parsed.sequence) == (
        app,
        stack,
        detail,
        cluster,
        sequence,
    )


def test_build_and_next_sequence() -> None:
    assert names.cluster_name("hello") == "hello"
    assert names.cluster_name("hello", None, "canary") == "hello--canary"
    assert names.server_group_name("hello", "prod", None, 7) == "hello-prod-v007"
    assert names.next_sequence([]) == 0
    assert names.next_sequence(["hello-prod-v002", "hello-prod-v010"]) == 11
    assert names.next_sequence(["hello-prod-v999"]) == 0


def test_moniker() -> None:
    assert names.parse("hello-prod-v002").moniker() == {
        "app": "hello",
        "cluster": "hello-prod",
        "stack": "prod",
        "sequence": 2,
    }


@pytest.mark.parametrize(("app", "stack"), [("hel-lo", None), ("", None), ("hello", "pr od")])
def test_bad_parts_are_refused_naming_the_field(app: str, stack: str | None) -> None:
    with pytest.raises(ValueError, match=r"application|stack"):
        names.cluster_name(app, stack)
