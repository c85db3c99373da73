"""Echo's ``payloadConstraints``: each key names a payload field whose value must match a regex.

As Echo's ``ArtifactMatcher.isConstraintInPayload``: every constrained key must be present (not
null) in the payload, and its value's string form must match the constraint as a whole (Java's
``String.matches``). Gennaker also reads a dotted key (``repository.name``) as a path into nested
objects when no top-level key has that exact name. A constraint that is not a valid regex, or one
that could backtrack without end (:mod:`schemas.safe_regex`), matches nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from schemas import safe_regex

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
    return constraint_mismatch(constraints, payload) is None


def constraint_mismatch(constraints: object, payload: Mapping[str, Any]) -> str | None:
    """Why ``payload`` fails ``constraints``, naming the first constraint that does not hold and what
    the payload had (``payloadConstraints.branch: 'develop' does not match 'main|release-.*'``);
    ``None`` when every one holds."""
    if not constraints:
        return None
    if not isinstance(constraints, Mapping):
        return "payloadConstraints must be an object of field: regex"
    for key, pattern in constraints.items():
        where = f"payloadConstraints.{key}"
        value = field_value(payload, str(key))
        if value is _MISSING or value is None:
            return f"{where}: the payload has no {key!r}"
        text = _text(value)
        try:
            matched = safe_regex.fullmatch(str(pattern), text)
        except safe_regex.UnsafePattern as error:
            return f"{where}: {str(pattern)!r} is not a valid regex ({error})"
        if not matched:
            shown = text if len(text) <= 100 else text[:99] + "…"
            return f"{where}: {shown!r} does not match {str(pattern)!r}"
    return None
