"""Copies caller data into plain JSON values before any expression sees it.

The evaluator's safety rests on values being only ``None/bool/int/float/str/list/dict``.
Roots and engine-provided helper results pass through here first: mappings become
dicts, tuples become lists, ``str``/``int`` subclasses (enums) become plain values,
datetimes become ISO-8601 strings, and anything else is refused with ``TypeError`` —
a bug in the caller, not in a pipeline.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from .values import Value

_MAX_NESTING = 200


def to_json_value(value: object, _depth: int = 0) -> Value:
    """A plain-JSON copy of ``value``; raises ``TypeError`` for anything that is not JSON-like."""
    if _depth > _MAX_NESTING:
        raise TypeError(f"data is nested more than {_MAX_NESTING} levels deep")
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        result: dict[str, Value] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"map key {key!r} is a {type(key).__name__}, not a string")
            result[str(key)] = to_json_value(item, _depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [to_json_value(item, _depth + 1) for item in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")
