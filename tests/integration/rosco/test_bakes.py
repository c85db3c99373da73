"""Rosco bakes images with the real Packer: the local template, the cache, rebake, refusals, failures, the queue."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from schemas.authority import Authority
from schemas.front50 import ApplicationFound, GetApplication, SaveApplication
from schemas.orca_engine import StageCompleted
from schemas.rosco import BakeFound, BakeRequestBody, CancelBake, CreateBake, GetBake, RoscoTaskCompleted
from tests.integration.rosco.conftest import MAX_CONCURRENT, Bakery

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _answer(events: Sequence[object]) -> RoscoTaskCompleted:
    assert len(events) == 1, events
    answer = events[0]
    assert isinstance(answer, RoscoTaskCompleted)
    return answer


async def test_a_local_bake_makes_an_image_the_local_provider_can_run_and_is_then_cached(bakery: Bakery) -> None:
    context = {"package": "hello_1.0-1_all", "amiSuffix": "20261203", "extendedAttributes": {"entrypoint": "app.py"}}
    await bakery.run_task(
        "first", context, trigger={"buildInfo": {"number": 7, "name": "hello/main", "url": "http://ci/7"}}
    )
    answer = _answer(await bakery.completed("first"))
    assert answer.status == "SUCCEEDED", answer.error
    assert answer.context["imageName"] == "hello-all-20261203-python"
    assert answer.context["ami"] == answer.context["imageId"] == "hello-all-20261203-python"
    [artifact] = answer.context["artifacts"]
    assert artifact["type"] == "local/image" and artifact["location"] == "local"
    image = bakery.images / "local" / "hello-all-20261203-python"
    manifest = json.loads((image / "image.json").read_text())
    assert manifest["command"] == ["{python}", "app.py"]
    assert manifest["appVersion"] == "hello-1.0-h7/hello-main/7"
    assert (image / "app" / "app.py").is_file()
    bake_id = answer.context["bakeId"]
    stored = await bakery.db["rosco_bakes"].find_one({"_id": bake_id})
    assert stored["recipe"]["command"][:3][1:] == ["build", "-color=false"]
    assert "-var" in stored["recipe"]["command"] and "packages=hello=1.0-1" in stored["recipe"]["command"]

    # the same bake again (another run, another suffix: not part of the key) is the earlier bake, at once
    started = time.monotonic()
    await bakery.run_task("again", {**context, "amiSuffix": "20261204"})
    cached = _answer(await bakery.completed("again"))
    assert cached.status == "SUCCEEDED" and cached.context["bakeId"] == bake_id
    assert cached.context["imageName"] == "hello-all-20261203-python"
    assert time.monotonic() - started < 1.0
    assert (await bakery.db["rosco_bakes"].find_one({"_id": bake_id}))["runs"] == 1

    # rebake: a new bake, and Packer runs again
    await bakery.run_task("rebake", {**context, "amiSuffix": "20261205", "rebake": True})
    rebaked = _answer(await bakery.completed("rebake"))
    assert rebaked.status == "SUCCEEDED" and rebaked.context["bakeId"] != bake_id
    assert rebaked.context["imageName"] == "hello-all-20261205-python"
    assert (bakery.images / "local" / "hello-all-20261205-python" / "image.json").is_file()


async def test_an_unknown_base_os_or_template_is_refused_with_roscos_message(bakery: Bakery) -> None:
    await bakery.run_task("unknown-os", {"package": "hello", "baseOs": "plan9"})
    refused = _answer(await bakery.completed("unknown-os"))
    assert refused.status == "TERMINAL" and refused.error == "No virtualization settings found for 'plan9'."
    await bakery.run_task("unknown-template", {"package": "hello", "templateFileName": "../../etc/passwd"})
    refused = _answer(await bakery.completed("unknown-template"))
    assert refused.status == "TERMINAL"
    assert refused.error == "No template file found for '../../etc/passwd' in the bakery's config directory."
    assert await bakery.db["rosco_bakes"].count_documents({"request.base_os": "plan9"}) == 0


async def test_a_failing_packer_build_fails_the_bake_with_the_last_lines_of_its_log(bakery: Bakery) -> None:
    await bakery.run_task("missing", {"package": "nosuchapp_2.0-1_all", "amiSuffix": "x1"})
    failed = _answer(await bakery.completed("missing"))
    assert failed.status == "TERMINAL"
    assert "Packer exited with status 1" in (failed.error or "")
    assert "package nosuchapp=2.0-1 is not in the repository" in (failed.error or "")
    assert failed.context["status"]["result"] == "FAILURE"
    # a failed bake does not answer the next identical request: it bakes again
    await bakery.run_task("missing-again", {"package": "nosuchapp_2.0-1_all", "amiSuffix": "x1"})
    again = _answer(await bakery.completed("missing-again"))
    assert again.context["bakeId"] != failed.context["bakeId"]


async def test_concurrent_bakes_run_at_most_n_packers_and_identical_ones_run_one(bakery: Bakery) -> None:
    bakes = bakery.db["rosco_bakes"]
    most_running, saw_pending = 0, False
    for index in range(10):
        await bakery.run_task(f"many-{index}", {"package": "hello_1.0-1_all", "amiName": f"many{index}"})
    await bakery.run_task("same-a", {"package": "hello_1.0-1_all", "amiName": "same"})
    await bakery.run_task("same-b", {"package": "hello_1.0-1_all", "amiName": "same"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = await bakes.count_documents({"state": "RUNNING"})
        pending = await bakes.count_documents({"state": "PENDING"})
        most_running, saw_pending = max(most_running, running), saw_pending or pending > 0
        if running == pending == 0 and all(bakery.events[f"many-{i}"] for i in range(10)):
            break
        await asyncio.sleep(0.02)
    answers = [_answer(await bakery.completed(f"many-{i}")) for i in range(10)]
    assert all(answer.status == "SUCCEEDED" for answer in answers)
    assert most_running <= MAX_CONCURRENT and saw_pending
    heartbeats = [e for i in range(10) for e in bakery.events[f"many-{i}"] if e.message_type == "rosco.task.heartbeat"]
    assert any("queued" in (beat.progress or "") for beat in heartbeats)  # type: ignore[attr-defined]
    same = [_answer(await bakery.completed(name)) for name in ("same-a", "same-b")]
    assert same[0].context["bakeId"] == same[1].context["bakeId"]
    assert await bakes.count_documents({"request.ami_name": "same"}) == 1


async def test_a_bake_whose_rosco_died_is_found_again_its_packer_reaped_and_answered_once(
    bakery: Bakery, tmp_path: Path
) -> None:
    template = tmp_path / "slow.json"
    template.write_text(
        json.dumps(
            {
                "builders": [{"type": "null", "communicator": "none"}],
                "provisioners": [{"type": "shell-local", "inline": ["sleep 60"]}],
            }
        )
    )
    orphan = await asyncio.create_subprocess_exec(
        "packer",
        "build",
        "-color=false",
        str(template),
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    earlier = await bakery.db["rosco_bakes"].find_one({"result": "SUCCESS", "request.package_name": "hello_1.0-1_all"})
    assert earlier is not None
    now = int(time.time() * 1000)
    await bakery.db["rosco_bakes"].insert_one(
        {
            **earlier,
            "_id": "killed-mid-run",
            "key": "bake:killed-mid-run",
            "state": "RUNNING",
            "result": None,
            "owner": f"{socket.gethostname()}:{gone.pid}:dead00",
            "lease_until": now + 600_000,  # its lease has not lapsed: the dead process is what gives it away
            "pid": orphan.pid,
            "runs": 1,
            "created": now,
            "waiters": [
                {"execution_id": "recovered", "stage_id": "s1", "task_id": "1", "attempt": 1, "application": "hello"}
            ],
        }
    )
    answer = _answer(await bakery.completed("recovered", timeout=30))
    assert answer.status == "SUCCEEDED", answer.error
    assert await asyncio.wait_for(orphan.wait(), 5) == -signal.SIGKILL
    stored = await bakery.db["rosco_bakes"].find_one({"_id": "killed-mid-run"})
    assert stored["runs"] == 2 and stored["state"] == "COMPLETED" and stored["owner"] is None
    assert "baking again (its Packer process was killed)" in await _logs(bakery, "killed-mid-run")
    await asyncio.sleep(0.6)  # a further poll of the queue answers nothing more
    assert len(await bakery.completed("recovered")) == 1


async def _logs(bakery: Bakery, bake_id: str) -> str:
    chunks = await bakery.db["rosco_bake_logs"].find({"bake": bake_id}).sort("_id", 1).to_list(None)
    return "\n".join(line for chunk in chunks for line in chunk["lines"])


async def test_only_executors_of_the_application_may_bake_and_only_readers_may_read(bakery: Bakery) -> None:
    guarded = {"name": "shop", "email": "a@b.c", "permissions": {"READ": ["dev"], "WRITE": ["ops"], "EXECUTE": ["ops"]}}
    await bakery.bus.send(SaveApplication(authority=Authority.anonymous_admin(), application=guarded))
    async with asyncio.timeout(5):
        while (await bakery.bus.ask(GetApplication(name="shop"))) == ApplicationFound(application=None):
            await asyncio.sleep(0.05)
    context = {"package": "hello_1.0-1_all", "amiName": "shop"}
    dora, otto = Authority(user="dora", roles=("dev",)), Authority(user="otto", roles=("ops",))
    await bakery.run_task("dora-bakes", context, application="shop", authority=dora)
    refused = _answer(await bakery.completed("dora-bakes"))
    assert refused.error == "access denied: user 'dora' lacks EXECUTE permission on application 'shop'"
    await bakery.run_task("nobody-bakes", context, application="shop", authority=Authority.nobody())
    assert _answer(await bakery.completed("nobody-bakes")).status == "TERMINAL"
    assert await bakery.db["rosco_bakes"].count_documents({"application": "shop"}) == 0
    await bakery.run_task("otto-bakes", context, application="shop", authority=otto)
    baked = _answer(await bakery.completed("otto-bakes"))
    assert baked.status == "SUCCEEDED", baked.error
    bake_id = str(baked.context["bakeId"])
    read = await bakery.bus.ask(GetBake(bake_id=bake_id, region="local", authority=dora))
    assert isinstance(read, BakeFound) and read.bake_status and read.bake_status["result"] == "SUCCESS"
    hidden = await bakery.bus.ask(
        GetBake(bake_id=bake_id, region="local", what="logs", authority=Authority(user="eve"))
    )
    assert isinstance(hidden, BakeFound) and hidden.status == 404 and hidden.logs_content is None


async def test_a_canceled_bake_stops_its_packer_and_fails_its_stage(bakery: Bakery) -> None:
    await bakery.run_task("canceled", {"package": "hello", "templateFileName": "slow.json"})
    bakes = bakery.db["rosco_bakes"]
    async with asyncio.timeout(20):
        while (
            running := await bakes.find_one({"request.template_file_name": "slow.json", "pid": {"$ne": None}})
        ) is None:
            await asyncio.sleep(0.05)
    packer_pid = int(running["pid"])
    await bakery.bus.send(CancelBake(bake_id=running["_id"], region="local", authority=Authority.anonymous_admin()))
    answer = _answer(await bakery.completed("canceled"))
    assert answer.status == "CANCELED" and answer.error == f"Bake {running['_id']} was canceled."
    async with asyncio.timeout(5):
        while _running(packer_pid):
            await asyncio.sleep(0.05)
    assert (await bakes.find_one({"_id": running["_id"]}))["state"] == "CANCELED"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


async def test_a_bake_asked_for_through_gate_outlives_the_stage_that_joined_it(bakery: Bakery) -> None:
    """Someone outside Orca (Gate's ``POST /bake``) asked for the bake: a stage that joined it through
    the cache and then ended leaves it running; only an explicit cancel stops it."""
    request = BakeRequestBody(
        package_name="hello",
        base_os="python",
        base_label="release",
        cloud_provider_type="local",
        template_file_name="slow.json",
        ami_name="held",
    )
    admin = Authority.anonymous_admin()
    await bakery.bus.send(
        CreateBake(bake_id="held-by-gate", region="local", application="hello", request=request, authority=admin)
    )
    bakes = bakery.db["rosco_bakes"]
    async with asyncio.timeout(20):
        while (await bakes.find_one({"_id": "held-by-gate", "pid": {"$ne": None}})) is None:
            await asyncio.sleep(0.05)
    await bakery.run_task("joins", {"package": "hello", "templateFileName": "slow.json", "amiName": "held"})
    async with asyncio.timeout(5):
        while not (await bakes.find_one({"_id": "held-by-gate"}) or {}).get("waiters"):
            await asyncio.sleep(0.05)
    ended = StageCompleted(
        execution_id="joins",
        application="hello",
        stage_id="s1",
        ref_id="1",
        stage_type="bake",
        name="Bake",
        status="CANCELED",
    )
    await bakery.bus.publish(ended, subject="joins")
    async with asyncio.timeout(5):
        while (await bakes.find_one({"_id": "held-by-gate"}) or {}).get("waiters"):
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # past the runner's next look at the bake
    held = await bakes.find_one({"_id": "held-by-gate"})
    assert held["state"] == "RUNNING" and _running(int(held["pid"]))
    await bakery.bus.send(CancelBake(bake_id="held-by-gate", region="local", authority=admin))
    async with asyncio.timeout(5):
        while _running(int(held["pid"])):
            await asyncio.sleep(0.05)
    assert (await bakes.find_one({"_id": "held-by-gate"}))["state"] == "CANCELED"
