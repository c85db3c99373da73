"""The one error a template raises, naming the file, line and column and what was wrong.

Go reports ``template: NAME:LINE: msg`` when parsing and ``template: NAME:LINE:COL: executing ...``
when running; ours always says ``NAME:LINE:COL`` (the column counted from 1, as editors do).
"""

from __future__ import annotations


class TemplateError(Exception):
    """A template that cannot be parsed or run: ``str()`` is ``template: NAME:LINE:COL: message``."""

    def __init__(self, name: str, line: int, column: int, message: str, offset: int = 0) -> None:
        super().__init__(f"template: {name}:{line}:{column}: {message}")
        self.offset = offset
        self.name = name
        self.line = line
        self.column = column
        self.message = message


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1
