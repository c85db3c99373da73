"""The names of Gennaker's services: the first segment of every message type they own."""

from __future__ import annotations

SERVICES: tuple[str, ...] = (
    "orca",
    "clouddriver",
    "front50",
    "echo",
    "kayenta",
    "rosco",
    "igor",
    "terraformer",
    "dinghy",
)
"""Every worker ``gennaker up`` runs and ``gennaker worker NAME`` accepts, in start order."""
