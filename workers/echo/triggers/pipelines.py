"""Echo's copy of every pipeline config, so each trigger is matched without asking Front50 per event.

Loaded with ``front50.ListPipelineConfigs`` (all applications), refreshed every ``refresh_seconds``
(as Echo's ``PipelineCache`` polls Front50) and kept current between refreshes by Front50's
``front50.pipeline.saved`` / ``front50.pipeline.deleted`` / ``front50.application.deleted`` events.
A replica that has never loaded the configs loads them before it matches anything; if Front50 does
not answer, the caller's handler fails and the bus retries it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import structlog

from bus import Sender
from schemas.front50 import ListPipelineConfigs, PipelineList
from schemas.json_types import Json

log = structlog.get_logger("gennaker.echo.triggers")


def _update_ts(config: Json) -> int:
    try:
        return int(config.get("updateTs") or 0)
    except (TypeError, ValueError):
        return 0


class PipelineIndex:
    """Pipeline configs by id, with the enabled triggers of each."""

    def __init__(self, *, refresh_seconds: float = 30.0, front50_timeout: float = 5.0) -> None:
        self.refresh_seconds = refresh_seconds
        self.front50_timeout = front50_timeout
        self._configs: dict[str, Json] = {}
        self._loaded_at: float | None = None
        self._deleted: dict[str, int] = {}
        self._loading = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """True once a full list came from Front50 (or :meth:`replace_all` was called)."""
        return self._loaded_at is not None

    def stale(self) -> bool:
        """True when never loaded or older than ``refresh_seconds``."""
        return self._loaded_at is None or time.monotonic() - self._loaded_at >= self.refresh_seconds

    async def refresh(self, bus: Sender) -> None:
        """Load every config from Front50; raises the bus's error when it does not answer."""
        reply = await bus.ask(ListPipelineConfigs(), timeout=self.front50_timeout)
        if not isinstance(reply, PipelineList):
            raise TypeError(f"Front50 answered {type(reply).__name__} to ListPipelineConfigs")
        self.replace_all(reply.pipelines)
        log.debug("pipeline configs loaded", count=len(self._configs))

    async def ensure_loaded(self, bus: Sender) -> None:
        """Refresh when :meth:`stale` (one refresh at a time; callers waiting on it reuse its result)."""
        if not self.stale():
            return
        async with self._loading:
            if self.stale():
                await self.refresh(bus)

    def replace_all(self, configs: list[Json]) -> None:
        """Take ``configs`` as the whole set."""
        self._configs = {str(config["id"]): config for config in configs if isinstance(config.get("id"), str)}
        self._deleted = {}
        self._loaded_at = time.monotonic()

    def saved(self, config: Json) -> None:
        """A config was saved: take it, unless what we hold is newer (the same save arrives by two queues)."""
        config_id = config.get("id")
        if not isinstance(config_id, str):
            return
        stamp = _update_ts(config)
        known = self._configs.get(config_id)
        if known is not None and _update_ts(known) > stamp:
            return
        deleted_at = self._deleted.get(config_id)
        if known is None and deleted_at is not None and stamp <= deleted_at:
            return
        self._configs[config_id] = config
        self._deleted.pop(config_id, None)

    def deleted(self, config_id: str) -> None:
        """A config was deleted; a late copy of an older save must not bring it back."""
        known = self._configs.pop(config_id, None)
        self._deleted[config_id] = _update_ts(known) if known is not None else 0

    def application_deleted(self, application: str) -> None:
        """An application and its configs were deleted."""
        name = application.lower()
        for config_id, config in list(self._configs.items()):
            if str(config.get("application", "")).lower() == name:
                self.deleted(config_id)

    def triggers(self, *types: str) -> Iterator[tuple[Json, Json]]:
        """``(config, trigger)`` for each enabled trigger of one of ``types`` on an enabled config."""
        for config in list(self._configs.values()):
            if config.get("disabled") is True:
                continue
            for trigger in config.get("triggers") or []:
                if isinstance(trigger, dict) and trigger.get("type") in types and trigger.get("enabled") is True:
                    yield config, trigger
