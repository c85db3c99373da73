"""Imports every message module so the registry holds the whole catalogue.

Services import only what they use; tools that need every message (schema export, the event
tail, the dead-letter viewer) import this module.
"""

from __future__ import annotations

import schemas.system  # noqa: F401  (registers system messages)
from schemas.registry import registry

__all__ = ["registry"]
