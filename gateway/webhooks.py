"""Gate's webhook endpoints: ``POST /webhooks/webhook/{source}``, ``/webhooks/git/{source}``,
``/webhooks/docker`` and ``/webhooks/{type}/{source}``.

External systems (CI servers, GitHub, GitLab, Bitbucket, scripts) call them without Spinnaker
credentials, as in Gate: the paths are public (:data:`schemas.auth_settings.DEFAULT_PUBLIC_PATHS`)
and pipelines guard themselves with payload constraints, a git trigger's ``secret`` (GitHub's
``X-Hub-Signature-256`` HMAC) or a webhook trigger's ``secret`` (header
``X-Gennaker-Webhook-Secret``). The gateway holds no trigger configs: it hands the raw body and the
headers Echo reads to Echo as one durable ``echo.HandleWebhook`` command and answers as Gate does,
``{"eventProcessed": true, "eventId": ...}``, once the command is safely on the bus. Echo matches
the triggers and starts the pipelines, then publishes ``echo.webhook.processed`` under the same id.

A webhook sent with an ``Idempotency-Key`` (scoped to its path's type and source) gets an
``eventId`` derived from the key: sent again within 24 h it is answered with the same ``eventId``
and is the same delivery to Echo, so nothing starts twice; the same key with another body is a
422 (Echo remembers the first body's fingerprint and answers ``echo.GetWebhookDelivery``; should
Echo not answer in time, the webhook is handed over and Echo refuses it).

What Echo must read of a payload to match triggers and bind artifacts (a docker push's repository
and tag, a git push's changed files, a Docker Hub or registry notification) is read here first
(:mod:`schemas.trigger_artifacts`), so a malformed one is a 400 naming the field rather than a
webhook that silently starts nothing.
"""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import Field

from bus import QueryFailed, QueryTimeout, new_id
from gateway.api_model import ApiModel, json_reply
from gateway.command_results import ask
from gateway.correlation import correlation_id
from gateway.errors import ErrorBody, RequestInvalid, error_reply
from gateway.idempotency import DOCUMENTED as IDEMPOTENCY_HEADER
from gateway.idempotency import client_key
from gateway.keys import BUS
from gateway.routing import Response, Route, parse_json, read_raw
from schemas.echo import GetWebhookDelivery, HandleWebhook, WebhookDelivery
from schemas.idempotency import HEADER
from schemas.json_types import Json
from schemas.trigger_artifacts import PayloadInvalid, check_payload

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


def _json_object(raw: bytes) -> tuple[str, Json]:
    """The body as text and parsed, checked to be a JSON object (an empty body counts as ``{}``)
    whose numbers fit (:func:`gateway.routing.parse_json`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestInvalid("the webhook body is not UTF-8 text: send a JSON object", field="body") from None
    if not text.strip():
        return "{}", {}
    payload = parse_json(raw)
    if not isinstance(payload, dict):
        raise RequestInvalid("the webhook body must be a JSON object", field="body")
    return text, payload


def _is_push(request: web.Request) -> bool:
    """Whether a git webhook is a push (other events, GitHub's ``ping`` …, name no files)."""
    github = request.headers.get("X-GitHub-Event", "push")
    gitlab = request.headers.get("X-Gitlab-Event", "Push Hook")
    return github == "push" and gitlab in ("Push Hook", "Tag Push Hook")


def _check_payload(request: web.Request, kind: str, source: str, payload: Json) -> None:
    if kind == "git" and not _is_push(request):
        return
    try:
        check_payload(kind, source, payload)
    except PayloadInvalid as invalid:
        raise RequestInvalid(f"the {kind} webhook's {invalid}", field=invalid.field) from None


async def receive_webhook(request: web.Request) -> web.Response:
    """Hand the webhook to Echo; 200 ``{eventProcessed, eventId}`` once the command is on the bus."""
    return await _receive(request, request.match_info.get("type", "webhook"), request.match_info["source"])


async def receive_docker_webhook(request: web.Request) -> web.Response:
    """``/webhooks/docker``: Spinnaker's docker event content, handed to Echo as source ``docker``."""
    return await _receive(request, "docker", "docker")


async def _receive(request: web.Request, kind: str, source: str) -> web.Response:
    body, payload = _json_object(await read_raw(request))
    _check_payload(request, kind, source, payload)
    key = client_key(request, body, scope=f"webhook:{kind}/{source}")
    event_id = new_id() if key is None else key.record_id()
    if key is not None:
        first = await _delivered(request, event_id)
        if first is not None and first != key.fingerprint:
            message = f"this {HEADER} was used within the last 24 hours for a webhook with another body"
            return error_reply(422, ErrorBody(error=message, field=HEADER))
        if first is not None:
            return json_reply(WebhookAccepted(event_id=event_id))  # handed over already: the same delivery
    command = HandleWebhook(
        event_id=event_id,
        type=kind,
        source=source,
        body=body,
        headers={name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers},
        received_at=time.time_ns() // 1_000_000,
        client_key=key,
    )
    bus = request.app[BUS]
    envelope = bus.envelope(command, subject=event_id)
    envelope.correlationid = correlation_id(request)
    await bus.send_envelope(envelope, to=HandleWebhook.owner())
    return json_reply(WebhookAccepted(event_id=event_id))


async def _delivered(request: web.Request, event_id: str) -> str | None:
    """The fingerprint of the keyed delivery ``event_id`` Echo remembers; ``None`` if none (or Echo is silent)."""
    try:
        found = await ask(request, GetWebhookDelivery(event_id=event_id), WebhookDelivery)
    except (QueryTimeout, QueryFailed):
        return None
    return found.fingerprint


_RESPONSES = {
    200: Response("Handed to Echo, which starts every enabled pipeline whose trigger matches", WebhookAccepted),
    400: Response(
        "The body is not a JSON object, a field Echo reads is malformed (named in `field`), "
        "or the Idempotency-Key is not one",
        ErrorBody,
    ),
    422: Response("The Idempotency-Key was sent with another body within the last 24 hours", ErrorBody),
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
        headers=IDEMPOTENCY_HEADER,
    ),
    Route(
        "POST",
        "/webhooks/docker",
        receive_docker_webhook,
        summary="Trigger pipelines with a docker image push",
        description=(
            "Spinnaker's docker event (what Igor sends Echo on a new tag): `{account, registry, repository, tag, "
            "digest}`. Starts every enabled pipeline with a `docker` trigger of that account (or, without one, "
            "registry) and repository whose `tag` regex matches (no `tag`: any but `latest`), binding the "
            "image's `docker/image` artifact (`registry/repository:tag`). `/webhooks/docker/dockerhub` takes "
            "Docker Hub's webhook, `/webhooks/docker/quay` Quay's push notification and "
            "`/webhooks/docker/dockerregistry` a registry's notification instead."
        ),
        tag="webhooks",
        responses=_RESPONSES,
        headers=IDEMPOTENCY_HEADER,
    ),
    Route(
        "POST",
        "/webhooks/{type}/{source}",
        receive_webhook,
        summary="Trigger pipelines with a typed webhook (git pushes and others)",
        description=(
            "`/webhooks/git/{github|gitlab|bitbucket}` takes the provider's push payload and starts the pipelines "
            "with a matching `git` trigger (project, slug, branch regex; with a `secret`, GitHub's "
            "`X-Hub-Signature-256` must verify), binding a `github/file` or `gitlab/file` artifact per file the "
            "push added or modified. `/webhooks/docker/{source}` starts `docker` triggers (see "
            "`POST /webhooks/docker`). Any other type matches triggers of that type by source and "
            "payload constraints."
        ),
        tag="webhooks",
        responses=_RESPONSES,
        operation_id="receive_typed_webhook",
        headers=IDEMPOTENCY_HEADER,
    ),
)
