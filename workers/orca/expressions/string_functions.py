"""Spinnaker's value-conversion helpers (kork's JSON and String function providers).

``#toJson``, ``#readJson``, ``#toInt``, ``#toFloat``, ``#toBoolean``, ``#toBase64``,
``#fromBase64`` and ``#alphanumerical``, each with Java's parsing rules where a
pipeline could notice the difference (``#toBoolean('yes')`` is false, ``#toInt``
wants a 32-bit integer), and each bounded by the size limits.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re

from .errors import ExpressionError, ExpressionLimitError
from .helpers import Helper, HelperContext, arity, string_arg
from .values import Value, check_size, check_string, is_number, to_string, type_name

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?")


def to_json(context: HelperContext, args: list[Value]) -> Value:
    arity("toJson", args, 1)
    try:
        text = json.dumps(args[0], separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (ValueError, RecursionError) as error:
        raise ExpressionError(f"#toJson failed: {error}") from None
    if "${" in text:
        raise ExpressionError("#toJson failed: the result cannot contain an expression")
    return check_string(text, context.limits)


def read_json(context: HelperContext, args: list[Value]) -> Value:
    arity("readJson", args, 1)
    text = check_string(string_arg("readJson", args[0]), context.limits)
    try:
        value: Value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ExpressionError(f"#readJson failed: the text is not valid JSON ({error})") from None
    check_shape(value, context)
    return value


def _refuse_constant(name: str) -> Value:
    raise ValueError(f"{name} is not a JSON number")


def check_shape(value: Value, context: HelperContext) -> None:
    """Refuse parsed data deeper or wider than the limits, without recursing."""
    stack: list[tuple[Value, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > context.limits.max_depth:
            raise ExpressionLimitError(f"JSON is nested more than {context.limits.max_depth} levels deep")
        if isinstance(item, dict):
            check_size(len(item), context.limits)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            check_size(len(item), context.limits)
            stack.extend((child, depth + 1) for child in item)


def to_int(context: HelperContext, args: list[Value]) -> Value:
    arity("toInt", args, 1)
    value = args[0]
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else string_arg("toInt", value)
    if not _INT.fullmatch(text):
        raise ExpressionError(f"#toInt({text!r}) failed: not an integer")
    number = int(text)
    if not -(2**31) <= number < 2**31:
        raise ExpressionError(f"#toInt({text!r}) failed: out of the 32-bit integer range")
    return number


def to_float(context: HelperContext, args: list[Value]) -> Value:
    arity("toFloat", args, 1)
    value = args[0]
    if is_number(value):
        return float(value)
    text = string_arg("toFloat", value).strip()
    if not _FLOAT.fullmatch(text):
        raise ExpressionError(f"#toFloat({text!r}) failed: not a number")
    number = float(text.rstrip("fFdD"))
    if not math.isfinite(number):
        raise ExpressionError(f"#toFloat({text!r}) failed: out of range")
    return number


def to_boolean(context: HelperContext, args: list[Value]) -> Value:
    """Java's ``Boolean.valueOf``: true only for "true" in any case; anything else is false."""
    arity("toBoolean", args, 1)
    value = args[0]
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.lower() == "true"


def to_base64(context: HelperContext, args: list[Value]) -> Value:
    arity("toBase64", args, 1)
    text = string_arg("toBase64", args[0])
    return check_string(base64.b64encode(text.encode("utf-8")).decode("ascii"), context.limits)


def from_base64(context: HelperContext, args: list[Value]) -> Value:
    arity("fromBase64", args, 1)
    text = string_arg("fromBase64", args[0])
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ExpressionError(f"#fromBase64 failed: not valid base64 ({error})") from None
    return raw.decode("utf-8", errors="replace")


def alphanumerical(context: HelperContext, args: list[Value]) -> Value:
    arity("alphanumerical", args, 1)
    value = args[0]
    if not isinstance(value, str):
        raise ExpressionError(f"#alphanumerical() expects a string, got {type_name(value)}")
    return re.sub(r"[^A-Za-z0-9]", "", to_string(value))


STRING_FUNCTIONS: dict[str, Helper] = {
    "toJson": to_json,
    "readJson": read_json,
    "toInt": to_int,
    "toFloat": to_float,
    "toBoolean": to_boolean,
    "toBase64": to_base64,
    "fromBase64": from_base64,
    "alphanumerical": alphanumerical,
}
