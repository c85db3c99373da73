"""Pipeline configs: save, read, history, concurrency (stale check vs last writer wins), names, order."""

from __future__ import annotations

import uuid

from schemas.front50 import (
    CommandRejected,
    DeletePipeline,
    GetPipelineConfig,
    GetPipelineHistory,
    History,
    ListPipelineConfigs,
    PipelineDeleted,
    PipelineFound,
    PipelineList,
    PipelineSaved,
    PipelinesReordered,
    RenamePipeline,
    ReorderPipelines,
    SavePipeline,
)
from tests.authorities import ADMIN, admin
from tests.integration.front50.conftest import Front50Client, pipeline


async def saved(front50: Front50Client, command: SavePipeline) -> PipelineSaved:
    event = await front50.send(command)
    assert isinstance(event, PipelineSaved), event
    return event


async def test_save_then_list_get_and_history(front50: Front50Client) -> None:
    first = await saved(front50, SavePipeline(pipeline=pipeline(name=" deploy ", index=3), authority=admin("alice")))
    stored = first.pipeline
    assert first.created
    assert uuid.UUID(stored["id"]), "a pipeline without an id gets a UUID"
    assert stored["name"] == "deploy" and stored["index"] == 3
    assert stored["lastModifiedBy"] == "alice" and stored["updateTs"].isdigit()
    assert stored["stages"][1]["requisiteStageRefIds"] == ["1"], "Spinnaker's JSON is kept as given"

    by_name = await front50.ask(GetPipelineConfig(application="BILLING", name="Deploy"))
    assert isinstance(by_name, PipelineFound) and by_name.pipeline == stored
    by_id = await front50.ask(GetPipelineConfig(id=stored["id"]))
    assert isinstance(by_id, PipelineFound) and by_id.pipeline == stored

    changed = {**stored, "description": "now with a description"}
    second = await saved(front50, SavePipeline(pipeline=changed, authority=admin("bob")))
    assert not second.created and second.pipeline["id"] == stored["id"]
    assert int(second.pipeline["updateTs"]) > int(stored["updateTs"])

    history = await front50.ask(GetPipelineHistory(id=stored["id"]))
    assert isinstance(history, History)
    assert [v.get("description") for v in history.versions] == ["now with a description", None]
    assert [v["lastModifiedBy"] for v in history.versions] == ["bob", "alice"]
    limited = await front50.ask(GetPipelineHistory(id=stored["id"], limit=1))
    assert isinstance(limited, History) and len(limited.versions) == 1

    listed = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(listed, PipelineList) and [p["name"] for p in listed.pipelines] == ["deploy"]
    everything = await front50.ask(ListPipelineConfigs())
    assert isinstance(everything, PipelineList) and len(everything.pipelines) == 1


async def test_cron_triggers_get_an_id(front50: Front50Client) -> None:
    cron = {"type": "cron", "cronExpression": "0 0/30 * * * ?", "enabled": True}
    event = await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline(triggers=[cron])))
    assert uuid.UUID(event.pipeline["triggers"][0]["id"])


async def test_stale_update_ts_is_rejected_with_409_and_nothing_is_stored(front50: Front50Client) -> None:
    original = (await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline()))).pipeline
    read_ts = original["updateTs"]
    alice = await saved(
        front50,
        SavePipeline(authority=ADMIN, pipeline={**original, "description": "alice"}, expected_update_ts=read_ts),
    )

    bob = await front50.send(
        SavePipeline(authority=ADMIN, pipeline={**original, "description": "bob"}, expected_update_ts=read_ts)
    )
    assert isinstance(bob, CommandRejected)
    assert (bob.status, bob.field, bob.command_type) == (409, "updateTs", "front50.SavePipeline")
    assert read_ts in bob.reason and alice.pipeline["updateTs"] in bob.reason

    current = await front50.ask(GetPipelineConfig(id=original["id"]))
    assert isinstance(current, PipelineFound) and current.pipeline == alice.pipeline
    history = await front50.ask(GetPipelineHistory(id=original["id"]))
    assert isinstance(history, History) and len(history.versions) == 2

    bob_retry = await saved(
        front50,
        SavePipeline(
            authority=ADMIN, pipeline={**original, "description": "bob"}, expected_update_ts=alice.pipeline["updateTs"]
        ),
    )
    assert bob_retry.pipeline["description"] == "bob"


async def test_without_update_ts_the_last_writer_wins(front50: Front50Client) -> None:
    original = (await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline()))).pipeline
    await saved(front50, SavePipeline(authority=ADMIN, pipeline={**original, "description": "alice"}))
    bob = await saved(front50, SavePipeline(authority=ADMIN, pipeline={**original, "description": "bob"}))
    current = await front50.ask(GetPipelineConfig(id=original["id"]))
    assert isinstance(current, PipelineFound) and current.pipeline == bob.pipeline


async def test_an_existing_name_under_another_id_is_a_duplicate(front50: Front50Client) -> None:
    await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline(name="deploy")))
    duplicate = await front50.send(
        SavePipeline(authority=ADMIN, pipeline=pipeline(name="DEPLOY", id=str(uuid.uuid4())))
    )
    assert isinstance(duplicate, CommandRejected)
    assert (duplicate.status, duplicate.field) == (400, "name")
    assert "already exists in application billing" in duplicate.reason
    listed = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(listed, PipelineList) and len(listed.pipelines) == 1
    other_app = await front50.send(
        SavePipeline(authority=ADMIN, pipeline=pipeline(application="payments", name="deploy"))
    )
    assert isinstance(other_app, PipelineSaved), "names are unique per application only"


async def test_rename_keeps_id_and_history(front50: Front50Client) -> None:
    deploy = (await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline(name="deploy")))).pipeline
    await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline(name="rollback")))

    moved = await front50.send(
        RenamePipeline(authority=ADMIN, application="billing", from_name="Deploy", to_name="ship it")
    )
    assert isinstance(moved, PipelineSaved) and not moved.created
    assert (moved.pipeline["id"], moved.pipeline["name"]) == (deploy["id"], "ship it")
    old = await front50.ask(GetPipelineConfig(application="billing", name="deploy"))
    assert isinstance(old, PipelineFound) and old.pipeline is None
    history = await front50.ask(GetPipelineHistory(id=deploy["id"]))
    assert isinstance(history, History) and [v["name"] for v in history.versions] == ["ship it", "deploy"]

    clash = await front50.send(
        RenamePipeline(authority=ADMIN, application="billing", from_name="ship it", to_name="rollback")
    )
    assert isinstance(clash, CommandRejected) and (clash.status, clash.field) == (400, "to_name")
    missing = await front50.send(RenamePipeline(authority=ADMIN, application="billing", from_name="nope", to_name="x"))
    assert isinstance(missing, CommandRejected) and (missing.status, missing.field) == (404, "from_name")


async def test_reorder_sets_indices_and_list_follows_them(front50: Front50Client) -> None:
    ids = {}
    for name in ("a", "b", "c"):
        ids[name] = (await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline(name=name)))).pipeline["id"]
    order = {ids["c"]: 0, ids["a"]: 1, ids["b"]: 2}
    event = await front50.send(ReorderPipelines(authority=ADMIN, application="Billing", ids_to_indices=order))
    assert event == PipelinesReordered(application="Billing", ids_to_indices=order)
    listed = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(listed, PipelineList)
    assert [(p["name"], p["index"]) for p in listed.pipelines] == [("c", 0), ("a", 1), ("b", 2)]

    foreign = (await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline(application="payments")))).pipeline[
        "id"
    ]
    refused = await front50.send(
        ReorderPipelines(authority=ADMIN, application="billing", ids_to_indices={ids["a"]: 5, foreign: 0})
    )
    assert isinstance(refused, CommandRejected)
    assert (refused.status, refused.field) == (404, "ids_to_indices") and foreign in refused.reason
    unchanged = await front50.ask(GetPipelineConfig(id=ids["a"]))
    assert isinstance(unchanged, PipelineFound) and unchanged.pipeline is not None
    assert unchanged.pipeline["index"] == 1, "a refused reorder changes nothing"


async def test_delete_pipeline(front50: Front50Client) -> None:
    deploy = (await saved(front50, SavePipeline(authority=ADMIN, pipeline=pipeline()))).pipeline
    event = await front50.send(DeletePipeline(authority=ADMIN, application="BILLING", name="DEPLOY"))
    assert event == PipelineDeleted(application="billing", name="deploy", id=deploy["id"])
    gone = await front50.ask(GetPipelineConfig(id=deploy["id"]))
    assert isinstance(gone, PipelineFound) and gone.pipeline is None
    again = await front50.send(DeletePipeline(authority=ADMIN, application="billing", name="deploy"))
    assert isinstance(again, CommandRejected) and (again.status, again.field) == (404, "name")
