"""Server group summaries, the expanded JSON and the view's kept listings (workers.clouddriver.server_group_views)."""

from __future__ import annotations

import pydantic_core

from schemas.json_types import Json
from workers.clouddriver.cache_view import CacheView, Entry, joined
from workers.clouddriver.server_group_views import expanded, expansion, summary


def group(name: str = "shop-web-v001", **extra: object) -> Json:
    return {
        "name": name,
        "account": "prod",
        "region": "eu",
        "cluster": "shop-web",
        "cloudProvider": "aws",
        "moniker": {"app": "shop", "cluster": "shop-web", "stack": "web"},
        "launchConfig": {"image": "ami-1", "env": {"TOKEN": "x"}},
        "buildInfo": {"env": {"TOKEN": "x"}, "jenkins": {"number": 7}},
        "instances": [{"name": "i-1", "instanceId": "i-1", "zone": "eu-a", "healthState": "Up", "providerType": "aws"}],
        "tags": {},
        **extra,
    }


def entry(data: Json) -> Entry:
    document = {"_id": f"serverGroup|prod|eu|{data['name']}", "kind": "serverGroup", "application": "shop"}
    return Entry.of({**document, "account": "prod", "region": "eu", "name": data["name"], "json": data})


def test_a_summary_keeps_what_a_listing_shows() -> None:
    brief = summary(group())
    assert "launchConfig" not in brief and "tags" not in brief and brief["moniker"]["stack"] == "web"
    assert brief["instances"] == [
        {"id": "i-1", "name": "i-1", "health": [], "healthState": "Up", "availabilityZone": "eu-a"}
    ]


def test_expanded_adds_the_clusters_coordinates_once() -> None:
    data = group(stack="given")
    added = pydantic_core.from_json(expanded(pydantic_core.to_json(data), expansion(data)))
    assert added["accountName"] == "prod" and added["stack"] == "given" and "freeFormDetail" not in added


def test_env_is_left_out_of_the_summary_shown_to_who_may_not_write() -> None:
    cached = entry(group())
    assert b"TOKEN" in cached.summary and b"TOKEN" not in cached.summary_shown


def test_a_kept_listing_is_dropped_when_one_of_its_resources_changes() -> None:
    view = CacheView()
    view.put([entry(group("shop-web-v001"))])
    built: list[int] = []

    def build(found: list[Entry]) -> bytes:
        built.append(len(found))
        return joined(e.summary for e in found)

    first = view.answer("serverGroup", "shop", "key", build)
    assert view.answer("serverGroup", "shop", "key", build) is first and built == [1]
    view.put([entry(group("shop-web-v002"))])
    assert len(pydantic_core.from_json(view.answer("serverGroup", "shop", "key", build))["resources"]) == 2
    view.remove(["serverGroup|prod|eu|shop-web-v001"])
    view.answer("serverGroup", "shop", "key", build)
    assert built == [1, 2, 1]
