"""Front50 stores Kayenta's canary configs with Kayenta's save-time validation and Fiat's rule."""

from __future__ import annotations

from typing import Any

from schemas.authority import Authority
from schemas.canary_configs import (
    CanaryConfigDeleted,
    CanaryConfigFound,
    CanaryConfigList,
    CanaryConfigSaved,
    DeleteCanaryConfig,
    GetCanaryConfig,
    ListCanaryConfigs,
    SaveCanaryConfig,
)
from schemas.front50 import CommandRejected, SaveApplication
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client


def canary_config(name: str = "latency", *applications: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "applications": list(applications or ("shop",)),
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [{"name": "p99", "query": {"type": "prometheus", "metricName": "latency"}, "groups": ["g"]}],
        "classifier": {"groupWeights": {"g": 100}},
        **extra,
    }


async def test_save_stamps_id_and_timestamps_and_reads_back(front50: Front50Client) -> None:
    saved = await front50.send(SaveCanaryConfig(authority=ADMIN, canary_config=canary_config()))
    assert isinstance(saved, CanaryConfigSaved)
    stored = saved.canary_config
    assert stored["id"] and stored["name"] == "latency"
    assert stored["createdTimestamp"] == stored["updatedTimestamp"]
    assert stored["updatedTimestampIso"].endswith("Z")

    found = await front50.ask(GetCanaryConfig(config_id=stored["id"]))
    assert isinstance(found, CanaryConfigFound) and found.canary_config == stored
    listed = await front50.ask(ListCanaryConfigs(application="SHOP"))
    assert isinstance(listed, CanaryConfigList) and [c["id"] for c in listed.canary_configs] == [stored["id"]]
    other = await front50.ask(ListCanaryConfigs(application="billing"))
    assert isinstance(other, CanaryConfigList) and other.canary_configs == []


async def test_put_replaces_and_post_refuses_an_existing_id(front50: Front50Client) -> None:
    created = await front50.send(SaveCanaryConfig(authority=ADMIN, canary_config=canary_config(id="c1")))
    assert isinstance(created, CanaryConfigSaved)
    again = await front50.send(SaveCanaryConfig(authority=ADMIN, canary_config=canary_config(id="c1")))
    assert isinstance(again, CommandRejected)
    assert (again.status, again.reason) == (400, "Canary config 'c1' already exists.")

    changed = canary_config("latency-v2")
    updated = await front50.send(SaveCanaryConfig(authority=ADMIN, canary_config=changed, config_id="c1", create=False))
    assert isinstance(updated, CanaryConfigSaved)
    assert updated.canary_config["name"] == "latency-v2"
    assert updated.canary_config["createdTimestamp"] == created.canary_config["createdTimestamp"]

    absent = await front50.send(
        SaveCanaryConfig(authority=ADMIN, canary_config=changed, config_id="nope", create=False)
    )
    assert isinstance(absent, CommandRejected) and (absent.status, absent.field) == (404, "id")


async def test_invalid_configs_are_refused_naming_the_field(front50: Front50Client) -> None:
    cases = [
        ({**canary_config(), "name": ""}, "name", "Canary config must specify a name."),
        (
            {**canary_config(), "applications": []},
            "applications",
            "Canary config must specify at least one application.",
        ),
        (
            canary_config("has space"),
            "name",
            "Canary config cannot be named 'has space'. Names must contain only letters, numbers, "
            "dashes (-) and underscores (_).",
        ),
        (
            {**canary_config(), "metrics": [{"name": "a"}, {"name": "a"}]},
            "metrics[1].name",
            "Metric config name must be unique. 'a' is duplicated.",
        ),
        ({**canary_config(), "metrics": [{"query": {}}]}, "metrics[0].name", "Metric config must specify a name."),
    ]
    for config, field, reason in cases:
        refused = await front50.send(SaveCanaryConfig(authority=ADMIN, canary_config=config))
        assert isinstance(refused, CommandRejected), config
        assert (refused.status, refused.field, refused.reason) == (400, field, reason)
    listed = await front50.ask(ListCanaryConfigs())
    assert isinstance(listed, CanaryConfigList) and listed.canary_configs == []


async def test_only_writers_of_every_listed_application_may_save_or_delete(front50: Front50Client) -> None:
    guarded = {"name": "shop", "email": "a@b.c", "permissions": {"READ": ["dev"], "WRITE": ["shop-team"]}}
    await front50.send(SaveApplication(authority=ADMIN, application=guarded))
    reader = Authority(user="dora", roles=("dev",))
    writer = Authority(user="wes", roles=("shop-team",))

    refused = await front50.send(SaveCanaryConfig(authority=reader, canary_config=canary_config(id="c1")))
    assert isinstance(refused, CommandRejected) and refused.status == 403
    assert "lacks WRITE permission on application 'shop'" in refused.reason
    saved = await front50.send(SaveCanaryConfig(authority=writer, canary_config=canary_config(id="c1")))
    assert isinstance(saved, CanaryConfigSaved)

    # moving it to an open application still needs WRITE on the one it leaves
    moved = canary_config("latency", "open-app")
    stolen = await front50.send(SaveCanaryConfig(authority=reader, canary_config=moved, config_id="c1", create=False))
    assert isinstance(stolen, CommandRejected) and stolen.status == 403

    denied = await front50.send(DeleteCanaryConfig(authority=reader, config_id="c1"))
    assert isinstance(denied, CommandRejected) and denied.status == 403
    deleted = await front50.send(DeleteCanaryConfig(authority=writer, config_id="c1"))
    assert isinstance(deleted, CanaryConfigDeleted) and deleted.applications == ["shop"]
    gone = await front50.ask(GetCanaryConfig(config_id="c1"))
    assert isinstance(gone, CanaryConfigFound) and gone.canary_config is None
    missing = await front50.send(DeleteCanaryConfig(authority=writer, config_id="c1"))
    assert isinstance(missing, CommandRejected) and missing.status == 404
