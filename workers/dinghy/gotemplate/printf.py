"""Go's ``fmt.Sprintf`` for the verbs templates use: ``%v %s %d %q %f %e %g %t %x %X %o %c %T %%``.

Flags ``-+# 0``, width and precision (``*`` included) work as in Go, and so do its complaints:
``%!d(string=x)`` for a wrong type, ``%!s(MISSING)`` for a missing operand, ``%!(EXTRA ...)``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from workers.dinghy.gotemplate.values import format_float, sprint_value, type_name

_SPEC = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def sprintf(format_text: str, args: list[Any]) -> str:
    """``fmt.Sprintf(format_text, args...)``."""
    out: list[str] = []
    position = 0
    used = 0
    for match in _SPEC.finditer(format_text):
        out.append(format_text[position : match.start()])
        position = match.end()
        flags, width_text, precision_text, verb = match.groups()
        if verb == "%" and not flags and width_text is None and precision_text is None:
            out.append("%")
            continue
        width: int | None = None
        precision: int | None = None
        if width_text == "*":
            width, used = _star(args, used)
        elif width_text:
            width = int(width_text)
        if precision_text == "*":
            precision, used = _star(args, used)
        elif precision_text is not None:
            precision = int(precision_text or "0")
        if width is not None and width < 0:
            flags += "-"
            width = -width
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[used]
        used += 1
        out.append(_pad(_format(arg, verb, flags, precision), flags, width, verb))
    out.append(format_text[position:])
    if used < len(args):
        extra = ", ".join(f"{type_name(arg)}={sprint_value(arg)}" for arg in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _star(args: list[Any], used: int) -> tuple[int | None, int]:
    if used < len(args) and isinstance(args[used], int):
        return int(args[used]), used + 1
    return None, used + 1


def _pad(text: str, flags: str, width: int | None, verb: str) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and verb in "dfeEgGxXob":
        sign = text[0] if text[:1] in "+- " else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


def _bad(verb: str, arg: Any) -> str:
    return f"%!{verb}({type_name(arg)}={sprint_value(arg)})"


def _format(arg: Any, verb: str, flags: str, precision: int | None) -> str:
    if verb == "T":
        return type_name(arg)
    if verb == "v":
        if isinstance(arg, float) and precision is not None:
            return _float(arg, "g", flags, precision)
        return sprint_value(arg) if "+" not in flags or not isinstance(arg, (int, float)) else _signed(arg, flags)
    if isinstance(arg, bool):
        return ("true" if arg else "false") if verb == "t" else _bad(verb, arg)
    if verb == "t":
        return _bad(verb, arg)
    if isinstance(arg, int):
        return _integer(arg, verb, flags, precision)
    if isinstance(arg, float):
        if verb in "eEfFgG":
            return _float(arg, verb, flags, precision)
        return _bad(verb, arg)
    if isinstance(arg, str):
        if verb == "s":
            return arg if precision is None else arg[:precision]
        if verb == "q":
            return json.dumps(arg, ensure_ascii="+" in flags) if "#" not in flags or "`" in arg else f"`{arg}`"
        if verb in "xX":
            hexed = arg.encode().hex()
            return hexed.upper() if verb == "X" else hexed
        return _bad(verb, arg)
    if verb == "s" and isinstance(arg, (list, dict)):
        return sprint_value(arg)
    if arg is None and verb in "sdq":
        return f"%!{verb}(<nil>)"
    return _bad(verb, arg)


def _signed(value: int | float, flags: str) -> str:
    text = format_float(value) if isinstance(value, float) else str(value)
    return text if text.startswith("-") else "+" + text


def _integer(value: int, verb: str, flags: str, precision: int | None) -> str:
    if verb == "d":
        digits = str(abs(value))
    elif verb in "xX":
        digits = format(abs(value), "x" if verb == "x" else "X")
        if "#" in flags:
            digits = ("0x" if verb == "x" else "0X") + digits
    elif verb == "o":
        digits = format(abs(value), "o")
        if "#" in flags:
            digits = "0" + digits
    elif verb == "b":
        digits = format(abs(value), "b")
    elif verb == "c":
        return chr(value)
    elif verb == "q":
        return "'" + chr(value) + "'"
    elif verb in "eEfFgG":
        return _bad(verb, value)
    else:
        return _bad(verb, value)
    if precision is not None:
        digits = digits.rjust(precision, "0")
    sign = "-" if value < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + digits


def _float(value: float, verb: str, flags: str, precision: int | None) -> str:
    if verb in "gG" and precision is None:
        text = format_float(value)
        if verb == "G":
            text = text.upper()
    else:
        python_verb = verb if verb != "F" else "f"
        text = format(value, f".{6 if precision is None else precision}{python_verb}")
        if verb in "eE":
            text = re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", text)
    if "+" in flags and not text.startswith("-"):
        text = "+" + text
    elif " " in flags and not text.startswith("-"):
        text = " " + text
    return text
