"""Turns the text inside ``${ … }`` into tokens for the parser.

A hand-written scanner rather than a regex soup, so every rejected character has a
position and a reason. Lexical rules follow SpEL: strings in single or double quotes
with the quote doubled to escape it (no backslash escapes), ``L``/``F``/``D`` number
suffixes, hexadecimal ``0x``, word operators (``and``, ``eq``, ``matches`` …) in any case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import ExpressionSyntaxError

DIGITS = frozenset("0123456789")
"""ASCII digits only: ``str.isdigit`` also accepts characters such as "²" that ``int`` refuses."""


class Kind(Enum):
    """What a token is; operators keep their text in :attr:`Token.text`."""

    NUMBER = "number"
    STRING = "string"
    IDENT = "identifier"
    VARIABLE = "#variable"
    OP = "operator"
    EOF = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    position: int
    value: object = None


# Longest first, so ".?[" wins over "." and "?:" over "?".
_OPERATORS = (
    ".?[", ".![", ".^[", ".$[", "?.[",
    "==", "!=", "<=", ">=", "&&", "||", "?:", "?.",
    "+", "-", "*", "/", "%", "^", "<", ">", "!", "(", ")", "[", "]", "{", "}",
    ",", ":", "?", ".", "=", "@", "&",
)  # fmt: skip

# SpEL's textual operators, mapped to their symbolic spelling.
WORD_OPERATORS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "matches": "matches",
    "instanceof": "instanceof",
    "between": "between",
}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens ending with an EOF token, or raise :class:`ExpressionSyntaxError`."""
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            i = _string(text, i, tokens)
            continue
        if ch in DIGITS:
            i = _number(text, i, tokens)
            continue
        if ch.isalpha() or ch == "_" or ch == "$":
            j = _ident_end(text, i)
            word = text[i:j]
            op = WORD_OPERATORS.get(word.lower())
            if op is not None:
                tokens.append(Token(Kind.OP, op, i, word))  # value keeps the word: after '.', it is a name
            else:
                tokens.append(Token(Kind.IDENT, word, i))
            i = j
            continue
        if ch == "#":
            j = _ident_end(text, i + 1)
            if j == i + 1:
                raise ExpressionSyntaxError("'#' must be followed by a variable or function name", i)
            tokens.append(Token(Kind.VARIABLE, text[i + 1 : j], i))
            i = j
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token(Kind.OP, op, i))
                i += len(op)
                break
        else:
            raise ExpressionSyntaxError(f"unexpected character {ch!r}", i)
    tokens.append(Token(Kind.EOF, "", n))
    return tokens


def _ident_end(text: str, i: int) -> int:
    n = len(text)
    while i < n and (text[i].isalnum() or text[i] in "_$"):
        i += 1
    return i


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote = text[start]
    parts: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                parts.append(quote)
                i += 2
                continue
            tokens.append(Token(Kind.STRING, text[start : i + 1], start, "".join(parts)))
            return i + 1
        parts.append(ch)
        i += 1
    raise ExpressionSyntaxError("unterminated string literal", start)


def _number(text: str, start: int, tokens: list[Token]) -> int:
    n = len(text)
    i = start
    if text.startswith(("0x", "0X"), i):
        i += 2
        j = i
        while j < n and text[j] in "0123456789abcdefABCDEF":
            j += 1
        if j == i:
            raise ExpressionSyntaxError("hexadecimal literal needs digits after 0x", start)
        value: int | float = int(text[i:j], 16)
        if j < n and text[j] in "lL":
            j += 1
        tokens.append(Token(Kind.NUMBER, text[start:j], start, value))
        return j
    while i < n and text[i] in DIGITS:
        i += 1
    is_real = False
    # A '.' is a decimal point only when a digit follows; otherwise it is property access (1.toString()).
    if i + 1 < n and text[i] == "." and text[i + 1] in DIGITS:
        is_real = True
        i += 1
        while i < n and text[i] in DIGITS:
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j] in DIGITS:
            is_real = True
            i = j
            while i < n and text[i] in DIGITS:
                i += 1
    digits = text[start:i]
    if i < n and text[i] in "fFdD":
        is_real = True
        i += 1
    elif i < n and text[i] in "lL" and not is_real:
        i += 1
    if i < n and (text[i].isalpha() or text[i] == "_"):
        raise ExpressionSyntaxError(f"malformed number {text[start : i + 1]!r}", start)
    if len(digits) > 400:
        raise ExpressionSyntaxError("number literal too long", start)
    value = float(digits) if is_real else int(digits)
    tokens.append(Token(Kind.NUMBER, text[start:i], start, value))
    return i
