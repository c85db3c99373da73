"""A build's properties file read as a map, as Igor reads it for Orca and for triggers.

The file's name says its format: ``.yml`` / ``.yaml`` is YAML, ``.json`` is JSON, anything else
Java's ``.properties`` (``key=value`` or ``key: value``, ``#`` and ``!`` comments, a trailing
backslash continuing a line). A file that is not a map, or does not parse, reads as empty, which
Orca's ``getBuildProperties`` reports as "missing, empty or contained invalid syntax".
"""

from __future__ import annotations

import json
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
"""A larger properties file is refused: its values become stage outputs."""


def _java_properties(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    logical: list[str] = []
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical.append(line[:-1])
            continue
        logical.append(line)
        entry, logical = "".join(logical), []
        cut = min((i for i in (entry.find("="), entry.find(":")) if i >= 0), default=-1)
        key, value = (entry[:cut], entry[cut + 1 :]) if cut >= 0 else (entry, "")
        found[key.strip()] = value.strip()
    return found


def parse_properties(file_name: str, content: bytes) -> dict[str, Any]:
    """The map in ``content``, by ``file_name``'s format; empty when it is not one."""
    if len(content) > MAX_BYTES:
        return {}
    text = content.decode(errors="replace")
    lowered = file_name.lower()
    try:
        if lowered.endswith((".yml", ".yaml")):
            loaded = yaml.safe_load(text)
        elif lowered.endswith(".json"):
            loaded = json.loads(text)
        else:
            loaded = _java_properties(text)
    except (ValueError, yaml.YAMLError):
        return {}
    return {str(key): value for key, value in loaded.items()} if isinstance(loaded, dict) else {}
