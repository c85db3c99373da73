"""Igor on its own against the local Jenkins server: duplicate triggers, permissions, polling cost,
one announcement per build across replicas, tasks taken over from an Igor that died, and the
server's own wire formats (auth, crumbs, XML, ``tree``)."""

from __future__ import annotations

import asyncio
import base64
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bus import MemoryBus
from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.envelope import Envelope
from schemas import parse_cloudevent_type, registry
from schemas.authority import Authority
from schemas.base import Event
from schemas.igor import BuildCompleted, BuildReply, IgorSettings, IgorTaskCompleted, JenkinsMasterConfig, ListJobs
from schemas.orca_engine import RunExternalTask
from tests.jenkins_server import CRUMB_FIELD, TOKEN, USER, JenkinsServer, JobSpec, Parameter, jenkins_app
from tests.mongo import fresh_database
from workers.igor.handlers import BuildQueries
from workers.igor.masters import Masters
from workers.igor.poller import BuildMonitor
from workers.igor.stage_task import StageTasks, task_key
from workers.igor.store import IgorStore

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEV = Authority(user="dana", roles=("dev",))
OPS = Authority(user="olga", roles=("ops",))
OUTSIDER = Authority(user="otto", roles=("sales",))


@dataclass
class Rig:
    jenkins: JenkinsServer
    client: TestClient[Any, Any]
    bus: MemoryBus
    store: IgorStore
    masters: Masters
    settings: IgorSettings
    events: list[Event]

    def tasks(self, owner: str) -> StageTasks:
        return StageTasks(self.store, self.masters, self.settings, owner=owner)

    def monitor(self, owner: str, orphan_ms: int = 30_000) -> BuildMonitor:
        return BuildMonitor(self.store, self.masters, self.settings, owner=owner, orphan_ms=orphan_ms)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[Rig]:
    jenkins = JenkinsServer(csrf=True)
    jenkins.add_job("app", JobSpec([Parameter("ENV", "choice", choices=["dev", "prod"])], duration=0.05))
    for index in range(200):
        jenkins.add_job(f"fleet/service-{index:03}")
    jenkins.add_job("fleet/deeper/still/deepest")
    client: TestClient[Any, Any] = TestClient(TestServer(jenkins_app(jenkins)))
    await client.start_server()
    config = JenkinsMasterConfig.model_validate(
        {
            "name": "ci",
            "address": str(client.make_url("")).rstrip("/"),
            "username": USER,
            "password": TOKEN,
            "csrf": True,
            "permissions": {"READ": ["dev", "ops"], "WRITE": ["ops"]},
        }
    )
    settings = IgorSettings(jenkins=[config], build_poll_interval=0.05, start_retries=1, start_backoff=0.05)
    masters = Masters(settings.jenkins)
    bus = MemoryBus(source="/test")
    events: list[Event] = []

    async def tap(envelope: Envelope, context: MessageContext) -> None:
        name, version = parse_cloudevent_type(envelope.type)
        event = registry.load(name, version, envelope.data)
        assert isinstance(event, Event)
        events.append(event)

    consumption = await bus.consume(
        Endpoint(service="igor-test", kind="events", patterns=("igor.#",), raw_handler=tap, durable=False)
    )
    async with fresh_database() as db:
        store = IgorStore(db)
        await store.ensure_indexes()
        yield Rig(jenkins, client, bus, store, masters, settings, events)
    await consumption.stop()
    await bus.close()
    await masters.close()
    await client.close()


def start_task(execution: str, attempt: int = 1, authority: Authority = OPS, **context: Any) -> RunExternalTask:
    return RunExternalTask(
        execution_id=execution,
        stage_id="s1",
        task_id="1",
        attempt=attempt,
        application="shop",
        stage_type="jenkins",
        context={"master": "ci", "job": "app", "igorTask": "startJenkinsJob", "stageStartTime": 1, **context},
        authority=authority,
    )


async def answers(rig: Rig, execution: str, count: int) -> list[IgorTaskCompleted]:
    async with asyncio.timeout(5):
        while True:
            found = [e for e in rig.events if isinstance(e, IgorTaskCompleted) and e.execution_id == execution]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)


def context_of(rig: Rig) -> MessageContext:
    envelope = Envelope(source="/test", type="test", data={})
    return MessageContext(envelope=envelope, attempt=1, redelivered=False, service="igor", bus=rig.bus)


async def test_the_same_stage_asking_twice_gets_the_same_queue_item(rig: Rig) -> None:
    queued_before = len(rig.jenkins.queue)
    first, second = rig.tasks("igor-a"), rig.tasks("igor-b")
    task = start_task("dup", parameters={"ENV": "prod"})
    await first.run(task, context_of(rig))
    await second.run(task, context_of(rig))  # the same command redelivered to another Igor
    await second.run(start_task("dup", attempt=2, parameters={"ENV": "prod"}), context_of(rig))  # a retried attempt
    found = await answers(rig, "dup", 3)
    assert {answer.context["queuedBuild"] for answer in found} == {str(max(rig.jenkins.queue))}
    assert len(rig.jenkins.queue) == queued_before + 1
    await first.run(start_task("dup", parameters={"ENV": "prod"}, stageStartTime=2), context_of(rig))  # a restart
    assert len(rig.jenkins.queue) == queued_before + 2


async def test_write_is_needed_to_trigger_and_read_to_list(rig: Rig) -> None:
    tasks = rig.tasks("igor-a")
    await tasks.run(start_task("dev-run", authority=DEV), context_of(rig))
    refused = (await answers(rig, "dev-run", 1))[0]
    assert refused.status == "TERMINAL"
    assert refused.error == "Access denied to master 'ci': WRITE is required"
    queries = BuildQueries(rig.masters)
    listed = await queries.list_jobs(ListJobs(master="ci", authority=DEV), context_of(rig))
    assert listed.status == 200 and isinstance(listed.value, list) and "fleet/job/service-007" in listed.value
    hidden = await queries.list_jobs(ListJobs(master="ci", authority=OUTSIDER), context_of(rig))
    assert (hidden.status, hidden.error) == (403, "Access denied to master 'ci': READ is required")
    assert isinstance(hidden, BuildReply) and hidden.value is None


async def test_polling_200_jobs_costs_one_request_per_three_folder_levels_and_announces_once(rig: Rig) -> None:
    replicas = [rig.monitor("igor-a"), rig.monitor("igor-b")]
    for replica in replicas:
        await replica.poll("ci", rig.bus)  # first sight: records, announces nothing
    before = len(rig.jenkins.requests)
    await replicas[0].poll("ci", rig.bus)
    polled = [path for _, path in rig.jenkins.requests[before:]]
    assert len(polled) == 2, polled  # the root (3 levels) and fleet/deeper/still (the 4th level)
    assert polled[0].startswith("/api/json?tree=")
    rig.jenkins.enqueue("fleet/service-042")
    rig.jenkins.enqueue("fleet/deeper/still/deepest")
    await asyncio.sleep(0.1)  # both builds ran (0.05 s)
    for _ in range(3):  # both replicas, three times: each build is announced by one of them, once
        await asyncio.gather(*(replica.poll("ci", rig.bus) for replica in replicas))
    await asyncio.sleep(0.05)
    builds = [e for e in rig.events if isinstance(e, BuildCompleted) and e.job.startswith("fleet/")]
    assert sorted((e.job, e.build["number"], e.build["result"]) for e in builds) == [
        ("fleet/job/deeper/job/still/job/deepest", 1, "SUCCESS"),
        ("fleet/job/service-042", 1, "SUCCESS"),
    ]


async def test_an_announcement_claimed_by_a_dead_igor_is_published_by_another(rig: Rig) -> None:
    event = BuildCompleted(master="ci", job="orphan", build={"number": 9, "result": "SUCCESS"})
    assert await rig.store.claim_announcement("ci/orphan/9", event.model_dump(mode="json"), "dead-igor")
    assert not await rig.store.claim_announcement("ci/orphan/9", event.model_dump(mode="json"), "igor-a")
    await asyncio.sleep(0.03)
    await rig.monitor("igor-a", orphan_ms=20).republish_orphans(rig.bus)
    await asyncio.sleep(0.02)
    assert [e.build["number"] for e in rig.events if isinstance(e, BuildCompleted) and e.job == "orphan"] == [9]


async def test_a_task_left_by_a_killed_igor_is_taken_over_and_answered(rig: Rig) -> None:
    task = start_task("orphaned-task", parameters={"ENV": "dev"})
    await rig.store.add_task(
        task_key(task),
        {
            "execution_id": task.execution_id,
            "stage_id": task.stage_id,
            "command": task.model_dump(mode="json"),
            "due_at": 0,
            "lease_until": int(time.time() * 1000) - 1,
            "lease_owner": "killed-igor",
            "errors": 0,
            "answer": None,
            "published": False,
        },
    )
    loop = asyncio.create_task(rig.tasks("igor-b").loop(rig.bus))
    try:
        answer = (await answers(rig, "orphaned-task", 1))[0]
    finally:
        loop.cancel()
    assert answer.status == "SUCCEEDED" and answer.context["queuedBuild"].isdigit()


async def test_the_server_speaks_jenkins_wire_formats(rig: Rig) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()}
    assert (await rig.client.get("/api/json")).status == 401
    refused = await rig.client.post("/job/app/buildWithParameters", headers=auth, data={"ENV": "dev"})
    assert (refused.status, await refused.text()) == (403, "No valid crumb was included in the request")
    crumb = await (await rig.client.get("/crumbIssuer/api/json", headers=auth)).json()
    posted = {**auth, crumb["crumbRequestField"]: crumb["crumb"]}
    assert crumb["crumbRequestField"] == CRUMB_FIELD
    bad = await rig.client.post("/job/app/buildWithParameters", headers=posted, data={"ENV": "moon"})
    assert (bad.status, await bad.text()) == (400, "Illegal choice for parameter ENV: moon")
    queued = await rig.client.post("/job/app/buildWithParameters", headers=posted, data={"ENV": "dev"})
    assert queued.status == 201
    item = queued.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    await asyncio.sleep(0.01)
    xml = await (await rig.client.get(f"/queue/item/{item}/api/xml", headers=auth)).text()
    number = ElementTree.fromstring(xml).findtext("executable/number")
    assert number is not None and number.isdigit()
    tree = "builds[number,result]{0,1},name"
    cut = await (await rig.client.get("/job/app/api/json", params={"tree": tree}, headers=auth)).json()
    assert set(cut) == {"_class", "builds", "name"} and len(cut["builds"]) == 1
    assert set(cut["builds"][0]) == {"_class", "number", "result"}
