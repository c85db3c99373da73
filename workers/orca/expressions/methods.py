"""The only methods an expression may call: a whitelist per JSON type, named as in Java.

Spinnaker pipelines call Java methods on strings, numbers, lists and maps
(``parameters.regions.split(",")``, ``tag.startsWith("v")``, ``(x * 0.8).intValue()``).
Each one a pipeline can use is written out here against plain Python values; any
other name is an error, so nothing an expression does can reach a Python attribute.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import ExpressionError
from .limits import Limits
from .regex_guard import check_input, compile_pattern
from .tokenizer import DIGITS
from .values import Value, check_number, check_size, check_string, equal, is_number, to_string, type_name

type Method = Callable[[Value, list[Value], Limits], Value]


def call_method(receiver: Value, name: str, args: list[Value], limits: Limits) -> Value:
    """Call ``receiver.name(*args)`` from the whitelist, or raise saying which methods exist."""
    table = _table_for(receiver)
    method = table.get(name) or _COMMON.get(name)
    if method is None:
        available = ", ".join(sorted({*table, *_COMMON}))
        raise ExpressionError(f"unknown method '{name}' on {type_name(receiver)}; available: {available}")
    return method(receiver, args, limits)


def _table_for(receiver: Value) -> dict[str, Method]:
    if receiver is None:
        raise ExpressionError("cannot call a method on null (use ?. for safe navigation)")
    if isinstance(receiver, bool):
        return _BOOLEAN
    if isinstance(receiver, str):
        return _STRING
    if is_number(receiver):
        return _NUMBER
    if isinstance(receiver, list):
        return _LIST
    if isinstance(receiver, dict):
        return _MAP
    raise ExpressionError(f"cannot call a method on {type_name(receiver)}")


# -- argument checking ---------------------------------------------------------------------------


def _arity(name: str, args: list[Value], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"{name}() takes {expected} argument(s) but was given {len(args)}")


def _str_arg(name: str, value: Value) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"{name}() expects a string argument, got {type_name(value)}")
    return value


def _int_arg(name: str, value: Value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExpressionError(f"{name}() expects an integer argument, got {type_name(value)}")
    return value


def _text(receiver: Value) -> str:
    assert isinstance(receiver, str)
    return receiver


def _items(receiver: Value) -> list[Value]:
    assert isinstance(receiver, list)
    return receiver


def _entries(receiver: Value) -> dict[str, Value]:
    assert isinstance(receiver, dict)
    return receiver


def _plain(name: str, fn: Callable[[Value], Value]) -> Method:
    def method(receiver: Value, args: list[Value], limits: Limits) -> Value:
        _arity(name, args, 0)
        return fn(receiver)

    return method


def _one(name: str, fn: Callable[[Value, Value], Value]) -> Method:
    def method(receiver: Value, args: list[Value], limits: Limits) -> Value:
        _arity(name, args, 1)
        return fn(receiver, args[0])

    return method


# -- strings -------------------------------------------------------------------------------------


def _substring(receiver: Value, args: list[Value], limits: Limits) -> Value:
    text = _text(receiver)
    _arity("substring", args, 1, 2)
    begin = _int_arg("substring", args[0])
    end = _int_arg("substring", args[1]) if len(args) == 2 else len(text)
    if not 0 <= begin <= end <= len(text):
        raise ExpressionError(f"substring({begin}, {end}) is out of range for a string of length {len(text)}")
    return text[begin:end]


def _index_of(receiver: Value, args: list[Value], limits: Limits) -> Value:
    text = _text(receiver)
    _arity("indexOf", args, 1, 2)
    start = _int_arg("indexOf", args[1]) if len(args) == 2 else 0
    return text.find(_str_arg("indexOf", args[0]), max(start, 0))


def _replace(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("replace", args, 2)
    old, new = _str_arg("replace", args[0]), _str_arg("replace", args[1])
    text = _text(receiver)
    if old == "":
        # Java inserts the replacement between every character; bound the result before building it.
        if (len(text) + 1) * len(new) + len(text) > limits.max_string_length:
            raise ExpressionError("replace() result exceeds the string size limit")
    elif new and text.count(old) * len(new) > limits.max_string_length:
        raise ExpressionError("replace() result exceeds the string size limit")
    return check_string(text.replace(old, new), limits)


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """Java's replacement syntax: ``$1`` / ``${name}`` for groups, backslash escapes the next character."""

    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        i = 0
        while i < len(replacement):
            ch = replacement[i]
            if ch == "\\" and i + 1 < len(replacement):
                out.append(replacement[i + 1])
                i += 2
            elif ch == "$" and i + 1 < len(replacement) and replacement[i + 1] in DIGITS:
                j = i + 1
                while j < len(replacement) and replacement[j] in DIGITS:
                    j += 1
                out.append(_group(match, int(replacement[i + 1 : j])))
                i = j
            elif ch == "$" and replacement.startswith("{", i + 1) and "}" in replacement[i + 2 :]:
                j = replacement.index("}", i + 2)
                out.append(_group(match, replacement[i + 2 : j]))
                i = j + 1
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    return expand


def _group(match: re.Match[str], key: int | str) -> str:
    try:
        return match.group(key) or ""
    except (IndexError, re.error):
        raise ExpressionError(f"no group {key} in the regular expression") from None


def _replace_regex(first: bool) -> Method:
    name = "replaceFirst" if first else "replaceAll"

    def method(receiver: Value, args: list[Value], limits: Limits) -> Value:
        _arity(name, args, 2)
        text = _text(receiver)
        check_input(text, limits)
        pattern = compile_pattern(_str_arg(name, args[0]), limits)
        result = pattern.sub(_java_replacement(_str_arg(name, args[1])), text, count=1 if first else 0)
        return check_string(result, limits)

    return method


_REGEX_META = ".$|()[{^?*+\\"


def _split(receiver: Value, args: list[Value], limits: Limits) -> Value:
    """Java's ``String.split``: the argument is a regex; trailing empty strings are dropped."""
    _arity("split", args, 1, 2)
    text = _text(receiver)
    separator = _str_arg("split", args[0])
    limit = _int_arg("split", args[1]) if len(args) == 2 else 0
    literal = (len(separator) == 1 and separator not in _REGEX_META) or (
        len(separator) == 2 and separator[0] == "\\" and not (separator[1].isascii() and separator[1].isalnum())
    )
    if literal:
        sep = separator[-1]
        parts = text.split(sep, limit - 1) if limit > 0 else text.split(sep)
        if len(parts) == 1:
            return [text]
    else:
        check_input(text, limits)
        pattern = compile_pattern(separator, limits)
        parts = []
        last = 0
        for match in pattern.finditer(text):
            if match.end() == 0:
                continue  # Java never yields a leading empty string for a zero-width match at the start
            if 0 < limit <= len(parts) + 1:
                break
            parts.append(text[last : match.start()])
            last = match.end()
            check_size(len(parts), limits)
        if not parts:
            return [text]
        parts.append(text[last:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    check_size(len(parts), limits)
    return list[Value](parts)


def _matches(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("matches", args, 1)
    return regex_matches(_text(receiver), _str_arg("matches", args[0]), limits)


def regex_matches(text: str, pattern: str, limits: Limits) -> bool:
    """Java's ``String.matches``: the whole text must match. Shared by the ``matches`` operator."""
    check_input(text, limits)
    return compile_pattern(pattern, limits).fullmatch(text) is not None


def _concat(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("concat", args, 1)
    return check_string(_text(receiver) + _str_arg("concat", args[0]), limits)


def _char_at(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("charAt", args, 1)
    text, index = _text(receiver), _int_arg("charAt", args[0])
    if not 0 <= index < len(text):
        raise ExpressionError(f"charAt({index}) is out of range for a string of length {len(text)}")
    return text[index]


def _compare_to(receiver: Value, other: Value) -> Value:
    if isinstance(receiver, str) and isinstance(other, str):
        return (receiver > other) - (receiver < other)
    if is_number(receiver) and is_number(other):
        return (receiver > other) - (receiver < other)
    raise ExpressionError(f"compareTo() cannot compare {type_name(receiver)} with {type_name(other)}")


_STRING: dict[str, Method] = {
    "contains": _one("contains", lambda s, a: _str_arg("contains", a) in _text(s)),
    "startsWith": _one("startsWith", lambda s, a: _text(s).startswith(_str_arg("startsWith", a))),
    "endsWith": _one("endsWith", lambda s, a: _text(s).endswith(_str_arg("endsWith", a))),
    "toUpperCase": _plain("toUpperCase", lambda s: _text(s).upper()),
    "toLowerCase": _plain("toLowerCase", lambda s: _text(s).lower()),
    "trim": _plain("trim", lambda s: _text(s).strip(" \t\n\r\x0b\x0c\x00")),
    "strip": _plain("strip", lambda s: _text(s).strip()),
    "length": _plain("length", lambda s: len(_text(s))),
    "size": _plain("size", lambda s: len(_text(s))),
    "isEmpty": _plain("isEmpty", lambda s: _text(s) == ""),
    "isBlank": _plain("isBlank", lambda s: _text(s).strip() == ""),
    "equalsIgnoreCase": _one(
        "equalsIgnoreCase", lambda s, a: isinstance(a, str) and _text(s).casefold() == a.casefold()
    ),
    "lastIndexOf": _one("lastIndexOf", lambda s, a: _text(s).rfind(_str_arg("lastIndexOf", a))),
    "compareTo": _one("compareTo", _compare_to),
    "substring": _substring,
    "indexOf": _index_of,
    "replace": _replace,
    "replaceAll": _replace_regex(first=False),
    "replaceFirst": _replace_regex(first=True),
    "split": _split,
    "matches": _matches,
    "concat": _concat,
    "charAt": _char_at,
}


# -- numbers and booleans ------------------------------------------------------------------------


def _int_value(receiver: Value) -> Value:
    assert is_number(receiver)
    return check_number(int(receiver))


def _double_value(receiver: Value) -> Value:
    assert is_number(receiver)
    return check_number(float(receiver))


_NUMBER: dict[str, Method] = {
    "intValue": _plain("intValue", _int_value),
    "longValue": _plain("longValue", _int_value),
    "doubleValue": _plain("doubleValue", _double_value),
    "floatValue": _plain("floatValue", _double_value),
    "compareTo": _one("compareTo", _compare_to),
}

_BOOLEAN: dict[str, Method] = {
    "booleanValue": _plain("booleanValue", lambda b: b),
}


# -- lists and maps ------------------------------------------------------------------------------


def _list_get(receiver: Value, index: Value) -> Value:
    items, i = _items(receiver), _int_arg("get", index)
    if not 0 <= i < len(items):
        raise ExpressionError(f"index {i} is out of range for a list of size {len(items)}")
    return items[i]


def _list_index_of(receiver: Value, value: Value) -> Value:
    return next((i for i, item in enumerate(_items(receiver)) if equal(item, value)), -1)


def _sub_list(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("subList", args, 2)
    items = _items(receiver)
    start, end = _int_arg("subList", args[0]), _int_arg("subList", args[1])
    if not 0 <= start <= end <= len(items):
        raise ExpressionError(f"subList({start}, {end}) is out of range for a list of size {len(items)}")
    return items[start:end]


def _contains_all(receiver: Value, other: Value) -> Value:
    if not isinstance(other, list):
        raise ExpressionError(f"containsAll() expects a list, got {type_name(other)}")
    items = _items(receiver)
    return all(any(equal(item, wanted) for item in items) for wanted in other)


_LIST: dict[str, Method] = {
    "size": _plain("size", lambda s: len(_items(s))),
    "isEmpty": _plain("isEmpty", lambda s: not _items(s)),
    "contains": _one("contains", lambda s, a: any(equal(item, a) for item in _items(s))),
    "containsAll": _one("containsAll", _contains_all),
    "get": _one("get", _list_get),
    "indexOf": _one("indexOf", _list_index_of),
    "subList": _sub_list,
}


def _map_key(name: str, key: Value) -> str:
    if not isinstance(key, str):
        raise ExpressionError(f"{name}() expects a string key, got {type_name(key)}")
    return key


def _get_or_default(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("getOrDefault", args, 2)
    return _entries(receiver).get(_map_key("getOrDefault", args[0]), args[1])


_MAP: dict[str, Method] = {
    "size": _plain("size", lambda s: len(_entries(s))),
    "isEmpty": _plain("isEmpty", lambda s: not _entries(s)),
    "containsKey": _one("containsKey", lambda s, k: isinstance(k, str) and k in _entries(s)),
    "containsValue": _one("containsValue", lambda s, v: any(equal(x, v) for x in _entries(s).values())),
    "get": _one("get", lambda s, k: _entries(s).get(_map_key("get", k))),
    "getOrDefault": _get_or_default,
    "keySet": _plain("keySet", lambda s: list[Value](_entries(s).keys())),
    "values": _plain("values", lambda s: list(_entries(s).values())),
    "entrySet": _plain("entrySet", lambda s: [{"key": k, "value": v} for k, v in _entries(s).items()]),
}


# -- every type ----------------------------------------------------------------------------------


def _to_string(receiver: Value, args: list[Value], limits: Limits) -> Value:
    _arity("toString", args, 0)
    return check_string(to_string(receiver), limits)


_COMMON: dict[str, Method] = {
    "toString": _to_string,
    "equals": _one("equals", equal),
}
