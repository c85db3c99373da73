"""Artifacts bound from triggers: docker pushes fire ``docker`` triggers with their image, git pushes
bring a file artifact per changed file, and malformed payloads are a 400 naming the field.

The gateway, Front50 and Echo run for real on one MemoryBus (``test_webhooks.start``); Orca's
command queue is a recorder, except in the last test, where the real Orca binds the pipeline's
expected artifact to the pushed image.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from schemas.igor import DockerImagePushed
from schemas.json_types import Json
from schemas.orca_engine import ExecutionList, ListExecutions
from schemas.trigger_artifacts import MAX_PAYLOAD_ARTIFACTS
from tests.integration.echo.triggers_support import config, until
from tests.integration.gate.test_webhooks import PUSH, Webhooks, start

IMAGE: Json = {"account": "dockerhub", "registry": "index.docker.io", "repository": "acme/shop", "tag": "v9.1"}
PUSHED: Json = {
    "type": "docker/image",
    "name": "index.docker.io/acme/shop",
    "version": "v9.1",
    "reference": "index.docker.io/acme/shop:v9.1",
}


def docker(**fields: Any) -> Json:
    trigger = {"type": "docker", "enabled": True, "account": "dockerhub", "registry": "index.docker.io"}
    return {**trigger, "repository": "acme/shop", **fields}


def registry_notification(*events: Json) -> Json:
    return {"events": list(events)}


def registry_push(repository: str, tag: str | None, media: str = "v2", **more: Any) -> Json:
    target: Json = {
        "mediaType": f"application/vnd.docker.distribution.manifest.{media}+json",
        "repository": repository,
        "digest": "sha256:" + "ab" * 32,
    }
    if tag is not None:
        target["tag"] = tag
    return {"action": "push", "target": target, "request": {"host": "registry.example.com:5000"}, **more}


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def fired(hooks: Webhooks, event_id: str) -> dict[str, Json]:
    processed = await hooks.recorder.webhook(event_id)
    await until(
        lambda: (
            len([c for c in hooks.recorder.commands if c.trigger.get("eventId") == event_id])
            == len(processed.triggered)
        )
    )
    return {c.pipeline_name_or_id: c.trigger for c in hooks.recorder.commands if c.trigger.get("eventId") == event_id}


async def test_a_docker_event_fires_the_docker_triggers_of_its_account_repository_and_tag(
    stack: AsyncExitStack,
) -> None:
    hooks = await start(
        stack,
        config("release", docker(tag="^v[0-9.]+$")),
        config("any-tag", docker()),
        config("other-tag", docker(tag="^rc-.*")),
        config("other-account", docker(account="quay")),
        config("other-repository", docker(repository="acme/cart")),
        config("bad-regex", docker(tag="v[")),
        config("guarded", docker(secret="s3cret")),
    )
    event_id = await hooks.post("/webhooks/docker", {**IMAGE, "digest": "sha256:" + "0f" * 32})
    triggers = await fired(hooks, event_id)

    assert sorted(triggers) == ["any-tag", "release"]
    release = triggers["release"]
    assert (release["type"], release["tag"], release["digest"]) == ("docker", "v9.1", "sha256:" + "0f" * 32)
    assert release["artifacts"] == [PUSHED]
    refused = (await hooks.recorder.webhook(event_id)).refused
    assert refused.pop("bad-regex").startswith("tag: invalid regular expression 'v['")
    assert refused == {"guarded": "X-Gennaker-Webhook-Secret is missing or does not match the trigger's secret"}

    latest = await hooks.post("/webhooks/docker", {**IMAGE, "tag": "latest"})
    assert (await hooks.recorder.webhook(latest)).triggered == []  # no tag pattern: any tag but latest
    nobody = await hooks.recorder.webhook(await hooks.post("/webhooks/docker", {**IMAGE, "repository": "acme/none"}))
    assert nobody.triggered == [] and "docker trigger" in nobody.refused["*"]


async def test_a_registry_notification_fires_the_docker_triggers_of_that_registry(stack: AsyncExitStack) -> None:
    hooks = await start(
        stack,
        config("private", docker(registry="registry.example.com:5000", repository="team/api", account="private")),
        config("hub", docker(tag="v.*")),
        config("hub-webhook", {"type": "webhook", "enabled": True, "source": "dockerhub"}),
        config("quay", docker(registry="quay.io", repository="team/api", account="quay", tag="")),
    )
    notification = registry_notification(
        registry_push("team/api", "2.0.1"),
        registry_push("team/api", None),  # by digest only: no tag, no docker trigger
        {"action": "pull", "target": {"repository": "team/api", "tag": "1.0"}},
        registry_push("team/api", "layer", media="v2.layer"),  # not a manifest: ignored, as Echo does
    )
    event_id = await hooks.post("/webhooks/docker/dockerregistry", notification)
    triggers = await fired(hooks, event_id)
    assert list(triggers) == ["private"]
    assert triggers["private"]["artifacts"] == [
        {
            "type": "docker/image",
            "name": "registry.example.com:5000/team/api",
            "version": "2.0.1",
            "reference": "registry.example.com:5000/team/api:2.0.1",
        }
    ]

    callback = "https://registry.hub.docker.com/u/acme/shop/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/"
    hub = {
        "callback_url": callback,
        "push_data": {"tag": "v9.1", "pusher": "octo"},
        "repository": {"repo_name": "acme/shop"},
    }
    assert list(await fired(hooks, await hooks.post("/webhooks/docker/dockerhub", hub))) == ["hub"]
    # Docker Hub's webhook to a plain webhook trigger brings its image, as Echo's extractor does
    webhook = await fired(hooks, await hooks.post("/webhooks/webhook/dockerhub", hub))
    assert webhook["hub-webhook"]["artifacts"] == [{**PUSHED, "metadata": {"pusher": "octo"}, "provenance": callback}]

    quay = {
        "repository": "team/api",
        "docker_url": "quay.io/team/api",
        "homepage": "https://quay.io/repository/team/api",
        "updated_tags": ["2.1.0", "latest"],
    }
    triggers = await fired(hooks, await hooks.post("/webhooks/docker/quay", quay))
    assert list(triggers) == ["quay"]  # one push per updated tag; the trigger has no tag: latest is not one
    assert triggers["quay"]["artifacts"] == [
        {
            "type": "docker/image",
            "name": "quay.io/team/api",
            "version": "2.1.0",
            "reference": "quay.io/team/api:2.1.0",
            "provenance": "https://quay.io/repository/team/api",
        }
    ]


async def test_a_tag_igor_announces_fires_the_docker_triggers_of_its_account(stack: AsyncExitStack) -> None:
    hooks = await start(stack, config("release", docker(tag="^v[0-9.]+$")), config("quay", docker(account="quay")))
    pushed = DockerImagePushed(account="dockerhub", registry="index.docker.io", repository="acme/shop", tag="v9.1")
    envelope = hooks.system.bus.envelope(pushed)
    for _ in range(50):  # until Echo's trigger-events queue is bound (the same envelope: one start)
        await hooks.system.bus.publish_envelope(envelope, routing_key=pushed.message_type)
        if hooks.recorder.commands:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)
    command = hooks.recorder.commands[0]
    assert {(c.pipeline_name_or_id, c.idempotency_key) for c in hooks.recorder.commands} == {
        ("release", command.idempotency_key)  # the same announcement again starts the same execution
    }
    assert (command.trigger["type"], command.trigger["tag"], command.trigger["artifacts"]) == (
        "docker",
        "v9.1",
        [PUSHED],
    )

    # the tag pushed again (an account tracking digests): another execution, even at the same instant
    again = hooks.system.bus.envelope(pushed.model_copy(update={"digest": "sha256:" + "b" * 64}))
    again.time = envelope.time
    await hooks.system.bus.publish_envelope(again, routing_key=pushed.message_type)
    for _ in range(50):
        if repushed := [c for c in hooks.recorder.commands if c.trigger.get("digest")]:
            break
        await asyncio.sleep(0.05)
    assert [(c.trigger["tag"], c.trigger["digest"]) for c in repushed] == [("v9.1", "sha256:" + "b" * 64)]
    assert repushed[0].idempotency_key != command.idempotency_key


async def test_git_pushes_bring_a_file_artifact_per_added_or_modified_file(stack: AsyncExitStack) -> None:
    git = {"type": "git", "enabled": True, "project": "octocat", "slug": "hello-world"}
    hooks = await start(
        stack,
        config("hub", {**git, "source": "github"}),
        config("lab", {**git, "source": "gitlab", "project": "platform", "slug": "api"}),
    )
    sha = PUSH["after"]
    push = {
        **PUSH,
        "repository": {
            **PUSH["repository"],
            "contents_url": "https://api.github.com/repos/octocat/Hello-World/contents/{+path}",
        },
        "commits": [
            {"added": ["deploy/web.yaml"], "modified": ["README.md"], "removed": ["old.txt"]},
            {"added": [], "modified": ["deploy/web.yaml"]},
        ],
    }
    triggers = await fired(hooks, await hooks.post("/webhooks/git/github", push, {"X-GitHub-Event": "push"}))
    assert triggers["hub"]["artifacts"] == [
        {
            "type": "github/file",
            "name": name,
            "version": sha,
            "reference": f"https://api.github.com/repos/octocat/Hello-World/contents/{name}",
        }
        for name in ("deploy/web.yaml", "README.md")
    ]

    gitlab = {
        "ref": "refs/heads/main",
        "after": "da15608",
        "project": {
            "name": "api",
            "namespace": "platform",
            "path_with_namespace": "platform/api",
            "homepage": "https://gitlab.example.com/platform/api",
        },
        "commits": [{"added": ["k8s/app deploy.yaml"], "modified": []}],
    }
    lab = await fired(hooks, await hooks.post("/webhooks/git/gitlab", gitlab, {"X-Gitlab-Event": "Push Hook"}))
    files = "https://gitlab.example.com/api/v4/projects/platform%2Fapi/repository/files"
    assert lab["lab"]["artifacts"] == [
        {
            "type": "gitlab/file",
            "name": "k8s/app deploy.yaml",
            "version": "da15608",
            "reference": f"{files}/k8s%2Fapp+deploy.yaml/raw",
        }
    ]


async def test_a_trigger_naming_expected_artifacts_fires_only_for_a_matching_one(stack: AsyncExitStack) -> None:
    expected = [
        {"id": "image", "matchArtifact": {"type": "docker/image", "name": "index.docker.io/acme/shop"}},
        {"id": "cart", "matchArtifact": {"type": "docker/image", "name": "index.docker.io/acme/cart"}},
    ]
    hooks = await start(
        stack,
        config("wants-shop", docker(expectedArtifactIds=["image"]), expectedArtifacts=expected),
        config("wants-cart", docker(expectedArtifactIds=["cart"]), expectedArtifacts=expected),
    )
    event_id = await hooks.post("/webhooks/docker", IMAGE)
    processed = await hooks.recorder.webhook(event_id)
    assert processed.triggered == ["wants-shop"]
    assert processed.refused["wants-cart"].startswith("expectedArtifactIds: none of the 1 artifact(s)")


MALFORMED: list[tuple[str, Json, str]] = [
    ("/webhooks/docker", {"account": "dockerhub", "repository": "acme/shop"}, "tag"),
    ("/webhooks/docker", {**IMAGE, "repository": "Acme/Shop!"}, "repository"),
    ("/webhooks/docker", {**IMAGE, "tag": "v1 ; rm"}, "tag"),
    ("/webhooks/docker", {**IMAGE, "tag": 9}, "tag"),
    ("/webhooks/docker", {"repository": "acme/shop", "tag": "v1"}, "account"),
    ("/webhooks/docker", {**IMAGE, "account": "dock\nerhub"}, "account"),
    ("/webhooks/docker/dockerhub", {"repository": {"repo_name": "acme/shop"}}, "push_data.tag"),
    ("/webhooks/docker/quay", {"docker_url": "quay.io/team/api", "repository": "team/api"}, "updated_tags"),
    ("/webhooks/docker/quay", {"docker_url": "quay.io/team/api", "repository": "other/api"}, "repository"),
    ("/webhooks/docker/dockerregistry", {"events": {"action": "push"}}, "events"),
    (
        "/webhooks/docker/dockerregistry",
        registry_notification(registry_push("", "v1")),
        "events[0].target.repository",
    ),
    ("/webhooks/webhook/dockerhub", {"push_data": {"tag": "v1"}}, "repository.repo_name"),
    ("/webhooks/webhook/ci", {"artifacts": [{"type": "docker/image", "reference": 7}]}, "artifacts[0].reference"),
    ("/webhooks/webhook/ci", {"artifacts": [{"type": "a"}] * (MAX_PAYLOAD_ARTIFACTS + 1)}, "artifacts"),
    ("/webhooks/git/github", {**PUSH, "commits": {"added": []}}, "commits"),
    ("/webhooks/git/github", {**PUSH, "commits": [{"added": "a.txt"}]}, "commits[0].added"),
    ("/webhooks/git/github", {**PUSH, "commits": [{"added": ["a.txt"]}]}, "repository.contents_url"),
    (
        "/webhooks/git/github",
        {**PUSH, "commits": [{"added": [f"f{n}" for n in range(MAX_PAYLOAD_ARTIFACTS + 1)]}]},
        "commits",
    ),
]
"""(path, body, the field the 400 names)"""


async def test_a_malformed_payload_is_a_400_naming_the_field(stack: AsyncExitStack) -> None:
    hooks = await start(stack)
    for path, body, field in MALFORMED:
        response = await hooks.system.client.post(
            path, data=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        answer = await response.json()
        assert (response.status, answer.get("field")) == (400, field), (path, body, answer)
    assert hooks.recorder.processed == []  # nothing reached Echo


async def test_a_docker_push_runs_the_pipeline_with_the_image_bound_to_its_expected_artifact(
    stack: AsyncExitStack,
) -> None:
    expected = {
        "id": "shop-image",
        "displayName": "shop image",
        "matchArtifact": {"type": "docker/image", "name": "index.docker.io/acme/shop"},
        "useDefaultArtifact": False,
        "usePriorArtifact": False,
    }
    pipeline = config("deploy", docker(tag="^v.*", expectedArtifactIds=["shop-image"]), expectedArtifacts=[expected])
    hooks = await start(stack, pipeline, workers=("front50", "orca"))
    await hooks.recorder.webhook(await hooks.post("/webhooks/docker", IMAGE))

    found: list[Json] = []
    for _ in range(250):
        reply = await hooks.system.bus.ask(ListExecutions(application="shop"), timeout=5)
        assert isinstance(reply, ExecutionList)
        found = [item for item in reply.executions if item["status"] == "SUCCEEDED"]
        if found:
            break
        await asyncio.sleep(0.02)
    assert len(found) == 1, found
    trigger = found[0]["trigger"]
    assert trigger["type"] == "docker" and trigger["tag"] == "v9.1"
    assert [item["boundArtifact"] for item in trigger["resolvedExpectedArtifacts"]] == [PUSHED]
