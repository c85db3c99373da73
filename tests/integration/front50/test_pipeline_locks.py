"""Locked pipelines (Spinnaker's ``locked``): Front50 refuses to change them except for the lock owner."""

from __future__ import annotations

from typing import Any

from schemas.authority import Authority
from schemas.front50 import (
    CommandRejected,
    DeletePipeline,
    GetPipelineConfig,
    PipelineDeleted,
    PipelineFound,
    PipelineSaved,
    PipelinesReordered,
    RenamePipeline,
    ReorderPipelines,
    SavePipeline,
)
from schemas.pipeline_locks import lock_owner, managed_lock
from tests.authorities import ADMIN
from tests.integration.front50.conftest import Front50Client, pipeline

MANAGED = "Managed by Dinghy: acme/billing/dinghyfile"


def rejected(event: Any, status: int, field: str) -> CommandRejected:
    assert isinstance(event, CommandRejected), event
    assert (event.status, event.field) == (status, field), event
    return event


async def stored(front50: Front50Client, pipeline_id: str) -> dict[str, Any]:
    found = await front50.ask(GetPipelineConfig(id=pipeline_id))
    assert isinstance(found, PipelineFound) and found.pipeline is not None
    return found.pipeline


async def test_a_managed_pipeline_refuses_everyone_but_its_owner(front50: Front50Client) -> None:
    owner = lock_owner("dinghy")
    first = await front50.send(SavePipeline(pipeline=pipeline(locked=managed_lock(MANAGED)), authority=owner))
    assert isinstance(first, PipelineSaved), first
    locked = first.pipeline
    assert locked["locked"] == {"ui": True, "allowUnlockUi": False, "description": MANAGED}

    # an admin's edit, an edit that keeps the lock, an unlock the lock forbids, a rename, a delete: all 409
    edited = {**locked, "description": "edited in the UI"}
    refusal = rejected(await front50.send(SavePipeline(pipeline=edited, authority=ADMIN)), 409, "locked")
    assert MANAGED in refusal.reason and "'deploy'" in refusal.reason
    unlocked = {key: value for key, value in edited.items() if key != "locked"}
    refusal = rejected(await front50.send(SavePipeline(pipeline=unlocked, authority=ADMIN)), 409, "locked")
    assert "cannot be unlocked" in refusal.reason
    # a person named like the owner is not its service account
    person = Authority(user="dinghy", admin=True)
    rejected(await front50.send(SavePipeline(pipeline=edited, authority=person)), 409, "locked")
    rename = RenamePipeline(application="billing", from_name="deploy", to_name="other", authority=ADMIN)
    rejected(await front50.send(rename), 409, "locked")
    rejected(await front50.send(DeletePipeline(application="billing", name="deploy", authority=ADMIN)), 409, "locked")
    assert await stored(front50, locked["id"]) == locked, "nothing changed"

    # reordering only moves it
    moved = await front50.send(
        ReorderPipelines(application="billing", ids_to_indices={locked["id"]: 4}, authority=ADMIN)
    )
    assert isinstance(moved, PipelinesReordered), moved

    # the owner changes it at will (Dinghy applying a new commit)
    again = await front50.send(SavePipeline(pipeline={**edited, "locked": managed_lock(MANAGED)}, authority=owner))
    assert isinstance(again, PipelineSaved) and again.pipeline["description"] == "edited in the UI"


async def test_a_ui_lock_is_lifted_only_by_an_explicit_unlock(front50: Front50Client) -> None:
    ui_lock = {"ui": True, "allowUnlockUi": True, "description": "frozen for the audit"}
    first = await front50.send(SavePipeline(pipeline=pipeline(locked=ui_lock), authority=ADMIN))
    assert isinstance(first, PipelineSaved), first
    body = first.pipeline

    refusal = rejected(await front50.send(SavePipeline(pipeline={**body, "index": 2}, authority=ADMIN)), 409, "locked")
    assert "frozen for the audit" in refusal.reason
    unlocked = await front50.send(SavePipeline(pipeline={**body, "locked": {"ui": False}}, authority=ADMIN))
    assert isinstance(unlocked, PipelineSaved), unlocked
    deleted = await front50.send(DeletePipeline(application="billing", name="deploy", authority=ADMIN))
    assert isinstance(deleted, PipelineDeleted), deleted

    # nobody but a lock owner may set a lock that cannot be lifted; a malformed lock names its field
    forever = pipeline(name="forever", locked={"ui": True, "allowUnlockUi": False})
    rejected(await front50.send(SavePipeline(pipeline=forever, authority=ADMIN)), 400, "locked.allowUnlockUi")
    malformed = pipeline(name="bad", locked={"ui": "yes"})
    rejected(await front50.send(SavePipeline(pipeline=malformed, authority=ADMIN)), 400, "locked.ui")
    long = pipeline(name="long", locked={"ui": True, "allowUnlockUi": True, "description": "x" * 5000})
    rejected(await front50.send(SavePipeline(pipeline=long, authority=ADMIN)), 400, "locked.description")
