"""Pure rules for Front50's documents: keys, timestamps, ids, and Spinnaker's list order.

Kept apart from the store so the rules read in one place and need no database to test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from schemas.json_types import Json

ID_NAMESPACE = uuid.UUID("6f0d3c4e-9a57-4f0e-8a3c-1b7e2f5d9c11")
"""Ids generated for a command derive from its envelope id, so a redelivery makes the same id."""


def key(name: str) -> str:
    """The case-insensitive lookup key Spinnaker uses for application and pipeline names."""
    return name.strip().lower()


def application_name(name: str) -> str:
    """Front50 returns application names upper-cased and trimmed (historical, kept for clients)."""
    return name.strip().upper()


def now_ms() -> int:
    """Epoch milliseconds, the unit of Spinnaker's ``updateTs`` / ``createTs`` strings."""
    return time.time_ns() // 1_000_000


def next_update_ts(previous: str | None) -> str:
    """A fresh ``updateTs`` that is strictly later than ``previous``.

    Two saves within one millisecond must still differ, or a client's stale check could pass.
    """
    now = now_ms()
    if previous is not None and previous.isdigit():
        now = max(now, int(previous) + 1)
    return str(now)


def derived_id(command_id: str, *parts: object) -> str:
    """A UUID string determined by the command (and ``parts``), stable across redeliveries."""
    return str(uuid.uuid5(ID_NAMESPACE, ":".join([command_id, *map(str, parts)])))


def pipeline_order(pipelines: Iterable[Json]) -> list[Json]:
    """Front50's ``listByApplication`` order: by ``index`` (unset last), then name; re-indexed 0..n-1."""

    def sort_key(pipeline: Json) -> tuple[int, int, str]:
        index = pipeline.get("index")
        name = str(pipeline.get("name") or pipeline.get("id") or "").lower()
        if isinstance(index, int) and not isinstance(index, bool):
            return (0, index, name)
        return (1, 0, name)

    ordered = sorted(pipelines, key=sort_key)
    return [{**pipeline, "index": position} for position, pipeline in enumerate(ordered)]
