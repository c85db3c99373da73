"""What a false expression read, and how a read is written back (``workers.orca.expressions.operands``)."""

from __future__ import annotations

from typing import Any

import pytest

from workers.orca.expressions import Value, operands, shown
from workers.orca.expressions.operands import MAX_OPERANDS, render
from workers.orca.expressions.parser import parse

ROOT = {
    "parameters": {"env": "dev", "size": "3", "tags": ["a", "b"]},
    "trigger": {"user": "ana", "parameters": {"env": "dev"}},
    "a": None,
}


@pytest.mark.parametrize(
    ("expression", "read"),
    [
        ("${parameters.env == 'prod'}", [("parameters.env", "dev")]),
        ("parameters.env == 'prod'", [("parameters.env", "dev")]),
        ("${trigger['parameters']?.env != 'dev' || !(parameters.tags.size() > 2)}",
         [("trigger['parameters']?.env", "dev"), ("parameters.tags.size()", 2)]),
        ("${parameters.size > 5 ? true : parameters.env == 'x'}",
         [("parameters.size", "3"), ("parameters.env", "dev")]),
        ("${parameters.env == 'a' || parameters.env == 'b'}", [("parameters.env", "dev")]),
        ("${a != null && a.size() > 0}", [("a", None)]),  # the guarded read is left out
        ("${parameters.tags.?[#this == 'a'].size() == 0}", [("parameters.tags.?[#this == 'a'].size()", 1)]),
        ("${false}", []),
        ("${not (closed}", []),
        ("${parameters.env} and ${parameters.size}", []),
    ],
)  # fmt: skip
def test_operands(expression: str, read: list[tuple[str, Any]]) -> None:
    assert operands(expression, ROOT) == read


def test_at_most_a_few_reads_are_reported() -> None:
    many = " && ".join(f"p{index} == 1" for index in range(MAX_OPERANDS + 3))
    root = {f"p{index}": index for index in range(MAX_OPERANDS + 3)}
    assert [text for text, _ in operands(many, root)] == [f"p{index}" for index in range(MAX_OPERANDS)]


@pytest.mark.parametrize(
    "text",
    [
        "#stage('bake').context['amis']?.[0]",
        "{1, 'two', null}.![#this]",
        "{'a': 1, b: {:}}",
        "-(1 + 2) * 3 ?: #root",
        "parameters?.env.toUpperCase().^[#this matches 'D.*']",
    ],
)
def test_render_writes_back_what_parses_the_same(text: str) -> None:
    assert parse(render(parse(text))) == parse(text)


def test_values_are_shown_as_expressions_write_them() -> None:
    values: list[Value] = [None, True, "it's", 2.5, {"b": [1]}]
    assert [shown(v) for v in values] == ["null", "true", "'it''s'", "2.5", '{"b":[1]}']
    assert len(shown("x" * 500)) == 120
