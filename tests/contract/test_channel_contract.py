"""One contract for every notification channel: the promises of
:class:`workers.echo.notifications.channel.NotificationChannel`.

Each test runs on Slack (the Web API's ``chat.postMessage``), Microsoft Teams, Google Chat and the
generic webhook (against ``tests/integration/echo/notification_servers.ChatServer``, which answers
as each of them), on email (SMTP with STARTTLS and a login, against that module's aiosmtpd
``MailServer``), and on the in-process twin :class:`~workers.echo.notifications.memory.MemoryChannel`.
A channel delivers once; an address that will never work raises ``PermanentError``; a system that
cannot be reached now raises ``DeliveryFailed`` (the bus retries it). A new channel is one more
branch of ``open_harness``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bus import PermanentError
from gennaker.host import free_port
from gennaker.outbound import OutboundClient
from schemas.echo_notifications import Notification, NotificationSettings
from tests.integration.echo.notification_servers import ChatServer, MailServer
from tests.integration.echo.sink_servers import serve
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.echo.notifications.channel import DeliveryFailed, NotificationChannel
from workers.echo.notifications.email import EmailChannel
from workers.echo.notifications.googlechat import GoogleChatChannel
from workers.echo.notifications.memory import MemoryChannel
from workers.echo.notifications.slack import SlackChannel
from workers.echo.notifications.teams import TeamsChannel
from workers.echo.notifications.webhook import WebhookChannel

CHANNELS = ["slack", "microsoftteams", "googlechat", "webhook", "email", "memory"]
NOTIFICATION = Notification(
    when="pipeline.complete",
    title="shop deploy succeeded",
    text="The pipeline deploy of shop succeeded.",
    link="http://deck.example/#/applications/shop/executions/01X",
    application="shop",
    execution_id="01X",
    execution_name="deploy",
    status="SUCCEEDED",
)


@dataclass
class Harness:
    """A channel, the addresses that work and never work, and a twin of it that cannot connect."""

    channel: NotificationChannel
    unreachable: NotificationChannel
    good: str
    never: str
    unreachable_address: str
    chat: ChatServer | None = None
    twin: MemoryChannel | None = None
    mail: MailServer | None = None


def mail_settings(mail: MailServer, port: int) -> NotificationSettings:
    """Echo's settings for the mail server, reached on ``port`` (the server's, or one nobody answers)."""
    return NotificationSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_user=mail.user,
        smtp_password=mail.password,
        smtp_from="spinnaker@example.com",
        smtp_ca_file=str(mail.ca_file),
    )


@contextlib.asynccontextmanager
async def open_harness(kind: str, session: OutboundClient, directory: Path) -> AsyncIterator[Harness]:
    if kind == "memory":
        twin = MemoryChannel(refused={"nowhere"})
        down = MemoryChannel(outage=True)
        yield Harness(twin, down, "somewhere", "nowhere", "somewhere", twin=twin)
        return
    if kind == "email":
        mail = MailServer(directory).start()
        try:
            email = EmailChannel(mail_settings(mail, mail.port))
            unanswered = EmailChannel(mail_settings(mail, free_port()))
            yield Harness(
                email, unanswered, "team@example.com", "nobody@nowhere.example", "team@example.com", mail=mail
            )
        finally:
            mail.stop()
        return
    chat = ChatServer()
    closed = f"http://127.0.0.1:{free_port()}"
    async with serve(chat.app()) as url:
        if kind == "slack":
            settings = NotificationSettings(slack_token="xoxb-test", slack_api_url=f"{url}/slack/api")
            away = NotificationSettings(slack_token="xoxb-test", slack_api_url=closed)
            yield Harness(
                SlackChannel(settings, session), SlackChannel(away, session), "#deploys", "#nowhere", "#deploys", chat
            )
            return
        builders: dict[str, Callable[[NotificationSettings, OutboundClient], NotificationChannel]] = {
            "microsoftteams": TeamsChannel,
            "googlechat": GoogleChatChannel,
            "webhook": WebhookChannel,
        }
        channel = builders[kind](NotificationSettings(), session)
        yield Harness(channel, channel, f"{url}/hooks/good", f"{url}/gone", f"{closed}/hooks", chat)


@pytest.fixture
async def session() -> AsyncIterator[OutboundClient]:
    client = OutboundClient(LOOPBACK_TEST_SERVERS)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture(params=CHANNELS)
async def channel(request: pytest.FixtureRequest, session: OutboundClient, tmp_path: Path) -> AsyncIterator[Harness]:
    """Each contract test runs once per channel."""
    async with open_harness(request.param, session, tmp_path) as harness:
        yield harness


def arrived(harness: Harness) -> int:
    if harness.twin is not None:
        return len(harness.twin.delivered)
    if harness.mail is not None:
        return len(harness.mail.mails)
    assert harness.chat is not None
    return len(harness.chat.received.get("slack-api", [])) + len(harness.chat.received.get("hooks/good", []))


async def test_a_delivery_arrives_once(channel: Harness) -> None:
    await channel.channel.send(channel.good, NOTIFICATION, idempotency_key="01X:ann")
    assert arrived(channel) == 1


async def test_an_address_that_never_works_is_a_permanent_error(channel: Harness) -> None:
    with pytest.raises(PermanentError):
        await channel.channel.send(channel.never, NOTIFICATION, idempotency_key="01X:nowhere")
    assert arrived(channel) == 0


async def test_a_system_out_of_reach_is_a_failure_the_bus_retries(channel: Harness) -> None:
    with pytest.raises(DeliveryFailed):
        await channel.unreachable.send(channel.unreachable_address, NOTIFICATION, idempotency_key="01X:later")
    assert arrived(channel) == 0
