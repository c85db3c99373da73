"""Decides who hears about an Orca event, as Spinnaker's Echo does.

For each ``when`` an event stands for, the recipients are the entries that list it in:

* the pipeline's ``notifications`` (pipeline events);
* the stage's ``notifications`` when the stage has ``sendNotifications: true`` (stage events and
  the manual judgment ones);
* the application's preferences in Front50 (``{"slack": [{"address": ..., "when": [...]}], ...}``).

Which ``when`` an event means: ``orca.execution.started`` → pipeline.starting;
``orca.execution.completed`` → pipeline.complete (SUCCEEDED), nothing (CANCELED, as Echo skips
canceled executions) or pipeline.failed; ``orca.stage.started`` → stage.starting, plus
manualJudgment for a ``manualJudgment`` stage; ``orca.stage.completed`` → stage.complete
(SUCCEEDED), nothing (SKIPPED, CANCELED) or stage.failed, plus manualJudgmentContinue /
manualJudgmentStop for a judged ``manualJudgment`` stage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast, get_args

import structlog

from schemas.echo_notifications import ChannelType
from schemas.json_types import Json

CHANNELS: frozenset[str] = frozenset(get_args(ChannelType))
PREFERENCE_META = ("application", "lastModified", "lastModifiedBy")

log = structlog.get_logger("gennaker.echo.notifications")


@dataclass(frozen=True)
class Recipient:
    """One address on one channel that should hear about ``when``, with its custom text if any."""

    channel: ChannelType
    address: str
    when: str
    custom_text: str | None = None

    def delivery_id(self, event_id: str) -> str:
        """The idempotency key of this recipient's delivery for the event ``event_id``."""
        digest = hashlib.sha256(f"{self.when}|{self.channel}|{self.address}".encode()).hexdigest()[:24]
        return f"{event_id}:{digest}"


def execution_whens(status: str) -> list[str]:
    """The ``when`` an ``orca.execution.completed`` with ``status`` stands for."""
    if status == "SUCCEEDED":
        return ["pipeline.complete"]
    return [] if status == "CANCELED" else ["pipeline.failed"]


def stage_started_whens(stage_type: str, status: str) -> list[str]:
    """The ``when`` of an ``orca.stage.started``."""
    if status != "RUNNING":
        return []
    return ["stage.starting", "manualJudgment"] if stage_type == "manualJudgment" else ["stage.starting"]


def stage_completed_whens(stage_type: str, status: str, context: Json) -> list[str]:
    """The ``when`` of an ``orca.stage.completed`` (the judgment comes from the stage's context)."""
    whens = (
        ["stage.complete"] if status == "SUCCEEDED" else [] if status in ("SKIPPED", "CANCELED") else ["stage.failed"]
    )
    if stage_type == "manualJudgment":
        judgment = str(context.get("judgmentStatus") or "").lower()
        if judgment == "continue":
            whens.append("manualJudgmentContinue")
        elif judgment == "stop":
            whens.append("manualJudgmentStop")
    return whens


def _entries(source: object, default_type: str | None = None) -> list[tuple[str, Json]]:
    if not isinstance(source, list):
        return []
    found = []
    for entry in source:
        if isinstance(entry, dict):
            kind = str(entry.get("type") or default_type or "")
            found.append((kind, entry))
    return found


def _recipients(kind: str, entry: Json, when: str) -> list[Recipient]:
    whens = entry.get("when") or []
    if not isinstance(whens, list) or when not in whens:
        return []
    if kind not in CHANNELS:
        log.info("notification type not delivered by echo; skipped", type=kind, when=when)
        return []
    address = str(entry.get("address") or "").strip()
    message = entry.get("message") or {}
    custom = message.get(when, {}).get("text") if isinstance(message, dict) else None
    addresses = [part.strip() for part in address.split(",")] if kind == "email" else [address]
    return [
        Recipient(cast(ChannelType, kind), part, when, str(custom) if custom else None) for part in addresses if part
    ]


def recipients(when: str, execution: Json, stage: Json | None, preferences: Json | None) -> list[Recipient]:
    """Everyone who should hear about ``when``; each (channel, address) once."""
    sources: list[tuple[str, Json]] = []
    if stage is None:
        sources += _entries(execution.get("notifications"))
    else:
        context = stage.get("context") or {}
        if context.get("sendNotifications"):
            sources += _entries(context.get("notifications"))
    for kind, entries in (preferences or {}).items():
        if kind not in PREFERENCE_META:
            sources += _entries(entries, default_type=kind)
    found: dict[tuple[str, str], Recipient] = {}
    for kind, entry in sources:
        for recipient in _recipients(kind, entry, when):
            found.setdefault((recipient.channel, recipient.address), recipient)
    return list(found.values())
