"""At-least-once delivery: a command delivered twice is applied once and answered with the same event."""

from __future__ import annotations

import asyncio

from schemas.front50 import (
    CommandRejected,
    DeletePipeline,
    GetPipelineHistory,
    History,
    ListPipelineConfigs,
    PipelineDeleted,
    PipelineList,
    PipelineSaved,
    SavePipeline,
)
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client, pipeline


async def deliver_twice(front50: Front50Client, command: SavePipeline | DeletePipeline) -> list[object]:
    envelope = await front50.bus.send(command)
    await front50.caused_by(envelope.id)
    await front50.bus.send_envelope(envelope, to="front50")
    return list(await front50.caused_by(envelope.id, count=2))


async def test_redelivered_save_is_applied_once(front50: Front50Client) -> None:
    created, created_again = await deliver_twice(front50, SavePipeline(authority=ADMIN, pipeline=pipeline()))
    assert isinstance(created, PipelineSaved) and created_again == created
    stored = created.pipeline

    update = SavePipeline(
        authority=ADMIN, pipeline={**stored, "description": "v2"}, expected_update_ts=stored["updateTs"]
    )
    first, second = await deliver_twice(front50, update)
    assert isinstance(first, PipelineSaved) and second == first, "the same result, not a 409 for the stale ts"

    history = await front50.ask(GetPipelineHistory(id=stored["id"]))
    assert isinstance(history, History) and len(history.versions) == 2
    listed = await front50.ask(ListPipelineConfigs(application="billing"))
    assert isinstance(listed, PipelineList) and len(listed.pipelines) == 1


async def test_redelivery_after_a_crash_before_the_outcome_was_recorded(front50: Front50Client) -> None:
    envelope = await front50.bus.send(SavePipeline(authority=ADMIN, pipeline=pipeline()))
    (first,) = await front50.caused_by(envelope.id)
    await front50.db["front50_applied_commands"].delete_one({"_id": envelope.id})

    await front50.bus.send_envelope(envelope, to="front50")
    _, second = await front50.caused_by(envelope.id, count=2)
    assert isinstance(first, PipelineSaved) and second == first
    history = await front50.ask(GetPipelineHistory(id=first.pipeline["id"]))
    assert isinstance(history, History) and len(history.versions) == 1


async def test_redelivered_delete_and_rejection_repeat_their_result(front50: Front50Client) -> None:
    await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline()))
    deleted, deleted_again = await deliver_twice(
        front50, DeletePipeline(authority=ADMIN, application="billing", name="deploy")
    )
    assert isinstance(deleted, PipelineDeleted) and deleted_again == deleted, "not a 404 the second time"

    bad = SavePipeline(authority=ADMIN, pipeline=pipeline(name=""))
    rejected, rejected_again = await deliver_twice(front50, bad)
    assert isinstance(rejected, CommandRejected) and rejected_again == rejected


async def test_concurrent_editors_with_the_same_read_one_wins(front50: Front50Client) -> None:
    stored = (await front50.send(SavePipeline(authority=ADMIN, pipeline=pipeline()))).pipeline  # type: ignore[attr-defined]
    edits = [
        SavePipeline(
            authority=ADMIN, pipeline={**stored, "description": f"editor {n}"}, expected_update_ts=stored["updateTs"]
        )
        for n in range(5)
    ]
    results = await asyncio.gather(*(front50.send(edit) for edit in edits))
    winners = [r for r in results if isinstance(r, PipelineSaved)]
    losers = [r for r in results if isinstance(r, CommandRejected)]
    assert len(winners) == 1 and len(losers) == 4
    assert all(loser.status == 409 for loser in losers)
    history = await front50.ask(GetPipelineHistory(id=stored["id"]))
    assert isinstance(history, History) and len(history.versions) == 2
    assert history.versions[0] == winners[0].pipeline
