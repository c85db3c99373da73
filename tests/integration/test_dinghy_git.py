"""Dinghy end to end with real git: bare repositories made here, commits pushed with ``git``, the
forges' documented push payloads (GitHub's, GitLab's, Bitbucket Server's) signed with the
repository's secret and posted to Gate's ``/v1/webhooks/{forge}``; Front50, Dinghy and the gateway
in process over a MemoryBus and mongoeco.

Proven: a module change re-renders both dinghyfiles that use it (each applied once); a branch push
changes nothing and reports its diff back to the forge; a broken dinghyfile changes nothing and
reports its error with line and column; a pipeline Dinghy applied refuses a UI save; a badly
signed push is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from ulid import ULID

from bus import Bus, MemoryBus, MessageContext
from bus.amqp import AmqpBus
from bus.endpoint import Endpoint
from bus.service import ServiceHost
from gateway import command_results
from gateway.app import create_app
from gateway.config import GatewayConfig
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.auth_settings import AuthConfig
from schemas.dinghy import DinghyRepository, DinghySettings, PushProcessed
from tests.broker import own_vhost
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.dinghy import worker as dinghy
from workers.front50 import worker as front50

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "s3cret"
WAIT_MODULE = '{"refId": "1", "type": "wait", "name": "wait", "waitTime": {{ var "waitTime" ?: 30 }}}'


def dinghyfile(application: str) -> str:
    return (
        "{\n"
        f'  "application": "{application}",\n'
        '  "pipelines": [{\n'
        '    "name": "deploy",\n'
        '    "stages": [{{ module "stages/wait" }}]\n'
        "  }]\n"
        "}\n"
    )


def git(cwd: Path, *args: str) -> str:
    environment = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(cwd),
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class Repo:
    name: str
    bare: Path
    work: Path

    def push(self, files: dict[str, str], branch: str = "main") -> tuple[str | None, str]:
        """Commit ``files`` on ``branch`` and push it; returns (before, after) as the forge reports them."""
        exists = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"origin/{branch}"], cwd=self.work, capture_output=True
        )
        before = exists.stdout.decode().strip() or None
        git(self.work, "checkout", "-q", "-B", branch, *([f"origin/{branch}"] if before else []))
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", f"change {', '.join(files)}")
        git(self.work, "push", "-q", "origin", branch)
        git(self.work, "fetch", "-q", "origin")
        return before, git(self.work, "rev-parse", "HEAD")


def make_repo(root: Path, name: str) -> Repo:
    bare = root / f"{name.replace('/', '_')}.git"
    work = root / name.replace("/", "_")
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "clone", "-q", str(bare), str(work))
    return Repo(name, bare, work)


@dataclass
class Forge:
    """A local server standing for GitHub's statuses and commit comments API."""

    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    async def record(self, request: web.Request) -> web.Response:
        self.calls.append((request.path, await request.json(), request.headers.get("Idempotency-Key", "")))
        return web.json_response({}, status=201)


@dataclass
class World:
    client: TestClient[Any, Any]
    templates: Repo
    one: Repo
    two: Repo
    forge: Forge
    forge_url: str
    processed: list[PushProcessed]

    async def webhook(
        self, repo: Repo, branch: str, before: str | None, after: str, *, secret: str = SECRET, delivery: str = ""
    ) -> str:
        body = json.dumps(
            {
                "ref": f"refs/heads/{branch}",
                "before": before or "0" * 40,
                "after": after,
                "repository": {
                    "full_name": repo.name,
                    "default_branch": "main",
                    "html_url": f"https://github.example/{repo.name}",
                },
                "pusher": {"name": "ada"},
            }
        )
        signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        if delivery:
            headers["X-GitHub-Delivery"] = delivery
        response = await self.client.post("/v1/webhooks/github", data=body, headers=headers)
        assert response.status == 200, await response.text()
        return str((await response.json())["eventId"])

    async def outcomes(self, event_id: str, count: int) -> list[PushProcessed]:
        for _ in range(400):
            found = [event for event in self.processed if event.event_id == event_id]
            if len(found) >= count:
                await asyncio.sleep(0.05)  # anything more for this push would be a failure too
                return [event for event in self.processed if event.event_id == event_id]
            await asyncio.sleep(0.025)
        raise AssertionError(f"push {event_id}: {len(found)} of {count} dinghyfiles processed")

    async def pipeline(self, application: str) -> dict[str, Any]:
        response = await self.client.get(f"/applications/{application}/pipelineConfigs/deploy")
        assert response.status == 200, await response.text()
        found: dict[str, Any] = await response.json()
        return found


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)]
)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, amqp_url: str
) -> AsyncIterator[World]:
    """The whole rig, once on the in-process bus and once on RabbitMQ (a virtual host of its own)."""
    root = tmp_path_factory.mktemp("dinghy")
    templates, one, two = (make_repo(root, name) for name in ("acme/templates", "acme/one", "acme/two"))
    forge = Forge()
    forge_app = web.Application()
    forge_app.router.add_post("/{tail:.*}", forge.record)
    async with AsyncExitStack() as stack:
        forge_server = TestServer(forge_app, host="127.0.0.1")
        await forge_server.start_server()
        stack.push_async_callback(forge_server.close)
        forge_url = str(forge_server.make_url("")).rstrip("/")

        def configured(repo: Repo) -> DinghyRepository:
            return DinghyRepository(
                name=repo.name,
                url=str(repo.bare),
                default_branch="main",
                secret=SECRET,
                token="forge-token",
                status_url=f"{forge_url}/repos/{repo.name}",
            )

        settings = Settings(
            data_dir=root / "data",
            outbound=LOOPBACK_TEST_SERVERS,
            dinghy=DinghySettings(
                template_repo="acme/templates", repositories=[configured(r) for r in (templates, one, two)]
            ),
        )
        server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
        address = await server.start()
        stack.push_async_callback(server.close)
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(address.uri)
        stack.push_async_callback(mongo.close)
        resources = WorkerResources(settings=settings, db=mongo["gennaker"])
        bus: Bus
        if request.param == "amqp":
            vhost = stack.enter_context(own_vhost(amqp_url, f"dinghy-{str(ULID()).lower()}"))
            bus = await AmqpBus.connect(vhost, source="/gennaker/dinghy-proof")
        else:
            bus = MemoryBus()
        stack.push_async_callback(bus.close)
        for service in (front50.build_service(resources), dinghy.build_service(resources)):
            host = ServiceHost(bus, service)
            await host.start()
            stack.push_async_callback(host.stop)
        processed: list[PushProcessed] = []

        async def collect(event: PushProcessed, context: MessageContext) -> None:
            processed.append(event)

        tap = Endpoint(
            service="dinghy-proof",
            kind="events",
            patterns=("dinghy.push.processed",),
            durable=False,
            handlers={PushProcessed.message_type: collect},
        )
        consumption = await bus.consume(tap)
        stack.push_async_callback(consumption.stop)
        app = create_app(bus, GatewayConfig(version="9.9.9", services=("front50", "dinghy"), auth=AuthConfig()))
        command_results.install(app)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        world = World(client, templates, one, two, forge, forge_url, processed)
        # the starting point: the module, then both dinghyfiles pushed to main and applied
        templates.push({"stages/wait": WAIT_MODULE})
        for repo, application in ((one, "shopone"), (two, "shoptwo")):
            before, after = repo.push({"dinghyfile": dinghyfile(application)})
            [outcome] = await world.outcomes(await world.webhook(repo, "main", before, after), 1)
            assert (outcome.outcome, outcome.error) == ("applied", None)
        yield world


async def test_a_module_change_re_renders_both_dependent_dinghyfiles_once_each(world: World) -> None:
    assert [(await world.pipeline(app))["stages"][0]["waitTime"] for app in ("shopone", "shoptwo")] == [30, 30]
    ids = [(await world.pipeline(app))["id"] for app in ("shopone", "shoptwo")]
    before, after = world.templates.push({"stages/wait": WAIT_MODULE.replace("?: 30", "?: 45")})
    outcomes = await world.outcomes(await world.webhook(world.templates, "main", before, after), 2)
    assert sorted((o.repository, o.path, o.outcome) for o in outcomes) == [
        ("acme/one", "dinghyfile", "applied"),
        ("acme/two", "dinghyfile", "applied"),
    ]
    assert all(o.changes["update"] == ["deploy"] for o in outcomes)
    pipelines = [await world.pipeline(app) for app in ("shopone", "shoptwo")]
    assert [p["stages"][0]["waitTime"] for p in pipelines] == [45, 45]
    assert [p["id"] for p in pipelines] == ids  # upserted by name: the same pipelines
    response = await world.client.get("/dinghy/applications/shopone/history")
    history = await response.json()
    assert [entry["outcome"] for entry in history] == ["applied", "applied"]
    assert history[0]["templateCommit"] == after and history[0]["author"] == "Ada <ada@example.com>"
    statuses = {path: body for path, body, _ in world.forge.calls}
    assert statuses[f"/repos/acme/templates/statuses/{after}"]["description"] == "2 dependent dinghyfiles applied"


async def test_a_template_branch_push_validates_the_dependents_and_changes_nothing(world: World) -> None:
    stored = [await world.pipeline(app) for app in ("shopone", "shoptwo")]
    world.forge.calls.clear()
    before, after = world.templates.push({"stages/wait": WAIT_MODULE.replace("?: 30", "?: 60")}, branch="try")
    outcomes = await world.outcomes(await world.webhook(world.templates, "try", before, after), 2)
    assert [o.outcome for o in outcomes] == ["validated", "validated"]
    assert [await world.pipeline(app) for app in ("shopone", "shoptwo")] == stored
    statuses = {path: body for path, body, _ in world.forge.calls}
    assert statuses[f"/repos/acme/templates/statuses/{after}"]["description"] == "2 dependent dinghyfiles validated"
    comment = statuses[f"/repos/acme/templates/commits/{after}/comments"]["body"]
    assert comment.count('+      "waitTime": 60') == 2


async def test_gennaker_dinghy_diff_shows_what_applying_a_local_dinghyfile_would_change(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gennaker import cli
    from gennaker import logging as gennaker_logging

    monkeypatch.setattr(gennaker_logging, "configure_logging", lambda *args, **kwargs: None)
    (tmp_path / "modules" / "stages").mkdir(parents=True)
    (tmp_path / "modules" / "stages" / "wait").write_text(WAIT_MODULE)
    local = tmp_path / "dinghyfile"
    local.write_text(
        dinghyfile("shopone").replace('{{ module "stages/wait" }}', '{{ module "stages/wait" "waitTime" 7 }}')
    )
    endpoint = str(world.client.make_url("")).rstrip("/")
    argv = ["dinghy", "diff", str(local), "--modules", str(tmp_path / "modules"), "--gate-endpoint", endpoint]
    status = await asyncio.to_thread(cli.main, [*argv, "--exit-code"])
    out = capsys.readouterr().out
    assert status == 3, out
    assert "update pipeline 'deploy'" in out and '-      "waitTime": 45\n+      "waitTime": 7' in out
    history = ["dinghy", "history", "-a", "shopone", "--gate-endpoint", endpoint]
    assert await asyncio.to_thread(cli.main, history) == 0
    printed = capsys.readouterr().out.splitlines()
    table = [line for line in printed if "[" not in line[:30]]  # not the in-process gateway's log lines
    assert table[0].split() == ["WHEN", "(UTC)", "OUTCOME", "FILE", "COMMIT", "AUTHOR", "CHANGES"]
    assert "validated" in table[1] and "acme/one/dinghyfile@main" in table[1]  # the template branch push's, newest
    assert any("applied" in row and "update deploy" in row for row in table[2:])


async def test_a_branch_push_changes_nothing_and_reports_its_diff(world: World) -> None:
    stored = await world.pipeline("shopone")
    world.forge.calls.clear()
    changed = dinghyfile("shopone").replace('{{ module "stages/wait" }}', '{{ module "stages/wait" "waitTime" 99 }}')
    before, after = world.one.push({"dinghyfile": changed}, branch="feature")
    [outcome] = await world.outcomes(await world.webhook(world.one, "feature", before, after), 1)
    assert (outcome.outcome, outcome.changes["update"]) == ("validated", ["deploy"])
    assert '-      "waitTime": 45\n+      "waitTime": 99' in outcome.diff
    assert await world.pipeline("shopone") == stored
    statuses = {path: body for path, body, _ in world.forge.calls}
    status = statuses[f"/repos/acme/one/statuses/{after}"]
    assert status["state"] == "success" and "nothing was changed" in status["description"]
    assert '+      "waitTime": 99' in statuses[f"/repos/acme/one/commits/{after}/comments"]["body"]
    assert all(key for _, _, key in world.forge.calls)  # every call carries an Idempotency-Key


async def test_a_broken_dinghyfile_changes_nothing_and_reports_line_and_column(world: World) -> None:
    stored = await world.pipeline("shoptwo")
    world.forge.calls.clear()
    broken = dinghyfile("shoptwo").replace('{{ module "stages/wait" }}', '{{ module "stages/wait" | nope }}')
    before, after = world.two.push({"dinghyfile": broken})
    [outcome] = await world.outcomes(await world.webhook(world.two, "main", before, after), 1)
    assert outcome.outcome == "failed" and outcome.error is not None
    assert "dinghyfile:5:42" in outcome.error and 'function "nope" not defined' in outcome.error
    assert await world.pipeline("shoptwo") == stored
    statuses = {path: body for path, body, _ in world.forge.calls}
    assert statuses[f"/repos/acme/two/statuses/{after}"]["state"] == "error"
    # the application's history shows it (a broken render names no application: its last render's)
    response = await world.client.get("/dinghy/applications/shoptwo/history")
    latest = (await response.json())[0]
    assert (latest["outcome"], latest["commit"]) == ("failed", after)
    assert "dinghyfile:5:42" in latest["error"]
    assert latest["commitUrl"] == f"https://github.example/acme/two/commit/{after}"


async def test_an_applied_pipeline_refuses_a_ui_save_naming_repository_and_file(world: World) -> None:
    pipeline = await world.pipeline("shopone")
    assert pipeline["locked"]["ui"] is True
    response = await world.client.post("/pipelines", json={**pipeline, "description": "edited in the UI"})
    assert response.status == 409
    assert "Managed by Dinghy: acme/one/dinghyfile" in await response.text()


async def test_a_push_signed_with_another_secret_is_refused(world: World) -> None:
    stored = await world.pipeline("shopone")
    before, after = world.one.push({"dinghyfile": dinghyfile("shopone").replace('"deploy"', '"deploy-2"')})
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after, secret="wrong"), 1)
    assert outcome.outcome == "ignored" and "does not verify" in str(outcome.error)
    assert await world.pipeline("shopone") == stored


async def test_pipeline_id_creates_a_missing_pipeline_and_save_app_on_update_saves_spec_notifications(
    world: World,
) -> None:
    notifications = {"email": [{"address": "ops@example.com", "level": "application", "when": ["pipeline.failed"]}]}
    text = json.dumps(
        {
            "application": "shopone",
            "spec": {"email": "ops@example.com", "notifications": notifications},
            "globals": {"save_app_on_update": True},
            "pipelines": [
                {
                    "name": "deploy",
                    "stages": [],
                    "triggers": [{"type": "pipeline", "application": "shopone", "pipeline": "PIPELINE_ID"}],
                }
            ],
        }
    ).replace('"PIPELINE_ID"', '"{{ pipelineID "shopone" "build" }}"')
    before, after = world.one.push({"dinghyfile": text})
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after), 1)
    assert outcome.outcome == "applied", outcome.error
    response = await world.client.get("/applications/shopone/pipelineConfigs/build")
    build = await response.json()
    assert (await world.pipeline("shopone"))["triggers"][0]["pipeline"] == build["id"]
    response = await world.client.get("/notifications/application/shopone")
    assert (await response.json())["email"][0]["address"] == "ops@example.com"
    response = await world.client.get("/applications/shopone")
    assert (await response.json())["attributes"]["email"] == "ops@example.com"


async def test_a_redelivered_push_is_the_same_event_and_applies_nothing_twice(world: World) -> None:
    before, after = world.one.push({"dinghyfile": dinghyfile("shopone")})
    first = await world.webhook(world.one, "main", before, after, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    [outcome] = await world.outcomes(first, 1)
    assert outcome.outcome == "applied"
    stored = await world.pipeline("shopone")
    again = await world.webhook(world.one, "main", before, after, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert again == first
    await asyncio.sleep(0.5)  # time for a second render, had the redelivery made one
    assert [event.event_id for event in world.processed].count(first) == 1
    assert (await world.pipeline("shopone"))["updateTs"] == stored["updateTs"]


async def test_gitlab_and_bitbucket_server_pushes_in_their_own_payloads_are_applied(world: World) -> None:
    for forge, waited in (("gitlab", 11), ("bitbucket", 12)):
        text = dinghyfile("shopone").replace(
            '{{ module "stages/wait" }}', f'{{{{ module "stages/wait" "waitTime" {waited} }}}}'
        )
        before, after = world.one.push({"dinghyfile": text})
        if forge == "gitlab":
            payload: dict[str, Any] = {
                "object_kind": "push",
                "ref": "refs/heads/main",
                "before": before,
                "after": after,
                "user_username": "ada",
                "project": {"path_with_namespace": "acme/one", "default_branch": "main"},
            }
            body = json.dumps(payload)
            headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "Content-Type": "application/json"}
        else:
            payload = {
                "eventKey": "repo:refs_changed",
                "actor": {"name": "ada"},
                "repository": {"slug": "one", "project": {"key": "acme"}},
                "changes": [{"ref": {"id": "refs/heads/main", "type": "BRANCH"}, "fromHash": before, "toHash": after}],
            }
            body = json.dumps(payload)
            digest = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
            headers = {"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": f"sha256={digest}"}
            headers["Content-Type"] = "application/json"
        response = await world.client.post(f"/v1/webhooks/{forge}", data=body, headers=headers)
        assert response.status == 200, await response.text()
        [outcome] = await world.outcomes((await response.json())["eventId"], 1)
        assert (outcome.outcome, outcome.commit) == ("applied", after), outcome.error
        assert (await world.pipeline("shopone"))["stages"][0]["waitTime"] == waited


async def test_delete_stale_pipelines_deletes_what_the_dinghyfile_no_longer_names(world: World) -> None:
    two = {
        "application": "shopthree",
        "spec": {"email": "three@example.com"},
        "pipelines": [{"name": "keep", "stages": []}, {"name": "drop", "stages": []}],
    }
    before, after = world.one.push({"three/dinghyfile": json.dumps(two)})
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after), 1)
    assert (outcome.outcome, sorted(outcome.changes["create"])) == ("applied", ["drop", "keep"])
    one = {**two, "deleteStalePipelines": True, "pipelines": [{"name": "keep", "stages": []}]}
    before, after = world.one.push({"three/dinghyfile": json.dumps(one)})
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after), 1)
    assert (outcome.outcome, outcome.changes["delete"]) == ("applied", ["drop"])
    response = await world.client.get("/applications/shopthree/pipelineConfigs")
    assert [pipeline["name"] for pipeline in await response.json()] == ["keep"]


async def test_a_managed_pipeline_saves_once_explicitly_unlocked_and_the_next_apply_locks_it_again(
    world: World,
) -> None:
    pipeline = await world.pipeline("shopone")
    response = await world.client.post("/pipelines", json={**pipeline, "locked": {"ui": False}})
    assert response.status == 200, await response.text()
    assert not (await world.pipeline("shopone")).get("locked", {}).get("ui")
    waited = pipeline["stages"][0]["waitTime"]
    same = dinghyfile("shopone").replace(
        '{{ module "stages/wait" }}', f'{{{{ module "stages/wait" "waitTime" {waited} }}}}'
    )
    before, after = world.one.push({"dinghyfile": same + "\n"})  # a new commit whose render changes nothing
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after), 1)
    assert (outcome.outcome, outcome.changes["unchanged"]) == ("applied", ["deploy"]), outcome.diff
    assert (await world.pipeline("shopone"))["locked"]["ui"] is True


async def test_template_files_matching_dinghyignore_re_render_nothing(world: World) -> None:
    world.forge.calls.clear()
    before, after = world.templates.push(
        {".dinghyignore": "^stages/\n", "stages/wait": WAIT_MODULE.replace("?: 30", "?: 50")}
    )
    await world.webhook(world.templates, "main", before, after)
    status_path = f"/repos/acme/templates/statuses/{after}"
    for _ in range(400):
        statuses = {path: body for path, body, _ in world.forge.calls}
        if status_path in statuses:
            break
        await asyncio.sleep(0.025)
    assert statuses[status_path]["description"] == "0 dependent dinghyfiles applied"
    assert (await world.pipeline("shoptwo"))["stages"][0]["waitTime"] == 45


async def test_a_dinghyfile_emits_a_templated_pipeline_that_uses_a_v2_pipeline_template(world: World) -> None:
    template = {
        "schema": "v2",
        "id": "wait-and-go",
        "metadata": {"name": "Wait and go", "scopes": ["global"]},
        "variables": [{"name": "waitTime", "type": "int", "defaultValue": 30}],
        "pipeline": {
            "stages": [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": "${ templateVariables.waitTime }"}]
        },
    }
    response = await world.client.post("/v2/pipelineTemplates/create?tag=stable", json=template)
    assert response.status < 300, await response.text()
    templated = {
        "schema": "v2",
        "type": "templatedPipeline",
        "name": "from-template",
        "template": {
            "artifactAccount": "front50ArtifactCredentials",
            "type": "front50/pipelineTemplate",
            "reference": "spinnaker://wait-and-go:stable",
        },
        "variables": {"waitTime": "WAIT"},
        "exclude": [],
        "stages": [],
    }
    text = json.dumps({"application": "shopfour", "pipelines": [templated]}).replace('"WAIT"', '{{ var "w" ?: 7 }}')
    before, after = world.one.push({"four/dinghyfile": text})
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after), 1)
    assert outcome.outcome == "applied", outcome.error
    response = await world.client.get("/applications/shopfour/pipelineConfigs/from-template")
    stored = await response.json()
    assert (stored["type"], stored["variables"], stored["template"]["reference"]) == (
        "templatedPipeline",
        {"waitTime": 7},
        "spinnaker://wait-and-go:stable",
    )


async def test_front50_checks_dinghys_service_account_like_any_writer(world: World) -> None:
    restricted = {
        "application": "shopfive",
        "spec": {"email": "five@example.com", "permissions": {"READ": ["team-five"], "WRITE": ["team-five"]}},
        "pipelines": [{"name": "deploy", "stages": []}],
    }
    before, after = world.one.push({"five/dinghyfile": json.dumps(restricted)})
    [outcome] = await world.outcomes(await world.webhook(world.one, "main", before, after), 1)
    assert outcome.outcome == "failed" and outcome.error is not None, outcome.error
    assert "403" in outcome.error and "service account 'dinghy' lacks WRITE" in outcome.error
    # the application was created (Front50 lets anyone create one), its pipelines refused
    response = await world.client.get("/applications/shopfive/pipelineConfigs")
    assert await response.json() == []
