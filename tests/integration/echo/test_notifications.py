"""Echo's notifications, end to end: real Orca and Front50 workers run pipelines on a MemoryBus over the
mongoeco wire server, Echo turns their events into notifications, and real local servers receive them
(an SMTP server demanding STARTTLS and a login, and HTTP servers standing in for Slack, Teams,
Google Chat and webhooks)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient
from ulid import ULID

from bus import Endpoint, Envelope, MemoryBus, MessageContext, RetryPolicy
from bus.service import Service, ServiceHost
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from schemas.echo_notifications import NotificationSent, NotificationSettings
from schemas.front50 import GetNotifications, NotificationsFound, SaveNotifications
from schemas.json_types import Json
from schemas.orca_engine import ExecutionFound, GetExecution, JudgeStage, StartExecution
from tests.authorities import ADMIN, admin
from tests.dead_letters import dead_lettered
from tests.integration.echo.notification_servers import ChatServer, MailServer
from tests.integration.echo.sink_servers import serve
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.echo.outbound import with_notifications_and_sinks
from workers.front50.worker import build_service as build_front50
from workers.orca.engine import EngineOptions
from workers.orca.worker import build_service as build_orca

pytestmark = pytest.mark.timeout(60)

DECK = "https://deck.example.com"
FINISHED = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"}
FAST_ENGINE = EngineOptions(
    pipeline_triggers=False, timer_interval=0.01, outbox_interval=0.05, outbox_grace_ms=100, reconcile_interval=0.05
)
SHUT = [{"type": "expression", "context": {"expression": False, "failureMessage": "the release gate is shut"}}]


@dataclass
class System:
    """Orca, Front50 and Echo on one bus, with the servers notifications go to."""

    bus: MemoryBus
    chat: ChatServer
    chat_url: str
    mail: MailServer
    sent: list[NotificationSent] = field(default_factory=list)
    sent_envelopes: list[Envelope] = field(default_factory=list)
    orca_events: list[Envelope] = field(default_factory=list)

    async def tap(self, envelope: Envelope, context: MessageContext) -> None:
        if envelope.type == NotificationSent.cloudevent_type():
            self.sent.append(NotificationSent.model_validate(envelope.data))
            self.sent_envelopes.append(envelope)
        else:
            self.orca_events.append(envelope)

    async def execution(self, execution_id: str) -> Json:
        reply = await self.bus.ask(GetExecution(id=execution_id))
        assert isinstance(reply, ExecutionFound)
        return reply.execution or {"status": "NOT_STARTED", "stages": []}

    async def stored_notifications(self, application: str) -> Json | None:
        reply = await self.bus.ask(GetNotifications(application=application))
        assert isinstance(reply, NotificationsFound)
        return reply.notifications

    async def start(self, config: Json) -> str:
        execution_id = str(ULID())
        await self.bus.send(StartExecution(authority=ADMIN, execution_id=execution_id, pipeline=config))
        return execution_id

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}: not reached in {timeout}s (sent: {[s.when for s in self.sent]})")
            await asyncio.sleep(0.02)

    async def finished(self, execution_id: str) -> Json:
        deadline = asyncio.get_running_loop().time() + 15
        while (execution := await self.execution(execution_id))["status"] not in FINISHED:
            assert asyncio.get_running_loop().time() < deadline, execution["status"]  # still running
            await asyncio.sleep(0.05)
        return execution

    def hook(self, path: str) -> str:
        return f"{self.chat_url}/{path}"


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    store = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient((await store.start()).uri)
    mail = MailServer(tmp_path).start()
    chat = ChatServer()
    bus = MemoryBus(source="/test", retry=RetryPolicy(max_attempts=3, base_delay=0.05, factor=2.0, max_delay=0.2))
    hosts: list[ServiceHost] = []
    try:
        async with serve(chat.app()) as chat_url:
            settings = Settings(
                notifications=NotificationSettings(
                    deck_base_url=DECK,
                    smtp_host="127.0.0.1",
                    smtp_port=mail.port,
                    smtp_user=mail.user,
                    smtp_password=mail.password,
                    smtp_from="spinnaker@example.com",
                    smtp_ca_file=str(mail.ca_file),
                    slack_token=chat.slack_token,
                    slack_api_url=f"{chat_url}/slack/api",
                ),
                outbound=LOOPBACK_TEST_SERVERS,
            )
            resources = WorkerResources(settings, client["gennaker"])
            made = System(bus, chat, chat_url, mail)
            await bus.consume(
                Endpoint(
                    service="notify-test",
                    kind="events",
                    patterns=(NotificationSent.message_type, "orca.execution.completed"),
                    raw_handler=made.tap,
                    durable=False,
                )
            )
            echo = with_notifications_and_sinks(Service(name="echo", version="test"), resources)
            for service in (build_orca(resources, engine=FAST_ENGINE), build_front50(resources), echo):
                host = ServiceHost(bus, service)
                await host.start()
                hosts.append(host)
            yield made
    finally:
        for host in reversed(hosts):
            await host.stop()
        await bus.close()
        mail.stop()
        await client.close()
        await store.close()


def pipeline(*stages: Json, notifications: list[Json] | None = None) -> Json:
    return {
        "id": "config-1",
        "application": "billing",
        "name": "deploy",
        "stages": list(stages),
        "notifications": notifications or [],
    }


def stage(ref_id: str, type: str = "wait", after: tuple[str, ...] = (), **context: Any) -> Json:
    if type == "wait":
        context.setdefault("waitTime", 0)
    return {"refId": ref_id, "type": type, "name": f"{type} {ref_id}", "requisiteStageRefIds": list(after), **context}


async def test_a_failed_pipeline_notifies_every_channel_once(system: System) -> None:
    notifications: list[Json] = [
        {
            "type": "email",
            "address": "oncall@example.com, lead@example.com",
            "level": "pipeline",
            "when": ["pipeline.failed"],
            "message": {"pipeline.failed": {"text": "Roll back before lunch."}},
        },
        {"type": "slack", "address": "deploys", "level": "pipeline", "when": ["pipeline.starting", "pipeline.failed"]},
        {"type": "microsoftteams", "address": system.hook("teams"), "when": ["pipeline.failed"]},
        {"type": "googlechat", "address": system.hook("gchat"), "when": ["pipeline.failed"]},
        {"type": "webhook", "address": system.hook("hook"), "when": ["pipeline.failed", "pipeline.complete"]},
        {"type": "sms", "address": "+15550100", "when": ["pipeline.failed"]},
    ]
    config = pipeline(
        stage("1"), stage("2", "checkPreconditions", after=("1",), preconditions=SHUT), notifications=notifications
    )
    execution_id = await system.start(config)
    assert (await system.finished(execution_id))["status"] == "TERMINAL"
    await system.until(lambda: len(system.sent) >= 7, "every delivery went out")
    await asyncio.sleep(0.3)
    link = f"{DECK}/#/applications/billing/executions/details/{execution_id}"

    assert sorted(rcpt for rcpts in system.mail.recipients for rcpt in rcpts) == [
        "lead@example.com",
        "oncall@example.com",
    ]
    mail = system.mail.mails[0]
    message_ids = {str(sent["Message-ID"]) for sent in system.mail.mails}
    assert len(message_ids) == 2 and all(m.startswith("<") and m.endswith("@example.com>") for m in message_ids)
    assert mail["Subject"] == "billing's deploy pipeline has failed"
    assert mail["From"] == "spinnaker@example.com"
    body = mail.get_content()
    assert "Failing stage: checkPreconditions 2" in body
    assert "Error: the release gate is shut" in body
    assert link in body and "manual" in body
    assert "Roll back before lunch." in body

    slack = system.chat.received["slack-api"]
    assert [message["channel"] for message in slack] == ["#deploys", "#deploys"]
    failed = slack[1]
    assert "has failed" in failed["blocks"][0]["text"]["text"]
    buttons = failed["blocks"][-1]["elements"]
    assert buttons[0]["url"] == link

    [card] = system.chat.received["teams"]
    assert card["@type"] == "MessageCard" and card["title"] == "billing's deploy pipeline has failed"
    assert {"name": "Error", "value": "the release gate is shut"} in card["sections"][0]["facts"]
    [chat] = system.chat.received["gchat"]
    assert link in chat["text"]
    [hook] = system.chat.received["hook"]
    assert hook["when"] == "pipeline.failed" and hook["facts"]["Failing stage"] == "checkPreconditions 2"
    assert sorted(s.when for s in system.sent) == ["pipeline.failed"] * 6 + ["pipeline.starting"]
    assert all(envelope.subject == execution_id for envelope in system.sent_envelopes)


async def test_custom_message_text_reaches_the_channel(system: System) -> None:
    notifications = [
        {
            "type": "webhook",
            "address": system.hook("custom"),
            "when": ["pipeline.complete"],
            "message": {"pipeline.complete": {"text": "Shipped to prod."}},
        }
    ]
    execution_id = await system.start(pipeline(stage("1"), notifications=notifications))
    await system.finished(execution_id)
    await system.until(lambda: bool(system.chat.received["custom"]), "the webhook got it")
    [hook] = system.chat.received["custom"]
    assert hook["custom_text"] == "Shipped to prod."
    assert hook["title"] == "billing's deploy pipeline has completed successfully"


async def test_stage_and_manual_judgment_notifications(system: System) -> None:
    judgment = stage(
        "2",
        "manualJudgment",
        after=("1",),
        instructions="Check the canary dashboard",
        sendNotifications=True,
        notifications=[
            {
                "type": "slack",
                "address": system.hook("slack-hook"),
                "when": ["manualJudgment", "manualJudgmentContinue"],
            }
        ],
    )
    first = stage(
        "1",
        sendNotifications=True,
        notifications=[
            {"type": "webhook", "address": system.hook("stages"), "when": ["stage.starting", "stage.complete"]}
        ],
    )
    silent = stage(
        "3",
        after=("2",),
        notifications=[{"type": "webhook", "address": system.hook("stages"), "when": ["stage.starting"]}],
    )
    execution_id = await system.start(pipeline(first, judgment, silent))
    await system.until(lambda: len(system.chat.received["slack-hook"]) == 1, "the judgment was announced")
    [awaiting] = system.chat.received["slack-hook"]
    stage_id = next(s["id"] for s in (await system.execution(execution_id))["stages"] if s["refId"] == "2")
    link = f"{DECK}/#/applications/billing/executions/details/{execution_id}"
    buttons = awaiting["blocks"][-1]["elements"]
    assert buttons[0]["text"]["text"] == "Judge" and buttons[0]["url"] == f"{link}?refId=2&stage=1"
    assert "awaiting manual judgment" in awaiting["text"]
    assert "Check the canary dashboard" in awaiting["blocks"][0]["text"]["text"]

    await system.bus.send(
        JudgeStage(execution_id=execution_id, stage_id=stage_id, judgment_status="continue", authority=admin("olivia"))
    )
    assert (await system.finished(execution_id))["status"] == "SUCCEEDED"
    await system.until(lambda: len(system.chat.received["slack-hook"]) == 2, "the judgment was reported")
    await asyncio.sleep(0.3)
    judged = system.chat.received["slack-hook"][1]
    assert "was judged to continue" in judged["text"]
    fields = judged["blocks"][1]["fields"]
    assert {"type": "mrkdwn", "text": "*Judged by*\nolivia"} in fields
    # stage 1 notified starting and complete; stage 3 does not send notifications (no sendNotifications)
    assert [hook["when"] for hook in system.chat.received["stages"]] == ["stage.starting", "stage.complete"]
    assert system.chat.received["stages"][0]["title"] == "Stage wait 1 of billing's deploy pipeline is starting"


async def test_application_preferences_from_front50(system: System) -> None:
    preferences = {
        "slack": [{"address": "#billing", "level": "application", "when": ["pipeline.complete"]}],
        "email": [{"address": "team@example.com", "level": "application", "when": ["pipeline.failed"]}],
    }
    await system.bus.send(SaveNotifications(authority=ADMIN, application="billing", notifications=preferences))
    deadline = asyncio.get_running_loop().time() + 15
    while await system.stored_notifications("billing") is None:
        assert asyncio.get_running_loop().time() < deadline, "Front50 never stored the preferences"
        await asyncio.sleep(0.05)
    execution_id = await system.start(pipeline(stage("1")))
    await system.finished(execution_id)
    await system.until(lambda: bool(system.chat.received["slack-api"]), "the application's channel heard")
    await asyncio.sleep(0.3)
    [message] = system.chat.received["slack-api"]
    assert message["channel"] == "#billing"
    assert "has completed successfully" in message["text"]
    assert not system.mail.mails


async def test_a_redelivered_event_notifies_nobody_twice(system: System) -> None:
    notifications = [{"type": "webhook", "address": system.hook("once"), "when": ["pipeline.complete"]}]
    execution_id = await system.start(pipeline(stage("1"), notifications=notifications))
    await system.finished(execution_id)
    await system.until(lambda: len(system.chat.received["once"]) == 1, "the first delivery")
    [original] = [e for e in system.orca_events if e.subject == execution_id and e.type.endswith("completed.v1")]
    for _ in range(3):  # at-least-once delivery: the same event (same id) arrives again
        await system.bus.publish_envelope(original, routing_key="orca.execution.completed")
    await asyncio.sleep(0.8)
    assert len(system.chat.received["once"]) == 1
    assert len(system.sent) == 1


async def test_a_failing_channel_is_retried_then_dead_lettered_and_never_blocks_the_others(system: System) -> None:
    notifications = [
        {"type": "webhook", "address": system.hook("down"), "when": ["pipeline.complete"]},
        {"type": "webhook", "address": system.hook("gone"), "when": ["pipeline.complete"]},
        {"type": "slack", "address": "#nowhere", "when": ["pipeline.complete"]},
        {"type": "webhook", "address": system.hook("fine"), "when": ["pipeline.complete"]},
    ]
    execution_id = await system.start(pipeline(stage("1"), notifications=notifications))
    assert (await system.finished(execution_id))["status"] == "SUCCEEDED"
    await system.until(lambda: len(system.chat.received["fine"]) == 1, "the healthy channel delivered")
    await dead_lettered(system.bus, 3, "the failing deliveries were dead-lettered")
    reasons = " | ".join(letter.reason for letter in await system.bus.dead_letters())
    assert "webhook answered HTTP 503" in reasons and "gave up after 3 attempts" in reasons
    assert "webhook refused the notification with HTTP 404" in reasons
    assert "channel_not_found" in reasons
    assert system.chat.attempts["down"] == 3, "retried with backoff up to the limit"
    keys = {headers["Idempotency-Key"] for headers in system.chat.headers["down"]}
    assert len(keys) == 1, "every retry of a delivery carries its first key"
    assert keys != {system.chat.headers["fine"][0]["Idempotency-Key"]}, "each delivery has a key of its own"
    assert system.chat.attempts["gone"] == 1 and system.chat.attempts["slack-api"] == 1, "permanent: no retry"
    assert all(letter.queue == "gennaker.echo.commands" for letter in await system.bus.dead_letters())
