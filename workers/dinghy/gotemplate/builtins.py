"""Go's predefined template functions: ``and or not len index slice print printf println``,
the comparisons ``eq ne lt le gt ge`` and the escapers ``html js urlquery``.

Comparisons follow Go: values of different basic kinds are "incompatible types for comparison"
(an int constant against a float64 read from JSON included), a missing value equals only nil.
"""

from __future__ import annotations

import html as _html
import urllib.parse
from collections.abc import Callable
from typing import Any

from workers.dinghy.gotemplate.evaluate import ANY, INT, STRING, VALUE, Function, FunctionError
from workers.dinghy.gotemplate.printf import sprintf
from workers.dinghy.gotemplate.values import INVALID, GoStruct, is_true, sprint, sprint_value, type_name


def _and(thunks: list[Callable[[], Any]]) -> Any:
    value: Any = None
    for thunk in thunks:
        value = thunk()
        if not is_true(value):
            return value
    return value


def _or(thunks: list[Callable[[], Any]]) -> Any:
    value: Any = None
    for thunk in thunks:
        value = thunk()
        if is_true(value):
            return value
    return value


def _not(value: Any) -> bool:
    return not is_true(value)


def go_len(value: Any) -> int:
    """``len``: bytes of a string, items of a list or map."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, (list, dict)):
        return len(value)
    if value is None or value is INVALID:
        raise FunctionError("len of nil pointer")
    raise FunctionError(f"len of type {type_name(value)}")


def _index(item: Any, *indexes: Any) -> Any:
    for index in indexes:
        if item is None or item is INVALID:
            raise FunctionError("index of untyped nil")
        if isinstance(item, dict):
            if not isinstance(index, str):
                raise FunctionError(f"value has type {type_name(index)}; should be string")
            item = item.get(index)
        elif isinstance(item, (list, str)):
            if isinstance(index, bool) or not isinstance(index, int):
                raise FunctionError(f"cannot index slice/array with type {type_name(index)}")
            size = len(item.encode()) if isinstance(item, str) else len(item)
            if index < 0 or index >= size:
                raise FunctionError(f"index out of range: {index}")
            item = item.encode()[index] if isinstance(item, str) else item[index]
        else:
            raise FunctionError(f"can't index item of type {type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if not isinstance(item, (list, str)):
        raise FunctionError(f"can't slice item of type {type_name(item)}")
    if len(indexes) > 2:
        raise FunctionError(f"too many slice indexes: {len(indexes)}")
    size = len(item)
    bounds = [int(i) for i in indexes] + [size] * (2 - len(indexes))
    if not indexes:
        bounds = [0, size]
    low, high = bounds[0], bounds[1]
    if low < 0 or high > size or low > high:
        raise FunctionError(f"index out of range: {high if high > size else low}")
    return item[low:high]


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is None or value is INVALID:
        return "invalid"
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise FunctionError("missing argument for comparison")
    kind = _basic_kind(first)
    for other in others:
        other_kind = _basic_kind(other)
        if kind != other_kind:
            if kind != "invalid" and other_kind != "invalid":
                raise FunctionError("incompatible types for comparison")
            continue
        if kind == "other" and (isinstance(first, (list, dict, GoStruct)) or isinstance(other, (list, dict, GoStruct))):
            raise FunctionError(f"non-comparable type {sprint_value(other)}: {type_name(other)}")
        if kind == "invalid" or first == other:
            return True
    return False


def _ne(first: Any, second: Any) -> bool:
    return not _eq(first, second)


def _lt(first: Any, second: Any) -> bool:
    kind, other = _basic_kind(first), _basic_kind(second)
    if kind in ("bool", "invalid", "other") or other in ("bool", "invalid", "other"):
        raise FunctionError("invalid type for comparison")
    if kind != other:
        raise FunctionError("incompatible types for comparison")
    if kind == "string":
        return bool(first.encode() < second.encode())
    return bool(first < second)


def _le(first: Any, second: Any) -> bool:
    return _lt(first, second) or _eq(first, second)


def _gt(first: Any, second: Any) -> bool:
    return not _le(first, second)


def _ge(first: Any, second: Any) -> bool:
    return not _lt(first, second)


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


def _html_escape(*args: Any) -> str:
    return _html.escape(_eval_args(args), quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")


def _js_escape(*args: Any) -> str:
    out = []
    for char in _eval_args(args):
        if char in "\\'\"<>&=":
            out.append({"\\": "\\\\", "'": "\\'", '"': '\\"'}.get(char, f"\\u{ord(char):04X}"))
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args))


BUILTINS: dict[str, Function] = {
    "and": Function(_and, (VALUE,), VALUE, lazy=True),
    "or": Function(_or, (VALUE,), VALUE, lazy=True),
    "not": Function(_not, (VALUE,)),
    "len": Function(go_len, (VALUE,)),
    "index": Function(_index, (VALUE,), ANY),
    "slice": Function(_slice, (VALUE,), INT),
    "print": Function(lambda *a: sprint(list(a)), (), ANY),
    "printf": Function(lambda f, *a: sprintf(f, list(a)), (STRING,), ANY),
    "println": Function(lambda *a: " ".join(sprint_value(x) for x in a) + "\n", (), ANY),
    "eq": Function(_eq, (VALUE,), VALUE),
    "ne": Function(_ne, (VALUE, VALUE)),
    "lt": Function(_lt, (VALUE, VALUE)),
    "le": Function(_le, (VALUE, VALUE)),
    "gt": Function(_gt, (VALUE, VALUE)),
    "ge": Function(_ge, (VALUE, VALUE)),
    "html": Function(_html_escape, (), ANY),
    "js": Function(_js_escape, (), ANY),
    "urlquery": Function(_urlquery, (), ANY),
}
