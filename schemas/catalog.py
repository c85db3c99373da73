"""Imports every message module so the registry holds the whole catalogue.

Services import only what they use; tools that need every message (schema export, the event
tail, the dead-letter viewer) import this module.
"""

from __future__ import annotations

from schemas import (
    canary_configs,
    clouddriver,
    clouddriver_cache,
    clouddriver_operations,
    dinghy,
    echo,
    echo_notifications,
    front50,
    igor,
    kayenta,
    orca,
    orca_engine,
    orca_stages,
    pipeline_templates,
    rosco,
    system,
    terraformer,
)
from schemas.registry import registry

MODULES = (
    canary_configs,
    clouddriver,
    clouddriver_cache,
    clouddriver_operations,
    dinghy,
    echo,
    echo_notifications,
    front50,
    igor,
    kayenta,
    orca,
    orca_engine,
    orca_stages,
    pipeline_templates,
    rosco,
    system,
    terraformer,
)
"""The message modules whose import registered their messages."""

__all__ = ["MODULES", "registry"]
