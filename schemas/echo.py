"""Echo's trigger messages: webhooks handed over by the gateway, what Echo started, and recent events.

The gateway holds no database and no trigger configs, so a webhook (``POST /webhooks/{type}/{source}``)
becomes one :class:`HandleWebhook` command carrying the raw body and the headers that matter (a
GitHub signature is over the exact bytes). Echo answers every webhook with
:class:`WebhookProcessed` and every pipeline it starts (cron, webhook, git, CloudEvent) with
:class:`TriggerFired`. :class:`ListRecentEvents` reads the bounded history of events Echo keeps,
which the gateway's event stream replays after ``Last-Event-ID``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from schemas.base import Command, Event, Query, Reply
from schemas.idempotency import ClientKey
from schemas.json_types import Json
from schemas.registry import message

TriggerType = Literal["cron", "webhook", "git", "docker", "cloudevent", "jenkins"]


@message
class HandleWebhook(Command):
    """A webhook the gateway received: start every enabled pipeline whose trigger it matches.

    ``type`` and ``source`` are the path's (``webhook``/``git``/``docker`` …, ``github``/any name;
    ``/webhooks/docker`` is type and source ``docker``); ``body`` is
    the request body exactly as received (UTF-8); ``headers`` the lower-cased headers Echo reads
    (``x-github-event``, ``x-hub-signature-256``, ``x-gitlab-token``, ``x-event-key``,
    ``x-gennaker-webhook-secret``). ``event_id`` names this delivery: the executions it starts are
    keyed by it, so a redelivered command starts nothing twice.

    With ``client_key`` (the sender's ``Idempotency-Key``; ``event_id`` is then derived from it), Echo
    remembers the delivery for 24 h: the same key again is the same delivery (its first
    ``received_at`` keys what it starts, so nothing starts twice), and another body under that key
    is refused.
    """

    message_type: ClassVar[str] = "echo.HandleWebhook"
    event_id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    source: str = Field(min_length=1)
    body: str
    headers: dict[str, str] = Field(default_factory=dict)
    received_at: int = Field(ge=0, description="epoch milliseconds when the gateway received it")
    client_key: ClientKey | None = None


@message
class WebhookProcessed(Event):
    """Echo matched webhook ``event_id``: the pipeline configs it started and those it refused, with why."""

    message_type: ClassVar[str] = "echo.webhook.processed"
    event_id: str
    type: str
    source: str
    triggered: list[str] = Field(default_factory=list, description="pipeline config ids started")
    refused: dict[str, str] = Field(default_factory=dict, description="pipeline config id → reason (e.g. signature)")


@message
class TriggerFired(Event):
    """Echo asked Orca to start a pipeline (``orca.TriggerPipeline`` with ``idempotency_key``)."""

    message_type: ClassVar[str] = "echo.trigger.fired"
    trigger_type: TriggerType
    application: str
    pipeline_config_id: str
    pipeline_name: str
    idempotency_key: str
    event_id: str | None = None
    scheduled_time: int | None = Field(default=None, description="cron: the tick's epoch milliseconds")
    misfire: bool = Field(default=False, description="cron: fired late, for a tick due while Echo was down")


@message
class RecentEvents(Reply):
    """Events in the order Echo received them; ``found`` is False when ``after`` is no longer kept."""

    message_type: ClassVar[str] = "echo.RecentEvents"
    events: list[Json]
    found: bool


@message
class ListRecentEvents(Query):
    """The events Echo received after event ``after`` (all it keeps when None), oldest first, at most ``limit``."""

    message_type: ClassVar[str] = "echo.ListRecentEvents"
    reply_model: ClassVar[type[Reply]] = RecentEvents
    after: str | None = None
    limit: int = Field(1000, ge=1, le=10000)


@message
class WebhookDelivery(Reply):
    """What Echo remembers of a keyed webhook delivery (``None`` fields: none remembered)."""

    message_type: ClassVar[str] = "echo.WebhookDelivery"
    fingerprint: str | None = None
    received_at: int | None = None


@message
class GetWebhookDelivery(Query):
    """The keyed webhook delivery ``event_id`` Echo remembers, if any (the gateway asks before
    handing over a webhook sent again with the same ``Idempotency-Key``)."""

    message_type: ClassVar[str] = "echo.GetWebhookDelivery"
    reply_model: ClassVar[type[Reply]] = WebhookDelivery
    event_id: str = Field(min_length=1)
