"""Rosco SIGKILLed in the middle of a bake: the next Rosco finds the bake, reaps its Packer and answers once.

``gennaker worker rosco`` runs as a process on RabbitMQ (a virtual host of our own) over a mongoeco
wire server, exactly as deployed, with a template whose build takes a few seconds. It is killed
while Packer runs; the next Rosco sees that the bake's owner is gone, kills what is left of the old
Packer process group, runs the bake again and answers the stage's task exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus import Endpoint, Envelope, MessageContext
from bus.amqp import AmqpBus
from schemas.authority import Authority
from schemas.orca_engine import RunExternalTask
from tests.broker import own_vhost
from tests.integration.test_up import Process, cli_env
from tests.mongo import start_store
from workers.rosco.worker import TEMPLATES

pytestmark = pytest.mark.amqp
SLOW = {
    "variables": {"image_name": ""},
    "builders": [{"type": "null", "communicator": "none"}],
    "provisioners": [
        {
            "type": "shell-local",
            "inline": ["echo baking slowly", "sleep 1", "echo Created local image: {{user `image_name`}} at /nowhere"],
        }
    ],
}


@pytest.fixture
def vhost_url(amqp_url: str, unique: str) -> Iterator[str]:
    with own_vhost(amqp_url, f"gennaker-rosco-{unique}") as url:
        yield url


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_sigkill_mid_bake_then_restart_reaps_packer_and_answers_once(vhost_url: str, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "slow.json").write_text(json.dumps(SLOW))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"rosco": {"configDir": str(templates), "imagesDir": str(tmp_path / "images")}}))
    server, mongo = await start_store()
    bus = await AmqpBus.connect(vhost_url, source="/test")
    answers: list[Envelope] = []

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        if envelope.type.startswith("io.gennaker.rosco.task.completed"):
            answers.append(envelope)

    watch = await bus.consume(
        Endpoint(service="t", kind="events", patterns=("rosco.task.*",), raw_handler=tap, durable=False)
    )
    env = cli_env(
        GENNAKER_AMQP_URL=vhost_url,
        GENNAKER_MONGO_URL=str(server.address.uri),
        GENNAKER_DATA_DIR=str(tmp_path),
        GENNAKER_METRICS_PORT="0",
        GENNAKER_SETTINGS_FILE=str(settings),
    )
    bakes = mongo["gennaker"]["rosco_bakes"]
    second: Process | None = None
    try:
        first = await Process.start("worker", "rosco", env=env)
        await first.wait_for_stderr("worker running")
        task = RunExternalTask(
            execution_id="killed",
            stage_id="s1",
            task_id="1",
            attempt=1,
            application="hello",
            stage_type="bake",
            context={"region": "local", "baseOs": "python", "package": "hello", "templateFileName": "slow.json"},
            authority=Authority.anonymous_admin(),
        )
        await bus.send(task, to="rosco")
        async with asyncio.timeout(20):
            while (running := await bakes.find_one({"state": "RUNNING", "pid": {"$ne": None}})) is None:
                await asyncio.sleep(0.05)
        old_packer = int(running["pid"])
        await first.kill()
        second = await Process.start("worker", "rosco", env=env)
        await second.wait_for_stderr("worker running")
        async with asyncio.timeout(30):
            while not answers:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a second answer would come now
        assert len(answers) == 1
        assert answers[0].data["status"] == "SUCCEEDED", answers[0].data
        assert not _alive(old_packer)
        done = await bakes.find_one({"_id": running["_id"]})
        assert done is not None and done["runs"] == 2 and done["state"] == "COMPLETED"
    finally:
        if second is not None:
            await second.stop()
        await watch.stop()
        await bus.close()
        await mongo.close()
        await server.close()
