"""Secrets, tried by someone who may READ the application: never read back, logged or sent to a sink.

A pipeline of ``shop`` holds a webhook trigger ``secret`` and a parameter marked ``sensitive``
whose default, and the value a run is given, are secrets. Every read a reader of ``shop`` can make
(pipeline configs, their history, executions' trigger and context, the event stream, Deck's calls)
shows :data:`schemas.secrets.MARKER` instead; a save that sends the marker back keeps the stored
secret; nothing the services log holds one (structlog capture); a sink (a local Elasticsearch)
receives the events without them. A malformed ``Authorization`` header is never echoed or logged.
Runs on MemoryBus and RabbitMQ.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from structlog.testing import capture_logs
from ulid import ULID

from schemas.echo_sinks import ElasticsearchSink
from schemas.json_types import Json
from schemas.secrets import MARKER
from tests.conftest import AMQP_URL
from tests.integration.echo.sink_servers import FakeElasticsearch, serve
from tests.outbound import LOOPBACK_TEST_SERVERS
from tests.security.authority_world import RIVAL, SHOP, World, headers, running_world
from workers.echo.sinks import SinkRunner
from workers.front50.store import PREFIX

pytestmark = pytest.mark.asyncio(loop_scope="module")

TRIGGER_SECRET = "trigger-secret-5f1c9a"
DEFAULT_PASSWORD = "default-password-77ab"
RUN_PASSWORD = "run-password-0c3e"
SECRETS = (TRIGGER_SECRET, DEFAULT_PASSWORD, RUN_PASSWORD)
PIPELINES = f"{PREFIX}pipelines"


def pipeline(name: str, secret: str = TRIGGER_SECRET) -> Json:
    return {
        "application": "shop",
        "name": name,
        "parameterConfig": [
            {"name": "password", "sensitive": True, "default": DEFAULT_PASSWORD},
            {"name": "region", "default": "eu"},
        ],
        "stages": [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}],
        "triggers": [{"type": "webhook", "enabled": True, "source": f"{name}-hook", "secret": secret}],
    }


async def stored_pipeline(world: World, pipeline_id: str) -> Json:
    """The pipeline as Front50 keeps it in MongoDB."""
    document = await world.db[PIPELINES].find_one({"_id": pipeline_id})
    assert document is not None, pipeline_id
    body: Json = json.loads(document["body"])
    return body


def leaked(value: Any) -> list[str]:
    text = json.dumps(value) if not isinstance(value, str) else value
    return [secret for secret in SECRETS if secret in text]


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    work_dir: Path = tmp_path_factory.mktemp("secrets")
    vhost = f"secrets-{str(ULID()).lower()}"
    async with running_world(request.param, work_dir, amqp_url=AMQP_URL, vhost=vhost) as world:
        await world.create_application("shop", SHOP)
        await world.create_application("rival", RIVAL)
        yield world


async def test_no_read_path_returns_a_secret_and_no_log_line_holds_one(world: World) -> None:
    name = f"deploy-{ULID()}".lower()
    stream = await world.client.get("/events/stream", params={"pattern": "#"}, headers=headers("viewer"))
    assert stream.status == 200
    with capture_logs() as logs:
        pipeline_id = await world.save_pipeline(pipeline(name))
        started = await world.client.post(
            f"/pipelines/shop/{name}", json={"parameters": {"password": RUN_PASSWORD}}, headers=headers("owner")
        )
        assert started.status in (200, 202), await started.text()
        execution_id = (await started.json())["ref"].rsplit("/", 1)[-1]
        done = await world.finished(execution_id)
        assert done["status"] == "SUCCEEDED", done

        reads = {
            path: await world.get(path, "viewer")
            for path in (
                "/applications/shop/pipelineConfigs",
                f"/applications/shop/pipelineConfigs/{name}",
                "/pipelineConfigs",
                f"/pipelineConfigs/{pipeline_id}/history",
                f"/pipelines/{execution_id}",
                "/applications/shop/pipelines",
                "/applications/shop/pipelines?expand=true",
                f"/applications/shop/pipelines?pipelineConfigIds={pipeline_id}",
            )
        }
    stream.close()
    for path, answer in reads.items():
        assert not leaked(answer), (path, leaked(answer))
    config = reads[f"/applications/shop/pipelineConfigs/{name}"]
    assert config["triggers"][0]["secret"] == MARKER
    assert [p.get("default") for p in config["parameterConfig"]] == [MARKER, "eu"]
    trigger = reads[f"/pipelines/{execution_id}"]["trigger"]
    assert trigger["parameters"] == {"password": MARKER, "region": "eu"}
    assert not leaked([dict(entry) for entry in logs]), "no log line holds a secret"
    stored = await stored_pipeline(world, pipeline_id)
    assert stored["triggers"][0]["secret"] == TRIGGER_SECRET, "the services still hold it"


async def test_the_stream_shows_markers_to_a_reader(world: World) -> None:
    name = f"streamed-{ULID()}".lower()
    stream = await world.client.get("/events/stream", params={"pattern": "front50.#"}, headers=headers("viewer"))
    assert stream.status == 200
    await stream.content.readline()
    await world.save_pipeline(pipeline(name))
    frames: list[Json] = []

    async def collect() -> None:
        async for raw in stream.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data: "):
                frames.append(json.loads(line[len("data: ") :]))
                if (frames[-1]["data"].get("pipeline") or {}).get("name") == name:
                    return

    await asyncio.wait_for(collect(), 30)
    stream.close()
    assert frames[-1]["data"]["pipeline"]["triggers"][0]["secret"] == MARKER
    assert not leaked(frames)


async def test_saving_back_what_was_read_keeps_the_secret_and_a_new_value_replaces_it(world: World) -> None:
    name = f"edited-{ULID()}".lower()
    pipeline_id = await world.save_pipeline(pipeline(name))
    read = await world.get(f"/applications/shop/pipelineConfigs/{name}", "owner")
    read["description"] = "edited by someone who never saw the secret"
    await world.save_pipeline(read, "owner")

    stored = await stored_pipeline(world, pipeline_id)
    assert stored["description"].startswith("edited")
    assert stored["triggers"][0]["secret"] == TRIGGER_SECRET
    assert stored["parameterConfig"][0]["default"] == DEFAULT_PASSWORD

    read["triggers"][0]["secret"] = "a-new-secret"
    await world.save_pipeline(read, "owner")
    stored = await stored_pipeline(world, pipeline_id)
    assert stored["triggers"][0]["secret"] == "a-new-secret"


async def test_a_marker_where_no_secret_is_stored_is_refused_naming_the_field(world: World) -> None:
    response = await world.client.post(
        "/pipelines", json=pipeline(f"new-{ULID()}".lower(), secret=MARKER), headers=headers("owner")
    )
    assert response.status == 400, await response.text()
    assert "triggers[0].secret" in await response.text()


async def test_a_sink_receives_events_without_their_secrets(world: World) -> None:
    elastic = FakeElasticsearch()
    name = f"sunk-{ULID()}".lower()
    async with serve(elastic.app()) as url:
        config = ElasticsearchSink(
            name=f"secrets-{ULID()}".lower(), url=url, patterns=("front50.pipeline.#",), batch_seconds=0.05
        )
        task = asyncio.create_task(SinkRunner(config, LOOPBACK_TEST_SERVERS, drain_seconds=0.5).run(world.bus))
        try:
            await asyncio.sleep(0.5)  # the sink's queue is bound
            await world.save_pipeline(pipeline(name))

            def arrived() -> list[Json]:
                return [d for d in elastic.documents.values() if (d["data"].get("pipeline") or {}).get("name") == name]

            documents = await world.until(lambda: asyncio.sleep(0, arrived()), bool, timeout=30)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert documents[0]["data"]["pipeline"]["triggers"][0]["secret"] == MARKER
    assert not leaked(documents)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("gnk_bare-token-abc123", "gnk_bare-token-abc123"),
        ("Bearer:gnk_colon-token-abc123", "gnk_colon-token-abc123"),
        ("Tok gnk_spaced-token-abc123", "gnk_spaced-token-abc123"),
        ("gnk_first-half-abc123 second-half", "gnk_first-half-abc123"),
    ],
)
async def test_a_malformed_authorization_header_is_never_echoed_or_logged(
    world: World, header: str, token: str
) -> None:
    with capture_logs() as logs:
        response = await world.client.get("/applications", headers={"Authorization": header})
        body = await response.text()
    assert response.status == 401, body
    for where in (body, json.dumps(dict(response.headers)), json.dumps([dict(entry) for entry in logs], default=str)):
        assert token not in where and header not in where


async def test_notification_credentials_are_hidden_and_kept_when_saved_back(world: World) -> None:
    credential = "notification-token-9d2e"
    preferences = {
        "webhook": [
            {
                "type": "webhook",
                "address": "https://hooks.example.com/deploys",
                "level": "application",
                "when": ["pipeline.complete"],
                "headers": {"Authorization": f"Bearer {credential}"},
            }
        ]
    }
    saved = await world.client.post("/notifications/application/shop", json=preferences, headers=headers("owner"))
    assert saved.status == 200, await saved.text()
    read = await world.get("/notifications/application/shop", "viewer")
    assert credential not in json.dumps(read)
    assert read["webhook"][0]["headers"]["Authorization"] == MARKER

    read["webhook"][0]["when"] = ["pipeline.failed"]
    again = await world.client.post("/notifications/application/shop", json=read, headers=headers("owner"))
    assert again.status == 200, await again.text()
    document = await world.db[f"{PREFIX}notifications"].find_one({"_id": "shop"})
    assert document is not None
    stored = json.loads(document["body"])
    assert stored["webhook"][0]["when"] == ["pipeline.failed"]
    assert stored["webhook"][0]["headers"]["Authorization"] == f"Bearer {credential}"
