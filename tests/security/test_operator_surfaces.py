"""The operators' surfaces, tried by users who are not operators: ``/dlq`` and ``GET /events/stream``.

Dead letters are any service's messages in full and replaying one makes a service act again, so
every ``/dlq`` route is for admins. The event stream passes an event on only to a subscriber who
may READ its application at that moment: another application's events never reach them — task
heartbeats and completions included, which name their application now — events naming no
application reach admins only, and an application that did not exist when the stream was opened
is judged by its permissions once it exists (the stale verdict that once leaked a trigger secret
for 30 s). Personas are :mod:`tests.security.authority_world`'s. Runs on MemoryBus and RabbitMQ.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import ClientResponse
from ulid import ULID

from schemas.clouddriver_operations import TaskCompleted
from schemas.front50 import SaveServiceAccount
from schemas.json_types import Json
from schemas.orca import TaskUpdated
from schemas.system import WorkerStarted
from tests.conftest import AMQP_URL
from tests.security.authority_world import RIVAL, SHOP, World, authority, headers, running_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "hunter2-trigger-secret"
OWNERS_ONLY = {"READ": ["shop-owners"], "WRITE": ["shop-owners"], "EXECUTE": ["shop-owners"]}


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    work_dir: Path = tmp_path_factory.mktemp("operators")
    vhost = f"operators-{str(ULID()).lower()}"
    async with running_world(request.param, work_dir, amqp_url=AMQP_URL, vhost=vhost) as world:
        await world.create_application("shop", SHOP)
        await world.create_application("rival", RIVAL)
        yield world


async def dead_letter(world: World) -> str:
    """A command Front50 cannot read, dead-lettered at once; its dead letter's id."""
    envelope = world.bus.envelope(SaveServiceAccount(service_account={"name": "bot"}, authority=authority("admin")))
    await world.bus.send_envelope(
        envelope.model_copy(update={"data": {"not": "a service account", "secret": "dlq-secret-7a"}}), to="front50"
    )
    letters = await world.until(
        world.bus.dead_letters, lambda letters: any(envelope.id in dead.body_text() for dead in letters)
    )
    return next(letter.id for letter in letters if envelope.id in letter.body_text())


# --- /dlq -------------------------------------------------------------------------------------------


async def test_every_dead_letter_route_refuses_whoever_is_not_an_admin(world: World) -> None:
    letter = await dead_letter(world)
    routes = (("GET", "/dlq", None), ("GET", f"/dlq/{letter}", None), ("POST", "/dlq/replay", {"all": True}))
    for persona in ("owner", "viewer", "deployer", "rival"):
        for method, path, body in routes:
            response = await world.client.request(method, path, json=body, headers=headers(persona))
            assert response.status == 403, (persona, method, path, await response.text())
            refusal = await response.json()
            assert refusal["error"] == "Forbidden"
            assert refusal["message"] == (
                f"Access denied to the dead letters - only admins may use it; user {persona!r} is not one"
            )
            assert letter not in await response.text()
    still = [dead.id for dead in await world.bus.dead_letters()]
    assert letter in still, "a refused replay replayed nothing"


async def test_an_admin_lists_shows_and_replays_dead_letters(world: World) -> None:
    letter = await dead_letter(world)
    listed = await world.get("/dlq")
    assert letter in [entry["id"] for entry in listed]
    shown = await world.get(f"/dlq/{letter}")
    assert shown["id"] == letter and "a service account" in shown["body"]
    assert "dlq-secret-7a" not in shown["body"] and '"secret":"**********"' in shown["body"]
    response = await world.client.post("/dlq/replay", json={"ids": [letter]}, headers=headers("admin"))
    assert response.status == 200, await response.text()
    assert (await response.json())["replayed"] == 1


# --- /events/stream -----------------------------------------------------------------------------------


async def open_stream(world: World, persona: str, **params: str) -> ClientResponse:
    """``persona``'s stream of every event, bound once its first comment arrives."""
    response = await world.client.get("/events/stream", params={"pattern": "#", **params}, headers=headers(persona))
    assert response.status == 200, await response.text()
    assert (await response.content.readline()).startswith(b": following")
    return response


async def read_until(response: ClientResponse, last: Callable[[Json], bool], seconds: float = 30.0) -> list[Json]:
    """The events of an open stream up to and including the first for which ``last`` holds."""
    events: list[Json] = []

    async def collect() -> None:
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
                if last(events[-1]):
                    return

    try:
        await asyncio.wait_for(collect(), seconds)
    finally:
        response.close()
    return events


def pipeline(application: str, name: str, secret: str = SECRET) -> Json:
    """A pipeline whose webhook trigger holds ``secret``."""
    return {
        "application": application,
        "name": name,
        "stages": [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 1}],
        "triggers": [{"type": "webhook", "enabled": True, "source": f"{name}-hook", "secret": secret}],
    }


def saved(application: str, name: str) -> Callable[[Json], bool]:
    """Whether an event is Front50's answer to saving ``application``'s pipeline ``name``."""

    def matches(event: Json) -> bool:
        stored = event["data"].get("pipeline") or {}
        return (
            event["type"].endswith("front50.pipeline.saved.v1")
            and stored.get("name") == name
            and (stored.get("application") == application)
        )

    return matches


def mentions(events: list[Json], word: str) -> list[Json]:
    return [event for event in events if word in json.dumps(event).lower()]


async def test_a_subscriber_sees_only_the_applications_it_may_read_and_task_events_name_theirs(world: World) -> None:
    marker = f"marker-{ULID()}".lower()
    streams = {persona: await open_stream(world, persona) for persona in ("owner", "rival", "admin")}

    looked = await world.operate(
        authority("owner"), "findImageFromTags", {"packageName": "x", "credentials": "sandbox"}
    )
    assert looked["application"] == "shop", "Clouddriver names the task's application"
    untagged = TaskCompleted(execution_id="e-untagged", stage_id="s", task_id="1", attempt=1, status="SUCCEEDED")
    await world.bus.publish(untagged, subject="e-untagged")
    await world.bus.publish(WorkerStarted(service="marker", version="1", instance=marker))
    await world.bus.publish(TaskUpdated(task={"id": "t-ghost", "application": f"ghost-{marker}", "status": "RUNNING"}))
    await world.save_pipeline(pipeline("shop", f"shop-{marker}"))
    await world.save_pipeline(pipeline("rival", f"rival-{marker}"))
    await world.save_pipeline(pipeline("shop", f"end-{marker}"))
    await world.save_pipeline(pipeline("rival", f"end-{marker}"))

    owner = await read_until(streams["owner"], saved("shop", f"end-{marker}"))
    rival = await read_until(streams["rival"], saved("rival", f"end-{marker}"))
    admin = await read_until(streams["admin"], saved("rival", f"end-{marker}"))

    task_answers = [e for e in owner if e["type"].endswith("clouddriver.task.completed.v1")]
    assert [e["data"]["execution_id"] for e in task_answers] == [looked["execution_id"]]
    assert any(saved("shop", f"shop-{marker}")(e) for e in owner)
    assert not mentions(rival, "shop"), "nothing of shop reaches rival, its task answers included"
    assert not mentions(owner, "rival")
    for events in (owner, rival):
        assert not mentions(events, "e-untagged"), "a task event naming no application is for admins"
        assert not [e for e in events if e["type"].endswith("system.worker.started.v1")]
        assert not mentions(events, "ghost-"), "an application never stored is for admins"
    assert mentions(admin, "e-untagged") and mentions(admin, f"ghost-{marker}") and mentions(admin, "shop")


async def test_a_stream_opened_before_an_application_existed_never_shows_its_events_to_outsiders(
    world: World,
) -> None:
    name = f"fresh{str(ULID()).lower()[-8:]}"
    rival = await open_stream(world, "rival")
    owner = await open_stream(world, "owner")
    # the stream meets the name before Front50 stores it (Orca's createApplication task comes first)
    await world.bus.publish(TaskUpdated(task={"id": f"t-{name}", "application": name, "status": "RUNNING"}))
    await world.create_application(name, OWNERS_ONLY)
    await world.save_pipeline(pipeline(name, "deploy", secret=f"secret-of-{name}"))
    await world.save_pipeline(pipeline("rival", f"after-{name}"))
    await world.save_pipeline(pipeline("shop", f"after-{name}"))

    seen_by_rival = await read_until(rival, saved("rival", f"after-{name}"))
    seen_by_owner = await read_until(owner, saved("shop", f"after-{name}"))

    leaked = [e for e in mentions(seen_by_rival, name) if not saved("rival", f"after-{name}")(e)]
    assert not leaked, "the new restricted application's events reach whoever may READ it, only"
    assert f"secret-of-{name}" not in json.dumps(seen_by_rival)
    assert any(saved(name, "deploy")(e) for e in seen_by_owner), "its readers see it once it exists"


async def test_an_application_restricted_while_a_stream_is_open_is_hidden_from_then_on(world: World) -> None:
    name = f"closing{str(ULID()).lower()[-8:]}"
    await world.create_application(name, None)
    rival = await open_stream(world, "rival")
    await world.save_pipeline(pipeline(name, "while-open"))
    assert any(saved(name, "while-open")(e) for e in await read_until(rival, saved(name, "while-open")))

    rival = await open_stream(world, "rival")
    job = {"type": "updateApplication", "application": {"name": name, "permissions": OWNERS_ONLY}}
    response = await world.client.post("/tasks", json={"application": name, "job": [job]}, headers=headers("admin"))
    assert response.status == 200, await response.text()
    await world.until(
        lambda: world.get(f"/applications/{name}"), lambda app: bool(app["attributes"].get("permissions"))
    )
    await world.save_pipeline(pipeline(name, "after-closing"))
    await world.save_pipeline(pipeline("rival", f"after-{name}"))

    seen = await read_until(rival, saved("rival", f"after-{name}"))
    assert not [e for e in seen if saved(name, "after-closing")(e)], "the verdict follows the permissions"


async def test_naming_an_application_one_may_not_read_is_refused(world: World) -> None:
    for application in ("shop", f"never-stored-{ULID()}".lower()):
        response = await world.client.get(
            "/events/stream", params={"application": application}, headers=headers("rival")
        )
        assert response.status == 403, await response.text()
        assert f"Access denied to application {application}" in (await response.json())["message"]
    allowed = await open_stream(world, "viewer", application="shop")
    allowed.close()
