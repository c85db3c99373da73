"""``echo.HandleWebhook``: start the pipelines a webhook the gateway received asks for.

* ``/webhooks/git/{source}``: a push (:mod:`workers.echo.triggers.git`) starts every enabled
  ``git`` trigger matching it; the execution's trigger gets ``project``, ``slug``, ``branch``,
  ``hash``, ``action``, the ``payload`` and ``artifacts``: the payload's own, else a ``github/file``
  or ``gitlab/file`` artifact per file the push added or modified, at the pushed commit
  (:mod:`schemas.trigger_artifacts`).
* ``/webhooks/docker`` and ``/webhooks/docker/{source}``: an image push (Spinnaker's docker event
  content, a Docker Hub or Quay webhook, or a registry's notification) starts every enabled ``docker``
  trigger matching it (:mod:`workers.echo.triggers.docker`); the execution's trigger gets ``tag``,
  ``digest`` and the image's ``docker/image`` artifact.
* ``/webhooks/{type}/{source}`` otherwise (``webhook`` above all): every enabled trigger of that
  ``type`` whose ``source`` equals the path's and whose ``payloadConstraints`` hold
  (:mod:`workers.echo.triggers.constraints`); the execution's trigger gets the ``payload``, the
  payload's ``parameters`` as its parameters and its ``artifacts`` (sources ``dockerhub``, ``quay``
  and ``dockerregistry`` without any bring their images' ``docker/image`` artifacts), as Echo's
  ``WebhookEventHandler`` does. A webhook or docker trigger with a ``secret`` (a Gennaker addition;
  Spinnaker has none for them) also needs the header ``X-Gennaker-Webhook-Secret`` carrying it.

A trigger naming ``expectedArtifactIds`` fires only when one of the artifacts brought matches one
of them (:mod:`workers.echo.triggers.artifact_constraints`). A payload Echo cannot read (the
gateway refuses those first, with a 400 naming the field) starts nothing, and says why under ``"*"``.

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
from schemas.trigger_artifacts import PayloadInvalid, docker_pushes, payload_artifacts
from workers.echo.triggers import docker
from workers.echo.triggers.artifact_constraints import artifact_refusal
from workers.echo.triggers.constraints import constraint_mismatch
from workers.echo.triggers.git import parse_push, push_matches, secret_refusal
from workers.echo.triggers.keys import fire_key
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs, execution_trigger, start_pipeline
from workers.echo.triggers.webhook_keys import WebhookDeliveries

log = structlog.get_logger("gennaker.echo.webhooks")

SECRET_HEADER = "x-gennaker-webhook-secret"

Match = tuple[Json, Json, str | None, str]
"""A trigger the webhook asks for: its config, the execution's trigger, why it may not fire (or
None), and what keys its start within the delivery."""


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
        kind: TriggerType = "git" if command.type == "git" else "docker" if command.type == "docker" else "webhook"
        refused: dict[str, str] = {}
        try:
            matches = self._matches(command, payload)
        except PayloadInvalid as invalid:
            log.warning("webhook payload refused", event_id=command.event_id, field=invalid.field)
            matches, refused["*"] = [], f"the payload cannot be read: {invalid}"
        triggered: list[str] = []
        if not matches and not refused and command.type == "docker":
            refused["*"] = "no enabled docker trigger matches the pushed image (account or registry, repository, tag)"
        elif not matches and not refused and command.type != "git":
            refused["*"] = f"no enabled pipeline has an enabled {command.type} trigger with source {command.source!r}"
        for config, trigger, refusal, scope in matches:
            config_id = str(config["id"])
            if refusal is not None:
                refused[config_id] = refusal
                log.warning("webhook refused for a pipeline", config=config_id, reason=refusal)
                continue
            key = fire_key(f"webhook/{command.event_id}/{config_id}{scope}", received_at)
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

    def _matches(self, command: HandleWebhook, payload: Json) -> list[Match]:
        if command.type == "git":
            return self._git(command, payload)
        if command.type == "docker":
            return self._docker(command, payload)
        return self._webhook(command, payload)

    def _secret_refusal(self, trigger: Json, command: HandleWebhook) -> str | None:
        secret = trigger.get("secret")
        if not secret:
            return None
        given = command.headers.get(SECRET_HEADER, "")
        if hmac.compare_digest(given.encode(), str(secret).encode()):
            return None
        return "X-Gennaker-Webhook-Secret is missing or does not match the trigger's secret"

    def _webhook(self, command: HandleWebhook, payload: Json) -> list[Match]:
        found: list[Match] = []
        triggers = [
            (c, t) for c, t in self.index.triggers(command.type) if str(t.get("source") or "") == command.source
        ]
        # the payload's artifacts, else those of a Docker Hub or registry webhook
        artifacts = payload_artifacts(command.type, command.source, payload) if triggers else []
        for config, trigger in triggers:
            # the secret first: a sender without it learns nothing of the constraints
            refusal = self._secret_refusal(trigger, command)
            refusal = refusal or constraint_mismatch(trigger.get("payloadConstraints"), payload)
            refusal = refusal or artifact_refusal(config, trigger, artifacts)
            parameters = payload.get("parameters")
            details = {
                "source": command.source,
                "payload": payload,
                "parameters": parameters if isinstance(parameters, dict) else {},
                "eventId": command.event_id,
                "artifacts": artifacts,
            }
            found.append((config, execution_trigger(trigger, **details), refusal, ""))
        return found

    def _docker(self, command: HandleWebhook, payload: Json) -> list[Match]:
        found: list[Match] = []
        pushes = docker_pushes(command.source, payload)
        for config, trigger in self.index.triggers("docker"):
            for push in pushes:
                if not docker.push_matches(trigger, push):
                    unmatchable = docker.tag_refusal(trigger, push)
                    if unmatchable is not None:  # say why, rather than that nothing watches the image
                        found.append((config, trigger, unmatchable, ""))
                    continue
                details = {**docker.push_details(push), "eventId": command.event_id}
                refusal = self._secret_refusal(trigger, command)
                refusal = refusal or artifact_refusal(config, trigger, details["artifacts"])
                found.append(
                    (config, execution_trigger(trigger, **details), refusal, f"/{push.artifact()['reference']}")
                )
        return found

    def _git(self, command: HandleWebhook, payload: Json) -> list[Match]:
        push = parse_push(command.source, payload, command.headers)
        if push is None:
            log.info("git webhook is not a push; nothing to trigger", source=command.source)
            return []
        found: list[Match] = []
        artifacts: list[Json] | None = None
        for config, trigger in self.index.triggers("git"):
            if not push_matches(trigger, push):
                continue
            secret = trigger.get("secret")
            refusal = (
                secret_refusal(push.source, str(secret), command.body.encode(), command.headers) if secret else None
            )
            if artifacts is None:
                artifacts = payload_artifacts("git", push.source, payload)
            refusal = refusal or artifact_refusal(config, trigger, artifacts)
            details = {
                "source": push.source,
                "project": push.project,
                "slug": push.slug,
                "branch": push.branch,
                "hash": push.hash,
                "action": push.action,
                "payload": payload,
                "eventId": command.event_id,
                "artifacts": artifacts,
            }
            found.append((config, execution_trigger(trigger, **details), refusal, ""))
        return found
