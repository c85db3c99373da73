"""A job's ``propertyFile`` as Spinnaker reads it: the log of the container it names, parsed for
``SPINNAKER_PROPERTY_<KEY>=<value>`` lines (the key as written after the prefix, the value to the
end of the line) and ``SPINNAKER_CONFIG_JSON=<a JSON object>`` lines (merged in). The prefixes are
case sensitive; other lines are ignored; a ``SPINNAKER_CONFIG_JSON`` line that is not a JSON
object makes the whole file unreadable (``None``), as in Spinnaker.
"""

from __future__ import annotations

import json

from schemas.json_types import Json

PROPERTY = "SPINNAKER_PROPERTY_"
CONFIG_JSON = "SPINNAKER_CONFIG_JSON="
MAX_PROPERTIES = 1000


def parse(log: str) -> Json | None:
    """The properties ``log`` holds, or ``None`` when a ``SPINNAKER_CONFIG_JSON`` line is invalid."""
    found: Json = {}
    for raw in log.splitlines():
        line = raw.strip()
        if line.startswith(PROPERTY) and "=" in line:
            key, value = line[len(PROPERTY) :].split("=", 1)
            if key:
                found[key] = value.strip()
        elif line.startswith(CONFIG_JSON):
            try:
                loaded = json.loads(line[len(CONFIG_JSON) :])
            except json.JSONDecodeError:
                return None
            if not isinstance(loaded, dict):
                return None
            found.update(loaded)
        if len(found) > MAX_PROPERTIES:
            break
    return found
