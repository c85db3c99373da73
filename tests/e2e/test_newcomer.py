"""A newcomer's first ten minutes, exactly as the README tells them, against a real ``gennaker up``.

``gennaker up`` runs as a subprocess with static API tokens minted by ``gennaker auth token
create`` (a settings TOML holds the entries it printed for an owner and a viewer), on RabbitMQ
and on the in-memory bus, over the embedded MongoDB wire server. Over HTTP the newcomer creates
an application through ``POST /tasks`` and polls the task, saves a pipeline exported from
Spinnaker, lists it, changes it, sees both versions in its history, and is refused with Gate's
401 without a token and 403 when their role lacks WRITE.

On RabbitMQ the run has a virtual host of its own, so the real service queues
(``gennaker.<service>.commands`` and so on) are the newcomer's alone: afterwards none may hold a
message and nothing may have been dead-lettered, whatever other suites do on the same broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import sys
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import pytest
from aio_pika.exceptions import ChannelClosed

from bus.amqp import AmqpBus
from gennaker.host import free_port
from schemas.json_types import Json
from schemas.services import SERVICES
from tests.broker import own_vhost
from tests.integration.test_up import UP_LINE, Process, cli_env

EXPORTED_PIPELINE = Path(__file__).with_name("deploy-to-prod.pipeline.json")
"""A pipeline as Deck's "Pipeline actions → Edit as JSON" shows it (application ``shop``)."""
HEALTHY_DEADLINE = 30.0
TASK_DEADLINE = 30.0
DRAIN_DEADLINE = 10.0
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20)
OWNERS, VIEWERS = "shop-owners", "shop-viewers"


@dataclass
class Token:
    """An API token and the settings entry for its user, as ``gennaker auth token create`` prints them."""

    token: str
    sha256: str
    entry: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Gennaker:
    """A running ``gennaker up`` with static auth: where it listens and who may call it."""

    process: Process
    gateway: str
    owner: Token
    viewer: Token
    amqp_url: str | None


async def mint_token(username: str, role: str) -> Token:
    """Run ``gennaker auth token create`` as the README says: the token line and the entry to paste."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gennaker.cli",
        *("auth", "token", "create", "--username", username, "--role", role),
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    text = out.decode()
    token = next(line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith("token (give to the user"))
    entry = text[text.index("[[auth.users]]") :]
    (user,) = tomllib.loads(entry)["auth"]["users"]
    assert user == {"username": username, "token_sha256": user["token_sha256"], "roles": [role]}, entry
    return Token(token=token, sha256=user["token_sha256"], entry=entry)


def settings_toml(owner: Token, viewer: Token) -> str:
    """The settings file the README shows: static mode and the two pasted entries, an owner and a viewer."""
    return f'[auth]\nmode = "static"\n\n{owner.entry}\n{viewer.entry}'


def service_queues() -> list[str]:
    """Every durable queue ``gennaker up``'s workers may consume from."""
    return [f"gennaker.{service}.{kind}" for service in SERVICES for kind in ("commands", "queries", "events")]


async def waiting_messages(amqp_url: str) -> dict[str, int]:
    """Ready messages on each existing service queue (queues that do not exist are skipped)."""
    counts: dict[str, int] = {}
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in service_queues():
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except ChannelClosed:
                continue  # not declared by anyone: nothing can wait there
            counts[name] = queue.declaration_result.message_count or 0
            await channel.close()
    return {name: count for name, count in counts.items() if count}


@pytest.fixture(params=[pytest.param("amqp", marks=pytest.mark.amqp), "memory"])
async def gennaker(request: pytest.FixtureRequest, tmp_path: Path, amqp_url: str) -> AsyncIterator[Gennaker]:
    """``gennaker up`` with static auth on the bus the parameter names; killed and checked afterwards."""
    owner, viewer = await mint_token("olivia", OWNERS), await mint_token("victor", VIEWERS)
    settings = tmp_path / "gennaker.toml"
    settings.write_text(settings_toml(owner, viewer))
    port = free_port()
    env = {
        "GENNAKER_DATA_DIR": str(tmp_path / "data"),
        "GENNAKER_GATEWAY_PORT": str(port),
        "GENNAKER_SETTINGS_FILE": str(settings),
    }
    on_amqp = request.param == "amqp"
    with contextlib.ExitStack() as vhost:
        url = vhost.enter_context(own_vhost(amqp_url, f"newcomer-{tmp_path.name}")) if on_amqp else None
        if url is not None:
            env["GENNAKER_AMQP_URL"] = url
        process = await Process.start("up", env=cli_env(**env))
        try:
            line = await process.stdout_line()
            assert UP_LINE.match(line), f"unexpected start-up line {line!r}:\n{process.logs()}"
            assert ("bus amqp" if on_amqp else "bus memory") in line, line
            yield Gennaker(process, f"http://127.0.0.1:{port}", owner, viewer, url)
        finally:
            await process.kill()


class Api:
    """Gate's HTTP API as the newcomer calls it: each call names what it was doing when it fails."""

    def __init__(self, session: aiohttp.ClientSession, gateway: str) -> None:
        self.session = session
        self.gateway = gateway

    async def call(self, method: str, path: str, token: Token | None, *, json_body: Any = None) -> tuple[int, Any]:
        headers = token.headers() if token else {}
        async with self.session.request(method, self.gateway + path, json=json_body, headers=headers) as response:
            text = await response.text()
            try:
                body = json.loads(text) if text else None
            except json.JSONDecodeError:
                body = text
            return response.status, body

    async def ok(self, method: str, path: str, token: Token | None, *, json_body: Any = None) -> Any:
        status, body = await self.call(method, path, token, json_body=json_body)
        assert status == 200, f"{method} {path} answered {status}: {body}"
        return body


async def wait_healthy(api: Api, process: Process) -> None:
    deadline = asyncio.get_running_loop().time() + HEALTHY_DEADLINE
    while True:
        status, body = await api.call("GET", "/health", None)
        if status == 200:
            return
        assert asyncio.get_running_loop().time() < deadline, f"/health still {status} {body}:\n{process.logs()}"
        await asyncio.sleep(0.2)


async def run_task(api: Api, token: Token, body: Json) -> Json:
    """POST /tasks, then poll its ``ref`` as Deck and spin do until the task finishes."""
    submitted = await api.ok("POST", "/tasks", token, json_body=body)
    ref = submitted["ref"]
    assert isinstance(ref, str) and ref.startswith("/tasks/"), submitted
    deadline = asyncio.get_running_loop().time() + TASK_DEADLINE
    while True:
        status, found = await api.call("GET", ref, token)
        assert status == 200, (
            f"GET {ref} right after POST /tasks answered {status}: {found}; the ref must be readable at once "
            "(Deck and spin poll it immediately)"
        )
        task: Json = found
        if task["status"] in ("SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"):
            return task
        assert asyncio.get_running_loop().time() < deadline, f"task {ref} still {task['status']}: {task}"
        await asyncio.sleep(0.1)


def is_gate_error(body: Any, status: int, error: str) -> bool:
    """Whether ``body`` is Spinnaker's error JSON: ``error``, ``message``, ``status``, ``timestamp``."""
    return (
        isinstance(body, dict)
        and body.get("status") == status
        and body.get("error") == error
        and isinstance(body.get("message"), str)
        and isinstance(body.get("timestamp"), int)
    )


async def test_newcomer_creates_an_application_and_saves_changes_and_reads_a_pipeline(
    gennaker: Gennaker, unique: str
) -> None:
    app = f"shop-{unique[-10:]}"
    owner, viewer = gennaker.owner, gennaker.viewer
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        api = Api(session, gennaker.gateway)
        await wait_healthy(api, gennaker.process)

        status, body = await api.call("GET", "/applications", None)
        assert status == 401 and is_gate_error(body, 401, "Unauthorized"), (status, body)

        accounts = await api.ok("GET", "/credentials", viewer)
        assert accounts == [], f"with authentication on, `up` offers no implicit account: {accounts}"

        permissions = {"READ": [OWNERS, VIEWERS], "WRITE": [OWNERS], "EXECUTE": [OWNERS]}
        task = await run_task(
            api,
            owner,
            {
                "application": app,
                "description": f"Create Application: {app}",
                "job": [
                    {
                        "type": "createApplication",
                        "application": {
                            "name": app,
                            "email": "shop-team@example.com",
                            "cloudProviders": "kubernetes",
                            "permissions": permissions,
                        },
                    }
                ],
            },
        )
        assert task["status"] == "SUCCEEDED", task
        assert {"key": "user", "value": "olivia"} in task["variables"], task["variables"]

        for reader in (owner, viewer):
            listed = {a["name"]: a for a in await api.ok("GET", "/applications", reader)}
            assert app in listed, f"{app} missing from GET /applications: {sorted(listed)}"
            assert listed[app]["permissions"] == permissions

        exported = json.loads(EXPORTED_PIPELINE.read_text())
        exported["application"] = app
        saved = await api.ok("POST", "/pipelines", owner, json_body=exported)
        pipeline_id = saved.get("id")
        assert pipeline_id and saved.get("updateTs"), saved
        changed_fields = {key for key in exported if saved.get(key) != exported[key]}
        assert not changed_fields, f"the exported pipeline did not round-trip: {sorted(changed_fields)}"

        configs = await api.ok("GET", f"/applications/{app}/pipelineConfigs", viewer)
        assert [(p["id"], p["name"]) for p in configs] == [(pipeline_id, "deploy to prod")], configs
        assert configs[0]["stages"] == exported["stages"]

        changed = copy.deepcopy(saved)
        changed["stages"][1]["waitTime"] = 60
        changed["description"] = "Waits a minute for staging now"
        resaved = await api.ok("POST", "/pipelines", owner, json_body=changed)
        assert resaved["id"] == pipeline_id, "saving with the id must change the pipeline, not add one"
        assert resaved["stages"][1]["waitTime"] == 60
        configs = await api.ok("GET", f"/applications/{app}/pipelineConfigs", owner)
        assert len(configs) == 1 and configs[0]["description"] == changed["description"], configs

        history = await api.ok("GET", f"/pipelineConfigs/{pipeline_id}/history", viewer)
        assert [(v["stages"][1]["waitTime"], v["description"]) for v in history] == [
            (60, changed["description"]),
            (30, exported["description"]),
        ], "history must list both versions, newest first"

        mine = {**exported, "name": "viewer's pipeline"}
        for attempt in (mine, {**changed, "description": "viewer edit"}):
            status, body = await api.call("POST", "/pipelines", viewer, json_body=attempt)
            assert status == 403, f"the viewer's save answered {status}: {body}"
            assert is_gate_error(body, 403, "Forbidden"), body
            assert body["message"] == f"Access denied to application {app} - required authorization: WRITE"
        configs = await api.ok("GET", f"/applications/{app}/pipelineConfigs", owner)
        assert [(p["name"], p["description"]) for p in configs] == [("deploy to prod", changed["description"])]

    assert await gennaker.process.stop() == 0, gennaker.process.logs()
    if gennaker.amqp_url is not None:
        await assert_rabbitmq_left_clean(gennaker.amqp_url, app)


async def assert_rabbitmq_left_clean(amqp_url: str, app: str) -> None:
    """No message of the run waits on a service queue, and none was dead-lettered."""
    deadline = asyncio.get_running_loop().time() + DRAIN_DEADLINE
    while leftovers := await waiting_messages(amqp_url):
        assert asyncio.get_running_loop().time() < deadline, f"messages left on RabbitMQ: {leftovers}"
        await asyncio.sleep(0.2)
    bus = await AmqpBus.connect(amqp_url, source="/test/newcomer")
    try:
        ours = [letter for letter in await bus.dead_letters() if app in letter.body_text()]
    finally:
        await bus.close()
    assert not ours, f"dead-lettered during the run: {[(letter.queue, letter.reason) for letter in ours]}"
