"""Gate's webhook endpoints: ``POST /webhooks/webhook/{source}``, ``/webhooks/git/{source}`` and
``/webhooks/{type}/{source}``.

External systems (CI servers, GitHub, GitLab, Bitbucket, scripts) call them without Spinnaker
credentials, as in Gate: the paths are public (:data:`schemas.auth_settings.DEFAULT_PUBLIC_PATHS`)
and pipelines guard themselves with payload constraints, a git trigger's ``secret`` (GitHub's
``X-Hub-Signature-256`` HMAC) or a webhook trigger's ``secret`` (header
``X-Gennaker-Webhook-Secret``). The gateway holds no trigger configs: it hands the raw body and the
headers Echo reads to Echo as one durable ``echo.HandleWebhook`` command and answers as Gate does,
``{"eventProcessed": true, "eventId": ...}``, once the command is safely on the bus. Echo matches
the triggers and starts the pipelines, then publishes ``echo.webhook.processed`` under the same id.
"""

from __future__ import annotations

import json
import time

from aiohttp import web
from pydantic import Field

from bus import new_id
from gateway.api_model import ApiModel, json_reply
from gateway.correlation import correlation_id
from gateway.errors import ErrorBody, RequestInvalid
from gateway.keys import BUS
from gateway.routing import Response, Route
from schemas.echo import HandleWebhook

FORWARDED_HEADERS = (
    "content-type",
    "user-agent",
    "x-github-event",
    "x-github-delivery",
    "x-hub-signature",
    "x-hub-signature-256",
    "x-gitlab-event",
    "x-gitlab-token",
    "x-event-key",
    "x-request-uuid",
    "x-gennaker-webhook-secret",
)
"""The headers Echo reads (event kinds, signatures, secrets); the rest stay at the gateway."""


class WebhookAccepted(ApiModel):
    """Gate's answer to a webhook: it was taken, and the id its processing goes by."""

    event_processed: bool = Field(True, description="always true: the event was handed to Echo")
    event_id: str = Field(description="names this delivery in echo.webhook.processed and the triggered executions")


def _json_object(raw: bytes) -> str:
    """The body as text, checked to be a JSON object (an empty body counts as ``{}``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestInvalid("the webhook body is not UTF-8 text: send a JSON object", field="body") from None
    if not text.strip():
        return "{}"
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise RequestInvalid(f"the webhook body is not JSON: {error}", field="body") from None
    if not isinstance(payload, dict):
        raise RequestInvalid("the webhook body must be a JSON object", field="body")
    return text


async def receive_webhook(request: web.Request) -> web.Response:
    """Hand the webhook to Echo; 200 ``{eventProcessed, eventId}`` once the command is on the bus."""
    body = _json_object(await request.read())
    event_id = new_id()
    command = HandleWebhook(
        event_id=event_id,
        type=request.match_info.get("type", "webhook"),
        source=request.match_info["source"],
        body=body,
        headers={name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers},
        received_at=time.time_ns() // 1_000_000,
    )
    bus = request.app[BUS]
    envelope = bus.envelope(command, subject=event_id)
    envelope.correlationid = correlation_id(request)
    await bus.send_envelope(envelope, to=HandleWebhook.owner())
    return json_reply(WebhookAccepted(event_id=event_id))


_RESPONSES = {
    200: Response("Handed to Echo, which starts every enabled pipeline whose trigger matches", WebhookAccepted),
    400: Response("The body is not a JSON object", ErrorBody),
}

ROUTES = (
    Route(
        "POST",
        "/webhooks/webhook/{source}",
        receive_webhook,
        summary="Trigger pipelines with a webhook",
        description=(
            "Starts every enabled pipeline with a trigger `{type: webhook, source, payloadConstraints}` matching "
            "the path's source and the JSON body; the body becomes the trigger's `payload` and its `parameters` "
            "the pipeline's parameters. No credentials needed, as in Gate."
        ),
        tag="webhooks",
        responses=_RESPONSES,
    ),
    Route(
        "POST",
        "/webhooks/{type}/{source}",
        receive_webhook,
        summary="Trigger pipelines with a typed webhook (git pushes and others)",
        description=(
            "`/webhooks/git/{github|gitlab|bitbucket}` takes the provider's push payload and starts the pipelines "
            "with a matching `git` trigger (project, slug, branch regex; with a `secret`, GitHub's "
            "`X-Hub-Signature-256` must verify). Any other type matches triggers of that type by source and "
            "payload constraints."
        ),
        tag="webhooks",
        responses=_RESPONSES,
        operation_id="receive_typed_webhook",
    ),
)
