"""CloudEvent triggers: any CloudEvent on ``gennaker.events`` can start the pipelines that ask for it.

A trigger ``{type: "cloudevent", enabled, eventType, attributeConstraints, payloadConstraints}``
matches an event whose CloudEvents ``type`` equals ``eventType``, whose attributes (``source``,
``subject``, any extension) each match the regex of ``attributeConstraints`` as a whole, and whose
``data`` satisfies ``payloadConstraints`` (as a webhook's: :mod:`workers.echo.triggers.constraints`).
The execution's trigger carries the event (``cloudEvent``), its ``data`` as ``payload`` and
``data.parameters`` as its parameters. The execution is keyed by the event's ``source`` and ``id``
(which CloudEvents makes unique together), so a redelivered event starts nothing twice, and neither
does the same event published again (a client retrying ``POST /events`` after losing the answer):
its ``time`` is then a new one, so the key is timed by when Echo first saw that ``source`` and ``id``
(remembered for 24 h in ``echo_webhook_deliveries``, as keyed webhooks are).
"""

from __future__ import annotations

import hashlib
import json

from bus import Envelope, MessageContext
from schemas import safe_regex
from schemas.json_types import Json
from workers.echo.triggers.constraints import matches_constraints
from workers.echo.triggers.keys import fire_key
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs, execution_trigger, start_pipeline
from workers.echo.triggers.webhook_keys import WebhookDeliveries


def _attributes_match(constraints: object, attributes: Json) -> bool:
    if not constraints:
        return True
    if not isinstance(constraints, dict):
        return False
    for name, pattern in constraints.items():
        value = attributes.get(str(name))
        if value is None:
            return False
        try:
            if not safe_regex.fullmatch(str(pattern), str(value)):
                return False
        except safe_regex.UnsafePattern:
            return False
    return True


def _event_time_ms(envelope: Envelope) -> int:
    """The event's own ``time`` when it sent one (stable across redeliveries), else 0."""
    return int(envelope.time.timestamp() * 1000) if "time" in envelope.model_fields_set else 0


class CloudEventTriggers:
    """Starts the pipelines whose ``cloudevent`` triggers an event matches."""

    def __init__(
        self, index: PipelineIndex, identity: RunAs | None = None, deliveries: WebhookDeliveries | None = None
    ) -> None:
        self.index = index
        self.identity = identity or RunAs()
        self.deliveries = deliveries
        """Where the first sighting of each event is remembered; without it, the event's ``time`` keys it."""

    async def first_seen_ms(self, envelope: Envelope) -> int:
        """When this ``source`` and ``id`` first arrived (its ``time`` then), the same for every copy."""
        at = _event_time_ms(envelope)
        if self.deliveries is None:
            return at
        data = json.dumps(envelope.data, sort_keys=True, separators=(",", ":"), default=str)
        fingerprint = hashlib.sha256(data.encode()).hexdigest()
        first = await self.deliveries.first(f"cloudevent/{envelope.source}/{envelope.id}", fingerprint, at)
        return first.received_at

    def wanted(self, envelope: Envelope) -> bool:
        """Cheap check: does any enabled trigger ask for this event's type?"""
        return any(trigger.get("eventType") == envelope.type for _, trigger in self.index.triggers("cloudevent"))

    async def handle(self, envelope: Envelope, context: MessageContext) -> None:
        await self.index.ensure_loaded(context.bus)
        if not self.wanted(envelope):
            return
        event = envelope.model_dump(mode="json", exclude_none=True)
        attributes = {key: value for key, value in event.items() if key != "data"}
        first_seen: int | None = None
        for config, trigger in list(self.index.triggers("cloudevent")):
            if trigger.get("eventType") != envelope.type:
                continue
            if not _attributes_match(trigger.get("attributeConstraints"), attributes):
                continue
            if not matches_constraints(trigger.get("payloadConstraints"), envelope.data):
                continue
            parameters = envelope.data.get("parameters")
            if first_seen is None:
                first_seen = await self.first_seen_ms(envelope)
            key = fire_key(f"cloudevent/{envelope.source}/{envelope.id}/{config['id']}", first_seen)
            await start_pipeline(
                context,
                config,
                execution_trigger(
                    trigger,
                    cloudEvent=event,
                    payload=envelope.data,
                    parameters=parameters if isinstance(parameters, dict) else {},
                    eventId=envelope.id,
                ),
                key=key,
                trigger_type="cloudevent",
                event_id=envelope.id,
                identity=self.identity,
            )
