"""No escape into Python, bounded time and size, and only ExpressionError for any text at all."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workers.orca.expressions as expressions
from workers.orca.expressions import ExpressionError, ExpressionLimitError, Limits, evaluate, process

from .expression_data import root

ESCAPES = [
    "''.__class__",
    "''.__class__.__mro__[1].__subclasses__()",
    "#this.__dict__",
    "#root.__class__",
    "T(java.lang.Runtime).getRuntime().exec('id')",
    "new java.lang.ProcessBuilder('id').start()",
    "#this.getClass()",
    "''.getClass().forName('java.lang.Runtime')",
    "__import__('os').system('id')",
    "#root.__getitem__('x')",
    "{}.__class__",
    "'x'.format()",
    "'x'.__len__()",
    "#stage.__globals__",
    "@environment",
    "execution.stages[0].__class__",
    "1 .__class__",
    "eval('1')",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_attempts_fail_safely(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, root())


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_attempts_in_a_context_are_recorded(expression: str) -> None:
    result = process({"x": "${" + expression + "}"}, root())
    assert result.value == {"x": "${" + expression + "}"} or result.value["x"] is None
    assert result.failed


def test_dunder_keys_are_only_data() -> None:
    assert evaluate("#root['__class__']", {"__class__": "just a key"}) == "just a key"
    assert evaluate("#root['__class__']", {}) is None


SMALL = Limits(max_steps=200, max_string_length=1_000, max_collection_size=50, max_depth=20)


def test_expression_length_is_capped() -> None:
    with pytest.raises(ExpressionLimitError, match="the limit is 10000"):
        evaluate("1+" * 6000 + "1", {})


def test_step_budget_stops_long_evaluations() -> None:
    big = {"items": list(range(300))}
    with pytest.raises(ExpressionLimitError, match="budget of 200 evaluation steps"):
        evaluate("items.![#this * 2]", big, limits=SMALL)


def test_nested_selection_cannot_multiply_work() -> None:
    data = {"items": list(range(1000))}
    started = time.monotonic()
    with pytest.raises(ExpressionLimitError, match="evaluation steps"):
        evaluate("items.![#root.items.![#root.items.?[#this > 1].size()]]", data)
    assert time.monotonic() - started < 2


def test_string_size_is_capped() -> None:
    with pytest.raises(ExpressionLimitError, match="exceeds the string size limit"):
        evaluate("'abc' * 1000", {}, limits=SMALL)
    with pytest.raises(ExpressionLimitError, match="exceeds the limit of 1000"):
        evaluate("s + s", {"s": "x" * 600}, limits=SMALL)
    with pytest.raises(ExpressionError, match="replace\\(\\) result exceeds"):
        evaluate("s.replace('x', 'yyyy')", {"s": "x" * 600}, limits=SMALL)


def test_total_output_is_capped() -> None:
    data = {"items": list(range(40)), "s": "x" * 900}
    with pytest.raises(ExpressionLimitError, match="produced too much text"):
        evaluate("items.![#root.s + #this]", data, limits=SMALL)


def test_collection_size_is_capped() -> None:
    with pytest.raises(ExpressionLimitError, match="collection of 60 elements exceeds the limit of 50"):
        evaluate("s.split(',')", {"s": ",".join("x" * 60)}, limits=SMALL)
    with pytest.raises(ExpressionLimitError, match="exceeds the limit of 50"):
        evaluate("#readJson(s)", {"s": str(list(range(60)))}, limits=SMALL)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(ExpressionLimitError, match="nested"):
        evaluate("(" * 500 + "1" + ")" * 500, {})
    with pytest.raises(ExpressionLimitError, match="nested"):
        evaluate("!" * 500 + "true", {})
    with pytest.raises(ExpressionLimitError, match="nested"):
        evaluate("a" + ".a" * 2000, {})
    with pytest.raises(ExpressionLimitError, match="nested"):
        evaluate("1" + "+1" * 3000, {})
    with pytest.raises(ExpressionLimitError, match="nested"):
        evaluate("#readJson(s)", {"s": "[" * 150 + "]" * 150})


def test_integers_stay_within_64_bits() -> None:
    with pytest.raises(ExpressionError, match="integer overflow"):
        evaluate("9223372036854775807 * 2", {})
    with pytest.raises(ExpressionError, match="integer overflow"):
        evaluate("99999999999999999999999", {})
    with pytest.raises(ExpressionError, match="integer overflow"):
        evaluate("3 ^ 999999999", {})


CATASTROPHIC = ["(a+)+$", "(a*)*b", "(a|aa)+$", "(x+x+)+y", "((ab)*)+", "(.*a){12}", "(a|a?)+", "(\\w+\\s?)*$"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_backtracking_regexes_are_refused(pattern: str) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="exponential time"):
        evaluate("s matches p", {"s": "a" * 40 + "!", "p": pattern})
    with pytest.raises(ExpressionError, match="exponential time"):
        evaluate("s.split(p)", {"s": "a" * 40 + "!", "p": pattern})
    assert time.monotonic() - started < 1


SAFE_PATTERNS = ["[a-z]+-v[0-9]{3}", "^release/.*$", "(foo|bar)", "(abc)+", "v(\\d+)\\.(\\d+)", "a{2,3}", "[(+*)]+"]


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_ordinary_regexes_are_allowed(pattern: str) -> None:
    assert evaluate("'zzz' matches p", {"p": pattern}) in (True, False)


def test_backreferences_are_refused() -> None:
    with pytest.raises(ExpressionError, match="back-references"):
        evaluate("'aa' matches '(a)\\1'", {})


def test_regex_length_and_input_are_capped() -> None:
    with pytest.raises(ExpressionLimitError, match="regular expression of 600 characters"):
        evaluate("'a' matches p", {"p": "a" * 600})
    with pytest.raises(ExpressionLimitError, match="too long for a regular expression"):
        evaluate("s matches 'a+'", {"s": "a" * 20_000})


# -- fuzzing ---------------------------------------------------------------------------------------

_ALPHABET = "abcxyz019 .,'\"()[]{}#?:!=<>+-*/%^&|$@_Tn\\"
_FRAGMENTS = [
    "${", "}", "#root", "#this", "#stage(", "#toJson(", "#readJson(", "parameters", "execution.stages",
    ".?[", ".![", ".^[", ".$[", "?.", "matches", " and ", " or ", "not ", " ? ", " : ", "?:", "'", "(", ")",
    "[0]", "['a']", ".size()", ".split(',')", "{1,2}", "{'a':1}", "null", "true", "T(", "new ", "__class__",
    "*", " ^ ", "999999999999", "1e308", "'a+'", "(a+)+",
]  # fmt: skip

_text = st.one_of(
    st.text(alphabet=_ALPHABET, max_size=80),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_arbitrary_expression_text_raises_only_expression_error(text: str) -> None:
    data = root()
    started = time.monotonic()
    with contextlib.suppress(ExpressionError):
        evaluate(text, data, current_stage_id="s-wait")
    assert time.monotonic() - started < 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_arbitrary_strings_in_a_context_never_raise(text: str) -> None:
    value: dict[str, Any] = {"a": text, "b": ["${" + text + "}"], text: 1}
    started = time.monotonic()
    result = process(value, root())
    assert time.monotonic() - started < 1
    for entries in result.summary.values():
        for entry in entries:
            assert entry["level"] in ("ERROR", "INFO")
            assert entry["description"].startswith("Failed to evaluate")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(_json, st.sampled_from(["v", "v.size()", "v.toString()", "#toJson(v)", "v + 'x'", "v == v", "v[0]", "v.![#this]",
                                "v.?[#this != null]", "{v, v}", "v ?: 1", "-v", "v * 2", "v > 1", "!v"]))  # fmt: skip
def test_any_json_value_through_any_operation(value: Any, expression: str) -> None:
    with contextlib.suppress(ExpressionError):
        evaluate(expression, {"v": value})


def test_public_api_is_guarded() -> None:
    assert sorted(expressions.__all__) == [
        "DEFAULT_HELPERS",
        "DEFAULT_LIMITS",
        "ExpressionError",
        "ExpressionLimitError",
        "ExpressionSyntaxError",
        "Helper",
        "HelperContext",
        "HelperRegistry",
        "Limits",
        "ProcessedValue",
        "SUMMARY_KEY",
        "Value",
        "evaluate",
        "operands",
        "process",
        "shown",
        "stage_root",
    ]
