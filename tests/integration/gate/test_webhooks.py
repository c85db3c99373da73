"""Webhooks through the gateway to Echo: generic, typed and git pushes, with secrets and signatures.

The gateway, Front50 and Echo run for real on one MemoryBus and store; Orca's command queue is
taken by a recorder so each test sees the ``orca.TriggerPipeline`` commands Echo sent (one test
runs the real Orca and reads the execution back through Gate).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from ulid import ULID

from bus.service import ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.echo import HandleWebhook
from schemas.idempotency import HEADER, ClientKey, fingerprint
from schemas.json_types import Json
from schemas.orca_engine import ExecutionList, ListExecutions
from tests.integration.echo.triggers_support import Recorder, config, save_pipelines, until
from tests.integration.gate.conftest import AUTH, System, start_system
from workers.echo import worker as echo
from workers.echo.triggers import TriggerOptions

SECRET = "It's a Secret to Everybody"
PUSH: Json = {
    "ref": "refs/heads/main",
    "before": "0000000000000000000000000000000000000000",
    "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "repository": {
        "id": 1296269,
        "name": "Hello-World",
        "full_name": "octocat/Hello-World",
        "owner": {"name": "octocat", "email": "octocat@github.com", "login": "octocat"},
    },
    "pusher": {"name": "octocat", "email": "octocat@github.com"},
    "head_commit": {"id": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "message": "Update README"},
}


@dataclass
class Webhooks:
    system: System
    recorder: Recorder

    async def post(self, path: str, body: Json | bytes, headers: dict[str, str] | None = None) -> str:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = await self.system.client.post(
            path, data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        assert response.status == 200, await response.text()
        answer = await response.json()
        assert answer["eventProcessed"] is True
        return str(answer["eventId"])


async def start(stack: AsyncExitStack, *configs: Json, workers: tuple[str, ...] = ("front50",), **kw: Any) -> Webhooks:
    """The system with ``configs`` saved before Echo starts (so its first load sees them)."""
    system = await start_system(stack, workers=workers, **kw)
    await save_pipelines(system.bus, *configs)
    recorder = await Recorder().start(system.bus, orca="orca" not in workers)
    stack.push_async_callback(recorder.stop)
    host = ServiceHost(
        system.bus,
        echo.build_service(WorkerResources(Settings(), system.db), triggers=TriggerOptions(refresh_seconds=3600)),
    )
    await host.start()
    stack.push_async_callback(host.stop)
    return Webhooks(system, recorder)


def webhook(source: str, **fields: Any) -> Json:
    return {"type": "webhook", "enabled": True, "source": source, **fields}


def git(source: str = "github", **fields: Any) -> Json:
    return {"type": "git", "enabled": True, "source": source, "project": "octocat", "slug": "hello-world", **fields}


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def test_webhook_starts_each_enabled_pipeline_whose_source_and_constraints_match(stack: AsyncExitStack) -> None:
    hooks = await start(
        stack,
        config("match", webhook("ci", payloadConstraints={"branch": "main|release-.*", "repository.name": "shop"})),
        config("constraint", webhook("ci", payloadConstraints={"branch": "develop"})),
        config("other-source", webhook("cd")),
        config("off", webhook("ci", enabled=False)),
        config("disabled", webhook("ci"), disabled=True),
    )
    image = {"type": "docker/image", "name": "acme/shop", "reference": "acme/shop:1.2.3"}
    payload = {
        "branch": "release-7",
        "repository": {"name": "shop"},
        "parameters": {"version": "1.2.3"},
        "artifacts": [image, "not an artifact"],
    }
    event_id = await hooks.post("/webhooks/webhook/ci", payload)

    processed = await hooks.recorder.webhook(event_id)
    assert processed.triggered == ["match"]
    assert processed.refused == {"constraint": "payloadConstraints.branch: 'release-7' does not match 'develop'"}
    await until(lambda: len(hooks.recorder.commands) == 1)
    command = hooks.recorder.commands[0]
    assert command.pipeline_name_or_id == "match"
    assert command.trigger["type"] == "webhook"
    assert command.trigger["payload"] == payload
    assert command.trigger["parameters"] == {"version": "1.2.3"}
    assert command.trigger["artifacts"] == [image]  # what Orca binds the pipeline's expected artifacts to
    assert command.trigger["eventId"] == event_id


async def test_typed_webhook_matches_triggers_of_that_type(stack: AsyncExitStack) -> None:
    hooks = await start(stack, config("a", {"type": "artifactory", "enabled": True, "source": "repo1"}))
    processed = await hooks.recorder.webhook(await hooks.post("/webhooks/artifactory/repo1", {"name": "lib.jar"}))
    assert processed.triggered == ["a"]
    assert hooks.recorder.commands[0].trigger["payload"] == {"name": "lib.jar"}
    nobody = await hooks.recorder.webhook(await hooks.post("/webhooks/artifactory/repo2", {"name": "lib.jar"}))
    assert nobody.triggered == []
    assert nobody.refused == {"*": "no enabled pipeline has an enabled artifactory trigger with source 'repo2'"}


async def test_webhook_secret_must_be_sent_in_its_header(stack: AsyncExitStack) -> None:
    hooks = await start(stack, config("guarded", webhook("ci", secret=SECRET)))

    refused = await hooks.recorder.webhook(await hooks.post("/webhooks/webhook/ci", {}))
    wrong = await hooks.recorder.webhook(
        await hooks.post("/webhooks/webhook/ci", {}, {"X-Gennaker-Webhook-Secret": "guess"})
    )
    assert refused.triggered == wrong.triggered == []
    assert "X-Gennaker-Webhook-Secret" in refused.refused["guarded"]

    accepted = await hooks.recorder.webhook(
        await hooks.post("/webhooks/webhook/ci", {}, {"X-Gennaker-Webhook-Secret": SECRET})
    )
    assert accepted.triggered == ["guarded"]
    await until(lambda: len(hooks.recorder.commands) == 1)
    assert "secret" not in hooks.recorder.commands[0].trigger


async def test_webhooks_need_no_credentials_and_a_body_that_is_not_a_json_object_is_400(stack: AsyncExitStack) -> None:
    hooks = await start(stack, auth=AUTH)
    await hooks.post("/webhooks/webhook/ci", {"any": "thing"})  # 200 without a token, as in Gate
    for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
        response = await hooks.system.client.post(
            "/webhooks/webhook/ci", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        assert "body" in json.dumps(await response.json())


async def test_signed_github_push_starts_the_matching_git_trigger(stack: AsyncExitStack) -> None:
    hooks = await start(
        stack,
        config("signed", git(branch="main|release/.*", secret=SECRET)),
        config("other-branch", git(branch="develop")),
        config("other-repo", git(slug="elsewhere")),
        config("gitlab", git("gitlab")),
    )
    body = json.dumps(PUSH).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    event_id = await hooks.post(
        "/webhooks/git/github", body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
    )

    processed = await hooks.recorder.webhook(event_id)
    assert processed.triggered == ["signed"]
    await until(lambda: len(hooks.recorder.commands) == 1)
    trigger = hooks.recorder.commands[0].trigger
    assert {key: trigger[key] for key in ("type", "source", "project", "slug", "branch", "hash", "action")} == {
        "type": "git",
        "source": "github",
        "project": "octocat",
        "slug": "Hello-World",
        "branch": "main",
        "hash": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "action": "push",
    }
    assert "secret" not in trigger


async def test_github_push_with_a_bad_or_missing_signature_starts_nothing(stack: AsyncExitStack) -> None:
    hooks = await start(stack, config("signed", git(secret=SECRET)))
    body = json.dumps(PUSH).encode()
    forged = "sha256=" + hmac.new(b"wrong", body, hashlib.sha256).hexdigest()

    bad = await hooks.recorder.webhook(await hooks.post("/webhooks/git/github", body, {"X-Hub-Signature-256": forged}))
    missing = await hooks.recorder.webhook(await hooks.post("/webhooks/git/github", body))
    ping = await hooks.recorder.webhook(
        await hooks.post("/webhooks/git/github", {"zen": "hi"}, {"X-GitHub-Event": "ping"})
    )

    assert bad.refused == {"signed": "X-Hub-Signature-256 does not match the secret"}
    assert missing.refused == {"signed": "missing X-Hub-Signature-256"}
    assert ping.triggered == [] and ping.refused == {}
    assert hooks.recorder.commands == []


async def test_gitlab_and_bitbucket_pushes(stack: AsyncExitStack) -> None:
    hooks = await start(
        stack,
        config("lab", git("gitlab", project="platform", slug="api", branch="main", secret="tok")),
        config("bucket", git("bitbucket", project="team", slug="site", branch="feature/.*")),
    )
    gitlab_push = {
        "object_kind": "push",
        "ref": "refs/heads/main",
        "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "project": {"name": "api", "namespace": "platform", "path_with_namespace": "platform/api"},
    }
    bitbucket_push = {
        "repository": {"full_name": "team/site", "name": "site"},
        "push": {"changes": [{"new": {"type": "branch", "name": "feature/x", "target": {"hash": "abc123"}}}]},
    }
    headers = {"X-Gitlab-Event": "Push Hook"}
    wrong = await hooks.recorder.webhook(
        await hooks.post("/webhooks/git/gitlab", gitlab_push, {**headers, "X-Gitlab-Token": "nope"})
    )
    lab = await hooks.recorder.webhook(
        await hooks.post("/webhooks/git/gitlab", gitlab_push, {**headers, "X-Gitlab-Token": "tok"})
    )
    bucket = await hooks.recorder.webhook(
        await hooks.post("/webhooks/git/bitbucket", bitbucket_push, {"X-Event-Key": "repo:push"})
    )

    assert wrong.refused == {"lab": "X-Gitlab-Token does not match the secret"}
    assert (lab.triggered, bucket.triggered) == (["lab"], ["bucket"])
    await until(lambda: len(hooks.recorder.commands) == 2)
    by_config = {command.pipeline_name_or_id: command.trigger for command in hooks.recorder.commands}
    assert by_config["lab"]["hash"] == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert (by_config["bucket"]["branch"], by_config["bucket"]["hash"]) == ("feature/x", "abc123")


async def test_a_webhook_runs_the_pipeline_once_even_when_its_command_is_delivered_twice(stack: AsyncExitStack) -> None:
    hooks = await start(stack, config("deploy", webhook("ci")), workers=("front50", "orca"))
    event_id = await hooks.post("/webhooks/webhook/ci", {"parameters": {"ticket": "OPS-1"}})
    await hooks.recorder.webhook(event_id)
    await until(lambda: len(hooks.recorder.fired) == 1)

    async def executions() -> list[Json]:
        reply = await hooks.system.bus.ask(ListExecutions(application="shop"), timeout=5)
        assert isinstance(reply, ExecutionList)
        return reply.executions

    found: list[Json] = []
    for _ in range(250):
        found = await executions()
        if found:
            break
        await asyncio.sleep(0.02)
    assert len(found) == 1
    assert found[0]["trigger"]["type"] == "webhook"
    assert found[0]["trigger"]["parameters"]["ticket"] == "OPS-1"

    redelivered = HandleWebhook(
        event_id=event_id,
        type="webhook",
        source="ci",
        body=json.dumps({"parameters": {"ticket": "OPS-1"}}),
        received_at=ULID.from_str(hooks.recorder.fired[0].idempotency_key).milliseconds,
    )
    await hooks.system.bus.send(redelivered)
    await until(lambda: len(hooks.recorder.fired) == 2)
    assert hooks.recorder.fired[0].idempotency_key == hooks.recorder.fired[1].idempotency_key
    await asyncio.sleep(0.3)
    assert len(await executions()) == 1


async def test_a_webhook_sent_again_with_its_idempotency_key_is_the_same_delivery(stack: AsyncExitStack) -> None:
    hooks = await start(stack, config("deploy", webhook("ci")))
    body = {"branch": "main", "parameters": {"version": "1.2.3"}}
    event_id = await hooks.post("/webhooks/webhook/ci", body, {HEADER: "build-42"})
    processed = await hooks.recorder.webhook(event_id)
    assert processed.triggered == ["deploy"]
    await until(lambda: len(hooks.recorder.fired) == 1)

    assert await hooks.post("/webhooks/webhook/ci", body, {HEADER: "build-42"}) == event_id
    other = await hooks.system.client.post("/webhooks/webhook/ci", json={"branch": "dev"}, headers={HEADER: "build-42"})
    assert other.status == 422 and (await other.json())["field"] == HEADER
    elsewhere = await hooks.post("/webhooks/webhook/cd", body, {HEADER: "build-42"})  # another source: another key
    assert elsewhere != event_id

    # a retry that reached Echo before the first was remembered (the gateway found nothing to answer
    # from) comes later, and is still the same delivery: it starts the pipeline under the first's key
    first = hooks.recorder.fired[0]
    key = ClientKey(
        scope="webhook:webhook/ci",
        key="build-42",
        fingerprint=fingerprint("POST", "/webhooks/webhook/ci", json.dumps(body)),
    )
    late = ULID.from_str(first.idempotency_key).milliseconds + 5_000
    await hooks.system.bus.send(
        HandleWebhook(
            event_id=event_id, type="webhook", source="ci", body=json.dumps(body), received_at=late, client_key=key
        )
    )
    await until(lambda: len(hooks.recorder.fired) == 2)
    assert hooks.recorder.fired[1].idempotency_key == first.idempotency_key
