"""Echo's notification messages and settings.

Echo turns Orca's execution and stage events into Spinnaker notifications (pipeline-, stage- and
application-level, ``when`` one of pipeline.starting/complete/failed, stage.starting/complete/failed,
manualJudgment, manualJudgmentContinue, manualJudgmentStop). It renders each once into a
:class:`Notification` and sends itself one :class:`DeliverNotification` per recipient, so each
delivery is retried, and finally dead-lettered, on its own: a failing channel never holds up the
others, nor the pipeline. :class:`NotificationSent` reports each delivery that went out.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import Command, Event
from schemas.registry import message

ChannelType = Literal["email", "slack", "microsoftteams", "googlechat", "webhook"]
"""The notification ``type`` values Echo delivers."""


class NotificationSettings(BaseModel):
    """How Echo reaches people: the SMTP server, the Slack bot, and where Deck lives (for links)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deck_base_url: str = Field("http://localhost:9000", description="Deck's address, for links to executions")
    smtp_host: str | None = Field(None, description="SMTP server for email notifications; unset: no email")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before anything else")
    smtp_user: str | None = Field(None, description="Log in with this user (after STARTTLS) when set")
    smtp_password: str | None = None
    smtp_from: str = Field("spinnaker@localhost", description="The From address of every email")
    smtp_ca_file: str | None = Field(None, description="CA bundle to trust for STARTTLS; default: the system's")
    slack_token: str | None = Field(None, description="Bot token for chat.postMessage (channel addresses)")
    slack_api_url: str = Field("https://slack.com/api", description="Slack's Web API base URL")
    timeout: float = Field(10.0, gt=0, description="Seconds one delivery may take")


class Notification(BaseModel):
    """One notification, rendered once and handed to whichever channel delivers it.

    ``title`` is a one-line summary (an email subject), ``text`` the body in plain text, ``link``
    the execution in Deck; ``judgment_link`` is set for manual judgments; ``facts`` are the labelled
    details channels show as fields (status, trigger, failing stage, error).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: str
    title: str
    text: str
    link: str
    application: str
    execution_id: str
    execution_name: str
    status: str
    stage_name: str | None = None
    judgment_link: str | None = None
    custom_text: str | None = None
    facts: dict[str, str] = Field(default_factory=dict)


@message
class DeliverNotification(Command):
    """Deliver ``notification`` to one recipient; ``delivery_id`` (the causing event's id and the
    recipient) makes a second delivery of the same pair a no-op."""

    message_type: ClassVar[str] = "echo.DeliverNotification"
    delivery_id: str = Field(min_length=1)
    channel: ChannelType
    address: str = Field(min_length=1)
    notification: Notification


@message
class NotificationSent(Event):
    """A notification reached its channel (once per ``delivery_id``)."""

    message_type: ClassVar[str] = "echo.notification.sent"
    delivery_id: str
    channel: ChannelType
    address: str
    when: str
    application: str
    execution_id: str


__all__ = ["ChannelType", "DeliverNotification", "Notification", "NotificationSent", "NotificationSettings"]
