"""What the evaluator's values are and how they behave: JSON types with Java-like rules.

Only ``None, bool, int, float, str, list, dict`` ever flow through the evaluator, so
there is no Python object whose attributes an expression could reach. The rules here
copy what a Spinnaker user sees from SpEL: ``bool`` is never a number (Python's
``True == 1`` is not SpEL's), strings join with ``+`` and print like Java
(``{a=1}``, ``[1, 2]``, ``null``), and integer arithmetic stays within Java's ``long``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from typing import TypeGuard

from .errors import ExpressionError, ExpressionLimitError
from .limits import Limits

type Value = bool | int | float | str | list[Value] | dict[str, Value] | None

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


def type_name(value: object) -> str:
    """The name an error message uses for a value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return "unsupported value"


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_number(value: int | float) -> int | float:
    """Keep numbers JSON-representable and bounded, as Java's long and double are."""
    if isinstance(value, int) and not LONG_MIN <= value <= LONG_MAX:
        raise ExpressionError("integer overflow: the result does not fit in 64 bits")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("number out of range: the result is not finite")
    return value


def check_string(value: str, limits: Limits) -> str:
    if len(value) > limits.max_string_length:
        raise ExpressionLimitError(f"string of {len(value)} characters exceeds the limit of {limits.max_string_length}")
    return value


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_collection_size:
        raise ExpressionLimitError(f"collection of {size} elements exceeds the limit of {limits.max_collection_size}")


def to_boolean(value: object, what: str) -> bool:
    """SpEL's conversion for ``and``/``or``/``!``/``?:`` conditions: booleans, or Spring's boolean words."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "on", "yes", "1"):
            return True
        if word in ("false", "off", "no", "0"):
            return False
        raise ExpressionError(f"{what} must be a boolean, but got the string {value!r}")
    raise ExpressionError(f"{what} must be a boolean, but got {type_name(value)}")


def to_string(value: object) -> str:
    """Render a value the way Java's ``toString`` would, for concatenation and templates."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{to_string(k)}={to_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(to_string(v) for v in value) + "]"
    raise ExpressionError(f"cannot convert {type_name(value)} to a string")


def _java_double(value: float) -> str:
    if value.is_integer() and abs(value) < 1e7:
        return f"{value:.1f}"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}E{int(exponent)}"
    return text


def equal(left: object, right: object) -> bool:
    """SpEL ``==``: numbers by value, everything else by type and content; bool is not a number."""
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if left is None or right is None:
        return left is right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    if isinstance(left, Sequence) and isinstance(right, Sequence):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    return False


def compare(op: str, left: object, right: object) -> bool:
    """``< > <= >=`` between two numbers or two strings; anything else is an error."""
    if (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return bool(_ORDER[op](left, right))
    raise ExpressionError(f"cannot compare {type_name(left)} with {type_name(right)} using '{op}'")


_ORDER = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
