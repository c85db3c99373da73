"""Idempotency keys for the pipelines Echo starts: one key per (trigger, fire), the same on every retry.

Orca derives the execution id from ``orca.TriggerPipeline``'s ``idempotency_key`` and times it by
the key when the key is a ULID, so Echo's keys are ULIDs timed at the fire (the cron tick, the
webhook's arrival, the CloudEvent's ``time``) whose random part is a hash of what identifies the fire.
"""

from __future__ import annotations

import hashlib

from ulid import ULID


def fire_key(identity: str, at_ms: int) -> str:
    """A ULID timed at ``at_ms`` whose randomness is a hash of ``identity``: equal inputs, equal keys."""
    digest = hashlib.sha256(identity.encode()).digest()
    return str(ULID.from_bytes(max(at_ms, 0).to_bytes(6, "big") + digest[:10]))
