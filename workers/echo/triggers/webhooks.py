"""``echo.HandleWebhook``: start the pipelines a webhook the gateway received asks for.

* ``/webhooks/git/{source}``: a push (:mod:`workers.echo.triggers.git`) starts every enabled
  ``git`` trigger matching it; the execution's trigger gets ``project``, ``slug``, ``branch``,
  ``hash``, ``action`` and the ``payload``.
* ``/webhooks/{type}/{source}`` otherwise (``webhook`` above all): every enabled trigger of that
  ``type`` whose ``source`` equals the path's and whose ``payloadConstraints`` hold
  (:mod:`workers.echo.triggers.constraints`); the execution's trigger gets the ``payload`` and the
  payload's ``parameters`` as its parameters, as Echo's ``WebhookEventHandler`` does. A trigger
  with a ``secret`` (a Gennaker addition; Spinnaker has none for plain webhooks) also needs the
  header ``X-Gennaker-Webhook-Secret`` carrying it.

Each started pipeline is keyed by (delivery, config), so a redelivered command starts nothing
twice; a webhook sent again with the same ``Idempotency-Key`` is the same delivery
(:mod:`workers.echo.triggers.webhook_keys`), and one with another body under that key is refused.
The outcome is published as ``echo.webhook.processed``.
"""

from __future__ import annotations

import hmac
import json

import structlog

from bus import MessageContext
from schemas.echo import HandleWebhook, TriggerType, WebhookProcessed
from schemas.idempotency import HEADER
from schemas.json_types import Json
from workers.echo.triggers.constraints import constraint_mismatch
from workers.echo.triggers.git import parse_push, push_matches, secret_refusal
from workers.echo.triggers.keys import fire_key
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs, execution_trigger, start_pipeline
from workers.echo.triggers.webhook_keys import WebhookDeliveries

log = structlog.get_logger("gennaker.echo.webhooks")

SECRET_HEADER = "x-gennaker-webhook-secret"


def _payload(body: str) -> Json:
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {"value": payload}


class WebhookTriggers:
    """Handles ``echo.HandleWebhook`` against the configs in ``index``."""

    def __init__(self, index: PipelineIndex, deliveries: WebhookDeliveries, identity: RunAs | None = None) -> None:
        self.index = index
        self.deliveries = deliveries
        self.identity = identity or RunAs()

    async def handle_webhook(self, command: HandleWebhook, context: MessageContext) -> None:
        received_at = command.received_at
        if command.client_key is not None:
            first = await self.deliveries.first(command.event_id, command.client_key.fingerprint, received_at)
            if first.fingerprint != command.client_key.fingerprint:
                reason = f"{HEADER} {command.client_key.key!r} was used within 24 hours for a webhook with another body"
                log.warning("webhook refused: Idempotency-Key reused with another body", event_id=command.event_id)
                await context.publish(
                    WebhookProcessed(
                        event_id=command.event_id, type=command.type, source=command.source, refused={"*": reason}
                    ),
                    subject=command.event_id,
                )
                return
            received_at = first.received_at  # the same delivery: key what it starts as the first did
        await self.index.ensure_loaded(context.bus)
        payload = _payload(command.body)
        matches = self._git(command, payload) if command.type == "git" else self._webhook(command, payload)
        kind: TriggerType = "git" if command.type == "git" else "webhook"
        triggered: list[str] = []
        refused: dict[str, str] = {}
        if not matches and command.type != "git":
            refused["*"] = f"no enabled pipeline has an enabled {command.type} trigger with source {command.source!r}"
        for config, trigger, refusal in matches:
            config_id = str(config["id"])
            if refusal is not None:
                refused[config_id] = refusal
                log.warning("webhook refused for a pipeline", config=config_id, reason=refusal)
                continue
            key = fire_key(f"webhook/{command.event_id}/{config_id}", received_at)
            refusal = await start_pipeline(
                context, config, trigger, key=key, trigger_type=kind, event_id=command.event_id, identity=self.identity
            )
            if refusal is not None:
                refused[config_id] = refusal
                continue
            triggered.append(config_id)
        await context.publish(
            WebhookProcessed(
                event_id=command.event_id,
                type=command.type,
                source=command.source,
                triggered=triggered,
                refused=refused,
            ),
            subject=command.event_id,
        )

    def _webhook(self, command: HandleWebhook, payload: Json) -> list[tuple[Json, Json, str | None]]:
        found: list[tuple[Json, Json, str | None]] = []
        for config, trigger in self.index.triggers(command.type):
            if str(trigger.get("source") or "") != command.source:
                continue
            refusal = None  # the secret first: a sender without it learns nothing of the constraints
            secret = trigger.get("secret")
            if secret:
                given = command.headers.get(SECRET_HEADER, "")
                if not hmac.compare_digest(given.encode(), str(secret).encode()):
                    refusal = "X-Gennaker-Webhook-Secret is missing or does not match the trigger's secret"
            refusal = refusal or constraint_mismatch(trigger.get("payloadConstraints"), payload)
            parameters = payload.get("parameters")
            sent = payload.get("artifacts")
            details = {
                "source": command.source,
                "payload": payload,
                "parameters": parameters if isinstance(parameters, dict) else {},
                "eventId": command.event_id,
                # Spinnaker's webhook payload carries the artifacts the pipeline's expected artifacts bind to
                "artifacts": [item for item in sent if isinstance(item, dict)] if isinstance(sent, list) else [],
            }
            found.append((config, execution_trigger(trigger, **details), refusal))
        return found

    def _git(self, command: HandleWebhook, payload: Json) -> list[tuple[Json, Json, str | None]]:
        push = parse_push(command.source, payload, command.headers)
        if push is None:
            log.info("git webhook is not a push; nothing to trigger", source=command.source)
            return []
        found: list[tuple[Json, Json, str | None]] = []
        for config, trigger in self.index.triggers("git"):
            if not push_matches(trigger, push):
                continue
            secret = trigger.get("secret")
            refusal = (
                secret_refusal(push.source, str(secret), command.body.encode(), command.headers) if secret else None
            )
            details = {
                "source": push.source,
                "project": push.project,
                "slug": push.slug,
                "branch": push.branch,
                "hash": push.hash,
                "action": push.action,
                "payload": payload,
                "eventId": command.event_id,
            }
            found.append((config, execution_trigger(trigger, **details), refusal))
        return found
