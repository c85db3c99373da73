"""The sprig functions Dinghy exposes to dinghyfiles (sprig's text function map, through sprout).

Each takes the Go types sprig declares, so a call that Go refuses is refused here too, and
converts loosely where sprig uses ``cast`` (``add "1" 2`` is 3). Left out on purpose: ``env`` and
``expandenv`` (they would read this server's environment, secrets included). More of them
(dictionaries, ``fail``, ``uuidv4``, ``now``, ``date`` ...) are in :mod:`.sprig_more`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Any

from workers.dinghy.gotemplate.evaluate import ANY, BOOL, INT, STRING, Function, FunctionError
from workers.dinghy.gotemplate.sprig_more import SPRIG_MORE
from workers.dinghy.gotemplate.values import INVALID, go_json, go_json_loads, is_true, sprint_value, type_name


def _to_int(value: Any) -> int:
    """``cast.ToInt64`` without its error: what sprig's arithmetic does with any value."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            return 0
    return 0


def _to_float(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _to_string(value: Any) -> str:
    if value is None or value is INVALID:
        return "<nil>"
    return sprint_value(value)


def _str_list(value: Any) -> list[str]:
    """sprig's ``strslice``: a list's items as strings (nils dropped), any other value as one."""
    if isinstance(value, list):
        return [_to_string(item) for item in value if item is not None]
    if value is None:
        return []
    return [_to_string(value)]


def _list(value: Any, name: str) -> list[Any]:
    if isinstance(value, list):
        return value
    raise FunctionError(f"Cannot {name} on type {type_name(value)}")


def _empty(value: Any) -> bool:
    return not is_true(value)


def _default(default: Any, *given: Any) -> Any:
    if not given or _empty(given[0]):
        return default
    return given[0]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not _empty(value):
            return value
    return None


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index in range(0, len(pairs), 2):
        key = _to_string(pairs[index])
        out[key] = pairs[index + 1] if index + 1 < len(pairs) else ""
    return out


def _split(sep: str, text: str) -> dict[str, Any]:
    return {f"_{index}": part for index, part in enumerate(text.split(sep) if sep else list(text))}


def _split_list(sep: str, text: str) -> list[Any]:
    return list(text.split(sep) if sep else list(text))


def _to_json(value: Any) -> str:
    try:
        return go_json(value)
    except ValueError:
        return ""


def _from_json(text: str) -> Any:
    try:
        return go_json_loads(text)
    except ValueError:
        return {}


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _abbrev(width: int, text: str) -> str:
    if width < 4 or len(text) <= width:
        return text
    return text[: width - 3] + "..."


def _title(text: str) -> str:
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), text)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", text)


def _uniq(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _until_step(start: int, stop: int, step: int) -> list[Any]:
    if step == 0 or (step > 0 and start >= stop) or (step < 0 and start <= stop):
        return []
    return list(range(start, stop, step))


def _seq(*params: int) -> str:
    if len(params) == 1:
        values = list(range(1, params[0] + 1)) if params[0] >= 1 else list(range(1, params[0] - 1, -1))
    elif len(params) == 2:
        step = 1 if params[1] >= params[0] else -1
        values = list(range(params[0], params[1] + step, step))
    elif len(params) == 3:
        values = list(range(params[0], params[2] + (1 if params[1] > 0 else -1), params[1])) if params[1] else []
    else:
        return ""
    return " ".join(map(str, values))


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise FunctionError(f"error parsing regexp: {error}") from None


def _div(a: Any, b: Any) -> int:
    divisor = _to_int(b)
    if divisor == 0:
        raise FunctionError("runtime error: integer divide by zero")
    return int(_to_int(a) / divisor)


def _mod(a: Any, b: Any) -> int:
    divisor = _to_int(b)
    if divisor == 0:
        raise FunctionError("runtime error: integer divide by zero")
    return int(math.fmod(_to_int(a), divisor))


def _has_key(mapping: Any, key: str) -> bool:
    return isinstance(mapping, dict) and key in mapping


def _keys(*maps: Any) -> list[Any]:
    return [key for mapping in maps if isinstance(mapping, dict) for key in mapping]


def _set(mapping: Any, key: str, value: Any) -> Any:
    mapping[key] = value
    return mapping


def _ternary(true_value: Any, false_value: Any, condition: bool) -> Any:
    return true_value if condition else false_value


SPRIG: dict[str, Function] = {
    # strings
    "upper": Function(str.upper, (STRING,)),
    "lower": Function(str.lower, (STRING,)),
    "title": Function(_title, (STRING,)),
    "untitle": Function(lambda s: re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).lower(), s), (STRING,)),
    "swapcase": Function(str.swapcase, (STRING,)),
    "trim": Function(lambda s: s.strip(" \t\n\r\v\f"), (STRING,)),
    "trimAll": Function(lambda cut, s: s.strip(cut), (STRING, STRING)),
    "trimall": Function(lambda cut, s: s.strip(cut), (STRING, STRING)),
    "trimPrefix": Function(lambda prefix, s: s.removeprefix(prefix), (STRING, STRING)),
    "trimSuffix": Function(lambda suffix, s: s.removesuffix(suffix), (STRING, STRING)),
    "replace": Function(lambda old, new, s: s.replace(old, new), (STRING, STRING, STRING)),
    "repeat": Function(lambda count, s: s * max(0, min(count, 10_000)), (INT, STRING)),
    "substr": Function(_substr, (INT, INT, STRING)),
    "nospace": Function(lambda s: re.sub(r"\s", "", s), (STRING,)),
    "trunc": Function(_trunc, (INT, STRING)),
    "abbrev": Function(_abbrev, (INT, STRING)),
    "contains": Function(lambda sub, s: sub in s, (STRING, STRING)),
    "hasPrefix": Function(lambda prefix, s: s.startswith(prefix), (STRING, STRING)),
    "hasSuffix": Function(lambda suffix, s: s.endswith(suffix), (STRING, STRING)),
    "quote": Function(lambda *a: " ".join(go_json(_to_string(x)) for x in a if x is not None), (), ANY),
    "squote": Function(lambda *a: " ".join(f"'{_to_string(x)}'" for x in a if x is not None), (), ANY),
    "cat": Function(lambda *a: " ".join(_to_string(x) for x in a if x is not None), (), ANY),
    "indent": Function(_indent, (INT, STRING)),
    "nindent": Function(lambda n, s: "\n" + _indent(n, s), (INT, STRING)),
    "snakecase": Function(lambda s: "_".join(w.lower() for w in _words(s)), (STRING,)),
    "kebabcase": Function(lambda s: "-".join(w.lower() for w in _words(s)), (STRING,)),
    "camelcase": Function(lambda s: "".join(w.capitalize() for w in re.split(r"[_\-\s]+", s) if w), (STRING,)),
    "plural": Function(lambda one, many, count: one if count == 1 else many, (STRING, STRING, INT)),
    "split": Function(_split, (STRING, STRING)),
    "splitList": Function(_split_list, (STRING, STRING)),
    "splitn": Function(
        lambda sep, n, s: {f"_{i}": p for i, p in enumerate(s.split(sep, n - 1))}, (STRING, INT, STRING)
    ),
    "join": Function(lambda sep, v: sep.join(_str_list(v)), (STRING, ANY)),
    "toString": Function(_to_string, (ANY,)),
    "toStrings": Function(lambda v: _str_list(v), (ANY,)),
    "sortAlpha": Function(lambda v: sorted(_str_list(v)), (ANY,)),
    # defaults, JSON
    "default": Function(_default, (ANY,), ANY),
    "empty": Function(_empty, (ANY,)),
    "coalesce": Function(_coalesce, (), ANY),
    "ternary": Function(_ternary, (ANY, ANY, BOOL)),
    "toJson": Function(_to_json, (ANY,)),
    "toRawJson": Function(
        lambda v: _to_json(v).replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"), (ANY,)
    ),
    "toPrettyJson": Function(lambda v: go_json(v, "  "), (ANY,)),
    "fromJson": Function(_from_json, (STRING,)),
    # lists and dicts
    "list": Function(lambda *a: list(a), (), ANY),
    "tuple": Function(lambda *a: list(a), (), ANY),
    "dict": Function(_dict, (), ANY),
    "get": Function(lambda m, k: m.get(k, "") if isinstance(m, dict) else "", (ANY, STRING)),
    "set": Function(_set, (ANY, STRING, ANY)),
    "unset": Function(lambda m, k: (m.pop(k, None), m)[1], (ANY, STRING)),
    "hasKey": Function(_has_key, (ANY, STRING)),
    "keys": Function(_keys, (), ANY),
    "pluck": Function(lambda k, *ms: [m[k] for m in ms if isinstance(m, dict) and k in m], (STRING,), ANY),
    "first": Function(lambda v: _list(v, "first")[0] if _list(v, "first") else None, (ANY,)),
    "last": Function(lambda v: _list(v, "last")[-1] if _list(v, "last") else None, (ANY,)),
    "rest": Function(lambda v: _list(v, "rest")[1:] if _list(v, "rest") else None, (ANY,)),
    "initial": Function(lambda v: _list(v, "initial")[:-1] if _list(v, "initial") else None, (ANY,)),
    "append": Function(lambda v, x: [*_list(v, "append"), x], (ANY, ANY)),
    "push": Function(lambda v, x: [*_list(v, "push"), x], (ANY, ANY)),
    "prepend": Function(lambda v, x: [x, *_list(v, "prepend")], (ANY, ANY)),
    "concat": Function(lambda *ls: [x for v in ls for x in _list(v, "concat")], (), ANY),
    "uniq": Function(lambda v: _uniq(_list(v, "uniq")), (ANY,)),
    "has": Function(lambda needle, v: needle in v if isinstance(v, list) else False, (ANY, ANY)),
    "without": Function(lambda v, *xs: [x for x in _list(v, "without") if x not in xs], (ANY,), ANY),
    "reverse": Function(lambda v: list(reversed(_list(v, "reverse"))), (ANY,)),
    "compact": Function(lambda v: [x for x in _list(v, "compact") if not _empty(x)], (ANY,)),
    # numbers
    "add": Function(lambda *a: sum(_to_int(x) for x in a), (), ANY),
    "add1": Function(lambda a: _to_int(a) + 1, (ANY,)),
    "sub": Function(lambda a, b: _to_int(a) - _to_int(b), (ANY, ANY)),
    "mul": Function(lambda a, *r: math.prod([_to_int(a), *(_to_int(x) for x in r)]), (ANY,), ANY),
    "div": Function(_div, (ANY, ANY)),
    "mod": Function(_mod, (ANY, ANY)),
    "max": Function(lambda a, *r: max([_to_int(a), *(_to_int(x) for x in r)]), (ANY,), ANY),
    "min": Function(lambda a, *r: min([_to_int(a), *(_to_int(x) for x in r)]), (ANY,), ANY),
    "int": Function(_to_int, (ANY,)),
    "int64": Function(_to_int, (ANY,)),
    "float64": Function(_to_float, (ANY,)),
    "atoi": Function(lambda s: _to_int(s) if re.fullmatch(r"[+-]?\d+", s.strip()) else 0, (STRING,)),
    "floor": Function(lambda a: float(math.floor(_to_float(a))), (ANY,)),
    "ceil": Function(lambda a: float(math.ceil(_to_float(a))), (ANY,)),
    "until": Function(lambda count: _until_step(0, count, 1 if count > 0 else -1), (INT,)),
    "untilStep": Function(_until_step, (INT, INT, INT)),
    "seq": Function(_seq, (), INT),
    # encodings and regular expressions
    "b64enc": Function(lambda s: base64.b64encode(s.encode()).decode(), (STRING,)),
    "b64dec": Function(lambda s: base64.b64decode(s.encode()).decode(errors="replace"), (STRING,)),
    "sha1sum": Function(lambda s: hashlib.sha1(s.encode()).hexdigest(), (STRING,)),
    "sha256sum": Function(lambda s: hashlib.sha256(s.encode()).hexdigest(), (STRING,)),
    "regexMatch": Function(lambda p, s: _regex(p).search(s) is not None, (STRING, STRING)),
    "regexFind": Function(lambda p, s: m.group() if (m := _regex(p).search(s)) else "", (STRING, STRING)),
    "regexFindAll": Function(
        lambda p, s, n: [m.group() for m in _regex(p).finditer(s)][: n if n >= 0 else None], (STRING, STRING, INT)
    ),
    "regexReplaceAll": Function(
        lambda p, s, r: _regex(p).sub(re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", r), s), (STRING, STRING, STRING)
    ),
    "regexReplaceAllLiteral": Function(lambda p, s, r: _regex(p).sub(lambda _: r, s), (STRING, STRING, STRING)),
    "regexSplit": Function(lambda p, s, n: _regex(p).split(s, max(0, n - 1) if n > 0 else 0), (STRING, STRING, INT)),
    "typeOf": Function(type_name, (ANY,)),
    "kindIs": Function(lambda kind, v: _kind(v) == kind, (STRING, ANY)),
    "kindOf": Function(lambda v: _kind(v), (ANY,)),
}


SPRIG.update(SPRIG_MORE)


def _kind(value: Any) -> str:
    name = type_name(value)
    return {"[]interface {}": "slice", "map[string]interface {}": "map", "<nil>": "invalid"}.get(name, name)
