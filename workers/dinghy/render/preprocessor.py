"""Dinghy's preprocessor: the first pass over a dinghyfile before Go's template parser sees it.

Inside every ``{{ ... }}`` it turns a JSON object or array argument into a quoted string (so
``module "m" "tags" ["a","b"]`` parses), drops the readability operator ``?:`` and collapses runs of
white space to one space. Text outside actions is untouched. Since that moves text, it also keeps
where each piece came from, so an error in the processed text names a line and column of the file
the user wrote.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass

from workers.dinghy.gotemplate.errors import TemplateError, line_and_column

_SPACE = " \t\n\r\v\f"


@dataclass(frozen=True)
class Preprocessed:
    """The processed text and, for each piece of it, where that piece began in the original."""

    text: str
    original: str
    starts: list[int]  # offsets in ``text`` where a piece begins, ascending
    sources: list[int]  # the offset in ``original`` each of those pieces came from

    def original_offset(self, offset: int) -> int:
        """The offset in the original text that ``offset`` in the processed text came from."""
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0:
            return offset
        return min(self.sources[index] + (offset - self.starts[index]), len(self.original))

    def relocate(self, error: TemplateError) -> TemplateError:
        """``error`` (raised on the processed text) with the line and column of the original."""
        offset = self.original_offset(error.offset)
        line, column = line_and_column(self.original, offset)
        return TemplateError(error.name, line, column, error.message, offset)


def preprocess(text: str, name: str) -> Preprocessed:
    """Dinghy's ``Preprocess``; an action without its ``}}`` is refused as Dinghy refuses it."""
    out: list[str] = []
    starts: list[int] = []
    sources: list[int] = []
    size = 0

    def emit(piece: str, source: int) -> None:
        nonlocal size
        starts.append(size)
        sources.append(source)
        out.append(piece)
        size += len(piece)

    position = 0
    length = len(text)
    while True:
        begin = text.find("{{", position)
        if begin < 0:
            emit(text[position:], position)
            break
        emit(text[position : begin + 2], position)
        pos = begin + 2
        while pos < length:  # at the very end Dinghy stops quietly; the parser then says "unclosed action"
            if pos + 2 > length:
                line, column = line_and_column(text, begin)
                raise TemplateError(
                    name,
                    line,
                    column,
                    "Index out of bounds while pre-processing template action, possibly a missing '}}'",
                    begin,
                )
            if text.startswith("}}", pos):
                emit("}}", pos)
                pos += 2
                break
            char = text[pos]
            start = pos
            if char in _SPACE:
                while pos < length and text[pos] in _SPACE:
                    pos += 1
                emit(" ", start)
            elif char == '"':
                pos = _string_end(text, pos)
                emit(text[start:pos], start)
            elif char in "{[":
                pos = _json_end(text, pos)
                emit(_go_quote(text[start:pos]), start)
            elif text.startswith("?:", pos) and pos + 2 < length and text[pos + 2] in _SPACE:
                pos += 2
                while pos < length and text[pos] in _SPACE:
                    pos += 1
            else:
                previous = ""
                while pos < length and text[pos] not in _SPACE:
                    if previous + text[pos] == "}}":
                        pos -= 1
                        break
                    previous = text[pos]
                    pos += 1
                emit(text[start:pos], start)
        position = pos
    return Preprocessed("".join(out), text, starts, sources)


def _string_end(text: str, pos: int) -> int:
    pos += 1
    while pos < len(text) and text[pos] != '"':
        if text[pos] == "\\":
            pos += 1
        pos += 1
    return pos + 1


def _json_end(text: str, pos: int) -> int:
    stack = [text[pos]]
    pos += 1
    while pos < len(text) and stack:
        char = text[pos]
        if char == '"':
            pos = _string_end(text, pos)
            continue
        if char in "[{":
            stack.append(char)
        elif (char == "]" and stack[-1] == "[") or (char == "}" and stack[-1] == "{"):
            stack.pop()
        pos += 1
    return pos


def _go_quote(text: str) -> str:
    """``strconv.Quote`` for the JSON text of an argument (printable characters kept as they are)."""
    return json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
