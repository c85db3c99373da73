"""Echo's ``payloadConstraints``: each key names a payload field whose value must match a regex.

As Echo's ``ArtifactMatcher.isConstraintInPayload``: every constrained key must be present (not
null) in the payload, and its value's string form must match the constraint as a whole (Java's
``String.matches``). Gennaker also reads a dotted key (``repository.name``) as a path into nested
objects when no top-level key has that exact name. A constraint that is not a valid regex matches
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_MISSING = object()


def field_value(payload: Mapping[str, Any], key: str) -> Any:
    """``payload[key]``, else the value at the dotted path ``key``; a sentinel when absent."""
    if key in payload:
        return payload[key]
    value: Any = payload
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def matches_constraints(constraints: object, payload: Mapping[str, Any]) -> bool:
    """True when every constraint holds for ``payload`` (no constraints: True)."""
    if not constraints:
        return True
    if not isinstance(constraints, Mapping):
        return False
    for key, pattern in constraints.items():
        value = field_value(payload, str(key))
        if value is _MISSING or value is None:
            return False
        try:
            if re.fullmatch(str(pattern), _text(value)) is None:
                return False
        except re.error:
            return False
    return True
