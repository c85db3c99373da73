"""Splits template text into tokens as Go's ``text/template`` lexer does, each with its byte offset.

Text outside ``{{ }}`` is one token; ``{{- `` trims the white space before it and `` -}}`` the
white space after; ``{{/* */}}`` is a comment. Inside an action: spaces, identifiers, keywords,
``.Field``, ``$var``, strings (quoted, raw, characters), numbers, ``|``, parentheses, ``:=``, ``=``
and ``,``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from workers.dinghy.gotemplate.errors import TemplateError, line_and_column


class Kind(Enum):
    TEXT = auto()
    LEFT = auto()
    RIGHT = auto()
    SPACE = auto()
    IDENT = auto()
    KEYWORD = auto()
    FIELD = auto()
    VARIABLE = auto()
    DOT = auto()
    STRING = auto()
    RAW_STRING = auto()
    CHAR = auto()
    NUMBER = auto()
    BOOL = auto()
    NIL = auto()
    PIPE = auto()
    LPAREN = auto()
    RPAREN = auto()
    DECLARE = auto()
    ASSIGN = auto()
    COMMA = auto()
    EOF = auto()


KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"})


@dataclass(frozen=True)
class Token:
    kind: Kind
    value: str
    pos: int


_SPACE = " \t\r\n"
_IDENT = re.compile(r"[A-Za-z_\u00c0-\uffff][A-Za-z0-9_\u00c0-\uffff]*")
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?"
    r"|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)i?"
)


def tokenize(text: str, name: str) -> list[Token]:
    """Every token of ``text``; a lexical error raises :class:`TemplateError` at its position."""
    return _Lexer(text, name).run()


class _Lexer:
    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.tokens: list[Token] = []
        self.paren_depth = 0

    def error(self, pos: int, message: str) -> TemplateError:
        line, column = line_and_column(self.text, pos)
        return TemplateError(self.name, line, column, message, pos)

    def run(self) -> list[Token]:
        text, pos, trim_next = self.text, 0, False
        while pos < len(text):
            start = text.find("{{", pos)
            end = len(text) if start < 0 else start
            trim_left = start >= 0 and text.startswith("-", start + 2) and text[start + 3 : start + 4] in tuple(_SPACE)
            chunk = text[pos:end]
            chunk_pos = pos
            if trim_next:
                stripped = chunk.lstrip(_SPACE)
                chunk_pos += len(chunk) - len(stripped)
                chunk = stripped
            if trim_left:
                chunk = chunk.rstrip(_SPACE)
            if chunk:
                self.tokens.append(Token(Kind.TEXT, chunk, chunk_pos))
            if start < 0:
                break
            pos, trim_next = self.action(start, trim_left)
        self.tokens.append(Token(Kind.EOF, "", len(text)))
        return self.tokens

    def action(self, start: int, trim_left: bool) -> tuple[int, bool]:
        """Lex one ``{{ ... }}`` from ``start``; returns where text resumes and whether to trim it."""
        text = self.text
        pos = start + (4 if trim_left else 2)  # "{{- " with its space
        after_delim = pos
        if text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                raise self.error(start, "unclosed comment")
            after = close + 2
            if text.startswith("}}", after):
                return after + 2, False
            if text[after : after + 1] in tuple(_SPACE) and text.startswith("-}}", after + 1):
                return after + 4, True
            raise self.error(start, "comment ends before closing delimiter")
        self.tokens.append(Token(Kind.LEFT, "{{", start))
        self.paren_depth = 0
        while True:
            if pos >= len(text):
                raise self.error(start, "unclosed action")
            if text.startswith("}}", pos):
                if self.paren_depth:
                    raise self.error(pos, "unclosed left paren")
                self.tokens.append(Token(Kind.RIGHT, "}}", pos))
                return pos + 2, False
            char = text[pos]
            if char in _SPACE:
                end = pos
                while end < len(text) and text[end] in _SPACE:
                    end += 1
                if text.startswith("-}}", end) and end > after_delim:
                    if self.paren_depth:
                        raise self.error(end, "unclosed left paren")
                    self.tokens.append(Token(Kind.RIGHT, "}}", end))
                    return end + 3, True
                self.tokens.append(Token(Kind.SPACE, text[pos:end], pos))
                pos = end
            else:
                pos = self.inside(pos, char)

    def inside(self, pos: int, char: str) -> int:
        """Lex one token inside an action at ``pos``; returns the offset after it."""
        text = self.text
        if char == '"':
            end = pos + 1
            while end < len(text) and text[end] != '"':
                if text[end] == "\\":
                    end += 1
                if end >= len(text) or text[end] == "\n":
                    raise self.error(pos, "unterminated quoted string")
                end += 1
            if end >= len(text):
                raise self.error(pos, "unterminated quoted string")
            return self.emit(Kind.STRING, pos, end + 1)
        if char == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise self.error(pos, "unterminated raw quoted string")
            return self.emit(Kind.RAW_STRING, pos, end + 1)
        if char == "'":
            end = pos + 1
            while end < len(text) and text[end] != "'":
                if text[end] == "\\":
                    end += 1
                if end >= len(text) or text[end] == "\n":
                    raise self.error(pos, "unterminated character constant")
                end += 1
            return self.emit(Kind.CHAR, pos, end + 1)
        if char == "$":
            match = _IDENT.match(text, pos + 1)
            return self.emit(Kind.VARIABLE, pos, match.end() if match else pos + 1)
        if char == ".":
            if pos + 1 < len(text) and text[pos + 1].isdigit():
                return self.number(pos)
            match = _IDENT.match(text, pos + 1)
            if match:
                return self.emit(Kind.FIELD, pos, match.end())
            return self.emit(Kind.DOT, pos, pos + 1)
        if char.isdigit() or (
            char in "+-" and pos + 1 < len(text) and (text[pos + 1].isdigit() or text[pos + 1] == ".")
        ):
            return self.number(pos)
        match = _IDENT.match(text, pos)
        if match:
            word = match.group()
            kind = Kind.IDENT
            if word in KEYWORDS:
                kind = Kind.KEYWORD
            elif word in ("true", "false"):
                kind = Kind.BOOL
            elif word == "nil":
                kind = Kind.NIL
            return self.emit(kind, pos, match.end())
        if text.startswith(":=", pos):
            return self.emit(Kind.DECLARE, pos, pos + 2)
        simple = {"|": Kind.PIPE, "=": Kind.ASSIGN, ",": Kind.COMMA, "(": Kind.LPAREN, ")": Kind.RPAREN}
        if char in simple:
            if char == "(":
                self.paren_depth += 1
            elif char == ")":
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    raise self.error(pos, "unexpected right paren")
            return self.emit(simple[char], pos, pos + 1)
        raise self.error(pos, f"unrecognized character in action: U+{ord(char):04X} {char!r}")

    def number(self, pos: int) -> int:
        match = _NUMBER.match(self.text, pos)
        end = match.end() if match else pos
        if end == pos or (end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_")):
            stop = end
            while stop < len(self.text) and (self.text[stop].isalnum() or self.text[stop] in "._"):
                stop += 1
            raise self.error(pos, f"bad number syntax: {self.text[pos : max(stop, pos + 1)]!r}")
        return self.emit(Kind.NUMBER, pos, end)

    def emit(self, kind: Kind, start: int, end: int) -> int:
        self.tokens.append(Token(kind, self.text[start:end], start))
        return end
