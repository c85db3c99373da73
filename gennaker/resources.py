"""What the runner hands a worker when it builds one: the bus-independent things the worker needs.

A worker's ``build_service(resources)`` takes this and returns a :class:`bus.service.Service`;
it never opens connections itself, so ``gennaker up`` (all workers, one store client) and
``gennaker worker NAME`` (one worker) wire them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from gennaker.settings import Settings


@dataclass(frozen=True)
class WorkerResources:
    """Settings, plus the database holding the worker's own collections (it touches no other's)."""

    settings: Settings
    db: AsyncDatabase[dict[str, Any]]
