"""The rest of sprig's functions dinghyfiles use: dictionaries (``merge``, ``pick``, ``dig`` ...),
failing on purpose (``fail``, ``required``), the ``must*`` JSON forms, and the functions whose
output changes from run to run (``uuidv4``, ``rand*``, ``now``, ``date``), kept so that existing
dinghyfiles render unchanged (a file using them changes its pipelines on every render, as it does
under Dinghy). Dates take Go's reference-time layouts (``"2006-01-02T15:04:05Z07:00"``).
"""

from __future__ import annotations

import copy
import re
import secrets
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from workers.dinghy.gotemplate.evaluate import ANY, INT, STRING, Function, FunctionError
from workers.dinghy.gotemplate.values import go_json, go_json_loads, is_true

_LAYOUT = re.compile(
    r"January|Jan|Monday|Mon|2006|-07:00|-0700|Z07:00|MST|\.000000000|\.000000|\.000|15|01|02|03|04|05|06|PM|_2|1|2|3|4|5"
)
_STRFTIME = {
    "January": "%B",
    "Jan": "%b",
    "Monday": "%A",
    "Mon": "%a",
    "2006": "%Y",
    "06": "%y",
    "01": "%m",
    "02": "%d",
    "15": "%H",
    "03": "%I",
    "04": "%M",
    "05": "%S",
    "PM": "%p",
    "MST": "%Z",
    "-0700": "%z",
}


def go_date(layout: str, when: Any) -> str:
    """``time.Format(layout)`` for a time (or Unix seconds), in its own zone (UTC for numbers)."""
    moment = _time(when)
    out: list[str] = []
    position = 0
    for match in _LAYOUT.finditer(layout):
        out.append(layout[position : match.start()].replace("%", "%%"))
        token = match.group()
        position = match.end()
        if token in _STRFTIME:
            out.append(moment.strftime(_STRFTIME[token]))
        elif token in ("-07:00", "Z07:00"):
            offset = moment.strftime("%z")
            out.append("Z" if token == "Z07:00" and offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}")
        elif token.startswith("."):
            digits = len(token) - 1
            out.append("." + f"{moment.microsecond:06d}000"[:digits])
        elif token == "1":
            out.append(str(moment.month))
        elif token == "2":
            out.append(str(moment.day))
        elif token == "_2":
            out.append(f"{moment.day:>2}")
        elif token == "3":
            out.append(str(moment.hour % 12 or 12))
        elif token == "4":
            out.append(str(moment.minute))
        elif token == "5":
            out.append(str(moment.second))
    out.append(layout[position:])
    return "".join(out)


def _time(when: Any) -> datetime:
    if isinstance(when, datetime):
        return when
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return datetime.fromtimestamp(when, UTC)
    raise FunctionError(f"date: cannot format a {type(when).__name__} as a time")


def _merge(destination: Any, *sources: Any) -> Any:
    if not isinstance(destination, dict):
        raise FunctionError("merge: the first argument must be a dict")
    for source in sources:
        if isinstance(source, dict):
            for key, value in source.items():
                if key not in destination:
                    destination[key] = copy.deepcopy(value)
                elif isinstance(destination[key], dict) and isinstance(value, dict):
                    _merge(destination[key], value)
    return destination


def _merge_overwrite(destination: Any, *sources: Any) -> Any:
    if not isinstance(destination, dict):
        raise FunctionError("mergeOverwrite: the first argument must be a dict")
    for source in sources:
        if isinstance(source, dict):
            for key, value in source.items():
                if isinstance(destination.get(key), dict) and isinstance(value, dict):
                    _merge_overwrite(destination[key], value)
                else:
                    destination[key] = copy.deepcopy(value)
    return destination


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise FunctionError("dig needs at least three arguments: keys..., a default and a dict")
    *keys, default, mapping = args
    value = mapping
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def _required(message: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and value == ""):
        raise FunctionError(message)
    return value


def _fail(message: str) -> str:
    raise FunctionError(message)


def _must_from_json(text: str) -> Any:
    try:
        return go_json_loads(text)
    except ValueError as error:
        raise FunctionError(str(error)) from None


def _random(alphabet: str, count: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(max(0, min(count, 10_000))))


SPRIG_MORE: dict[str, Function] = {
    "merge": Function(_merge, (ANY,), ANY),
    "mergeOverwrite": Function(_merge_overwrite, (ANY,), ANY),
    "deepCopy": Function(copy.deepcopy, (ANY,)),
    "pick": Function(lambda m, *ks: {k: m[k] for k in ks if isinstance(m, dict) and k in m}, (ANY,), STRING),
    "omit": Function(lambda m, *ks: {k: v for k, v in (m or {}).items() if k not in ks}, (ANY,), STRING),
    "values": Function(lambda m: list(m.values()) if isinstance(m, dict) else [], (ANY,)),
    "dig": Function(_dig, (), ANY),
    "required": Function(_required, (STRING, ANY)),
    "fail": Function(_fail, (STRING,)),
    "mustToJson": Function(go_json, (ANY,)),
    "mustToPrettyJson": Function(lambda v: go_json(v, "  "), (ANY,)),
    "mustFromJson": Function(_must_from_json, (STRING,)),
    "bool": Function(is_true, (ANY,)),
    "uuidv4": Function(lambda: str(uuid.uuid4())),
    "randAlphaNum": Function(lambda n: _random(string.ascii_letters + string.digits, n), (INT,)),
    "randAlpha": Function(lambda n: _random(string.ascii_letters, n), (INT,)),
    "randNumeric": Function(lambda n: _random(string.digits, n), (INT,)),
    "randAscii": Function(lambda n: _random("".join(chr(c) for c in range(32, 127)), n), (INT,)),
    "now": Function(lambda: datetime.now(UTC)),
    "unixEpoch": Function(lambda t: str(int(_time(t).timestamp())), (ANY,)),
    "date": Function(go_date, (STRING, ANY)),
}
