"""Go's view of the values a template handles, so output matches what Go's ``text/template`` prints.

Values are plain Python ones (str, int, float, bool, None, list, dict) read the way Go's reflection
reads the ``interface{}`` values Dinghy passes around: a float prints as ``%v`` prints a float64
(``1e+06``), a map as ``map[a:1 b:2]``, JSON with Go's ``encoding/json`` (sorted keys, HTML-safe
escapes). ``INVALID`` stands for Go's invalid ``reflect.Value`` (a missing map key), which prints
``<no value>``; ``None`` is a nil ``interface{}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class _Invalid:
    """Go's zero ``reflect.Value``: what a missing map key or an empty pipeline yields."""

    _instance: _Invalid | None = None

    def __new__(cls) -> _Invalid:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass(frozen=True)
class GoStruct:
    """A Go struct value (Dinghy's ``git.GitInfo``): fields in declaration order, read by ``.Name``."""

    type_name: str
    fields: dict[str, Any]


def type_name(value: Any) -> str:
    """Go's name of ``value``'s dynamic type, as its error messages print it."""
    if value is INVALID or value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, GoStruct):
        return value.type_name
    return type(value).__name__


def is_true(value: Any) -> bool:
    """Go's template truth: false, 0, nil and empty strings, slices and maps are false."""
    if value is INVALID or value is None:
        return False
    if isinstance(value, GoStruct):
        return True
    return bool(value)


def format_float(value: float) -> str:
    """``%v`` of a float64: shortest digits, exponent form below 1e-4 or from 1e+06 (``strconv`` 'g', -1)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    point = len(digits) + exponent  # digits before the decimal point
    minus = "-" if sign else ""
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return minus + _fixed(text, point)


def _fixed(text: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + text
    if point >= len(text):
        return text + "0" * (point - len(text))
    return text[:point] + "." + text[point:]


def sprint_value(value: Any) -> str:
    """``fmt.Sprint`` of one value (``%v``)."""
    if isinstance(value, str):
        return value
    if value is INVALID:
        return "<invalid reflect.Value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list):
        return "[" + " ".join(sprint_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = " ".join(f"{sprint_value(key)}:{sprint_value(value[key])}" for key in sorted(value))
        return f"map[{items}]"
    if isinstance(value, GoStruct):
        return "{" + " ".join(sprint_value(item) for item in value.fields.values()) + "}"
    return str(value)


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: operands side by side, a space between two when neither is a string."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if index > 0 and not isinstance(arg, str) and not isinstance(args[index - 1], str):
            out.append(" ")
        out.append(sprint_value(arg))
    return "".join(out)


def print_action(value: Any) -> str:
    """What ``{{ pipeline }}`` writes: ``<no value>`` for a missing or nil value, else ``%v``."""
    if value is INVALID or value is None:
        return "<no value>"
    return sprint_value(value)


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _json_string(text: str) -> str:
    out = ['"']
    for char in text:
        escaped = _JSON_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {format_float(value)}")
    if value == 0:
        return "0" if math.copysign(1.0, value) > 0 else "-0"
    magnitude = abs(value)
    if magnitude < 1e-6 or magnitude >= 1e21:
        sign, digits, exponent = Decimal(repr(value)).as_tuple()
        assert isinstance(exponent, int)
        text = "".join(map(str, digits)).rstrip("0") or "0"
        point = len(digits) + exponent - 1
        body = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{body}e{'-' if point < 0 else '+'}{abs(point):02d}"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    return ("-" if sign else "") + _fixed(text, len(digits) + exponent)


def go_json(value: Any, indent: str = "", _level: int = 0) -> str:
    """``json.Marshal`` (or ``MarshalIndent`` with ``indent``) of a decoded JSON value, as Go writes it."""
    if value is None or value is INVALID:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    newline = "\n" + indent * (_level + 1) if indent else ""
    close = "\n" + indent * _level if indent else ""
    colon = ": " if indent else ":"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[" + ",".join(newline + go_json(item, indent, _level + 1) for item in value) + close + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (
            newline + _json_string(str(key)) + colon + go_json(value[key], indent, _level + 1) for key in sorted(value)
        )
        return "{" + ",".join(items) + close + "}"
    if isinstance(value, GoStruct):
        return go_json(value.fields, indent, _level)
    raise ValueError(f"json: unsupported type: {type_name(value)}")


def go_json_loads(text: str) -> Any:
    """``json.Unmarshal`` into ``interface{}``: every number becomes a float64."""
    import json

    return json.loads(text, parse_int=float, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")
