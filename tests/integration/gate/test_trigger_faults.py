"""Triggering through Gate's routes never blocks, and a retried trigger starts nothing twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from schemas.idempotency import HEADER
from schemas.json_types import Json
from tests.integration.gate.conftest import Client, System, as_user
from tests.integration.gate.flows import create_application
from tests.integration.gate.test_executions import config, finished, read, save, stage, trigger, until

ANSWERED_WITHIN = 3.0
"""Seconds a trigger may take to answer; waiting for a start that never comes took the 10 s timeout."""


async def test_a_trigger_that_must_wait_its_turn_is_answered_at_once_and_replaces_the_older_waiting_one(
    client: Client,
) -> None:
    await create_application(client, "shop")
    one_at_a_time = config("shop", "one at a time", stage("1", waitTime=60), limitConcurrent=True)
    await save(client, {**one_at_a_time, "keepWaitingPipelines": False})
    running = await trigger(client, "shop", "one at a time")
    await until(client, running, lambda execution: execution["status"] == "RUNNING")

    answered = []
    for _ in range(2):
        asked = time.monotonic()
        answered.append(await trigger(client, "shop", "one at a time"))
        assert time.monotonic() - asked < ANSWERED_WITHIN
    older, newer = answered

    assert (await read(client, newer))["status"] == "BUFFERED"
    replaced = await finished(client, older)
    assert (replaced["status"], replaced["canceledBy"]) == ("CANCELED", "spinnaker")
    assert (await read(client, running))["status"] == "RUNNING"

    await client.put(f"{running}/cancel")
    await until(client, newer, lambda execution: execution["status"] == "RUNNING")
    await client.put(f"{newer}/cancel")
    assert (await finished(client, newer))["status"] == "CANCELED"


async def post(client: Client, path: str, body: Json, key: str | None, **headers: str) -> tuple[int, Json]:
    sent = {**headers, **({HEADER: key} if key is not None else {})}
    response = await client.post(path, json=body, headers=sent)
    return response.status, await response.json()


async def test_a_trigger_sent_again_with_its_idempotency_key_answers_the_first_ref(client: Client) -> None:
    await create_application(client, "shop")
    await save(client, config("shop", "deploy", stage("1", waitTime=30)))
    body = {"parameters": {"ticket": "OPS-7"}}

    first = await post(client, "/pipelines/shop/deploy", body, '"retry-me-1"')
    again = await post(client, "/pipelines/shop/deploy", body, "retry-me-1")  # bare, as most clients send it
    other = await post(client, "/pipelines/shop/deploy", {"parameters": {"ticket": "OPS-8"}}, "retry-me-1")
    fresh = await post(client, "/pipelines/shop/deploy", body, "retry-me-2")
    unkeyed = await post(client, "/pipelines/shop/deploy", body, None)

    assert first[0] == again[0] == fresh[0] == unkeyed[0] == 202
    assert again[1]["ref"] == first[1]["ref"]
    assert len({first[1]["ref"], fresh[1]["ref"], unkeyed[1]["ref"]}) == 3
    assert other[0] == 422, other
    assert (other[1]["field"], other[1]["status"]) == (HEADER, 422)
    assert "used within the last 24 hours for another request" in other[1]["message"]
    listed = await (await client.get("/applications/shop/pipelines", params={"limit": "10"})).json()
    assert len(listed) == 3

    started = await post(client, "/pipelines/start", config("shop", "ad hoc", stage("1")), "ad-hoc-1")
    restarted = await post(client, "/pipelines/start", config("shop", "ad hoc", stage("1")), "ad-hoc-1")
    assert started[0] == restarted[0] == 202 and started[1]["ref"] == restarted[1]["ref"]
    bad = await post(client, "/pipelines/shop/deploy", body, "x" * 300)
    assert bad[0] == 400 and bad[1]["field"] == HEADER


async def test_a_key_is_the_callers_own_and_is_forgotten_after_24_hours(secured: System) -> None:
    client = secured.client
    await create_application(client, "shop", headers=as_user("admin"))
    await save(client, config("shop", "deploy", stage("1", waitTime=30)), as_user("admin"))
    admin = await post(client, "/pipelines/shop/deploy", {}, "shared", **as_user("admin"))
    dev = await post(client, "/pipelines/shop/deploy", {}, "shared", **as_user("ops"))
    assert admin[0] == dev[0] == 202 and admin[1]["ref"] != dev[1]["ref"]

    await secured.db["orca_client_keys"].update_many({}, {"$set": {"expiresAt": datetime.now(UTC) - timedelta(1)}})
    later = await post(client, "/pipelines/shop/deploy", {}, "shared", **as_user("admin"))
    assert later[0] == 202 and later[1]["ref"] != admin[1]["ref"]


async def test_a_task_sent_again_with_its_idempotency_key_answers_the_first_ref(client: Client) -> None:
    job = {"type": "createApplication", "application": {"name": "books", "email": "books@example.com"}}
    body = {"application": "books", "description": "Create Application: books", "job": [job]}
    first = await post(client, "/tasks", body, "create-books")
    again = await post(client, "/tasks", body, "create-books")
    other = await post(client, "/tasks", {**body, "description": "something else"}, "create-books")

    assert first[0] == again[0] == 200 and again[1]["ref"] == first[1]["ref"]
    assert other[0] == 422 and other[1]["field"] == HEADER
    tasks = await (await client.get("/applications/books/tasks")).json()
    assert [task["id"] for task in tasks] == [first[1]["ref"].removeprefix("/tasks/")]
