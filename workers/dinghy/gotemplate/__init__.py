"""A Go ``text/template`` interpreter: the subset of the language dinghyfiles are written in.

No Python package renders Go templates faithfully, and Jinja2 is another language, so Dinghy's
files are read by this one: ``lexer`` -> ``parser`` (``nodes``) -> ``evaluate``, with Go's
predefined functions (``builtins``, ``printf``), sprig's (``sprig``) and Go's way of printing values
(``values``). Example::

    template = Template.parse("dinghyfile", '{{ upper .Name }}', SPRIG)
    template.execute({"Name": "app"})  # 'APP'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.dinghy.gotemplate.builtins import BUILTINS
from workers.dinghy.gotemplate.errors import TemplateError
from workers.dinghy.gotemplate.evaluate import Function, FunctionError, Limits, execute
from workers.dinghy.gotemplate.nodes import ListNode
from workers.dinghy.gotemplate.parser import parse
from workers.dinghy.gotemplate.sprig import SPRIG
from workers.dinghy.gotemplate.values import INVALID, GoStruct

__all__ = [
    "INVALID",
    "SPRIG",
    "Function",
    "FunctionError",
    "GoStruct",
    "Limits",
    "Template",
    "TemplateError",
]

MAX_TEMPLATE_BYTES = 1024 * 1024


class Template:
    """A parsed template: ``parse`` it once, ``execute`` it with data."""

    def __init__(self, name: str, text: str, tree: ListNode, functions: Mapping[str, Function]) -> None:
        self.name = name
        self.text = text
        self.tree = tree
        self.functions = functions

    @classmethod
    def parse(cls, name: str, text: str, functions: Mapping[str, Function] | None = None) -> Template:
        """Parse ``text``; ``functions`` are added to (and may replace) Go's predefined ones."""
        if len(text.encode()) > MAX_TEMPLATE_BYTES:
            raise TemplateError(name, 1, 1, f"template is larger than {MAX_TEMPLATE_BYTES} bytes")
        merged = {**BUILTINS, **(functions or {})}
        return cls(name, text, parse(text, name, merged), merged)

    def execute(self, data: Any, limits: Limits | None = None, trace: list[tuple[int, int]] | None = None) -> str:
        """The output with dot = ``data``; a failure raises :class:`TemplateError` at its position.

        ``trace`` receives where each piece of output came from (see :func:`evaluate.execute`).
        """
        return execute(self.tree, self.text, self.name, data, self.functions, limits, trace)
