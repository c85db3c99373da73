"""Every construct of the grammar, table-driven: expression text in, JSON value out."""

from __future__ import annotations

from typing import Any

import pytest

from workers.orca.expressions import ExpressionError, ExpressionSyntaxError, evaluate

ROOT: dict[str, Any] = {
    "name": "shop",
    "n": 7,
    "f": 2.5,
    "yes": True,
    "no": False,
    "nothing": None,
    "empty": "",
    "words": "Hello, World",
    "list": [3, 1, 2],
    "people": [{"name": "ana", "age": 31}, {"name": "bo", "age": 17}, {"name": "cy", "age": 45}],
    "map": {"a": 1, "b": 2, "with.dot": "dotted"},
    "nested": {"inner": {"deep": "value"}},
    "flag": "true",
}

CASES: list[tuple[str, Any]] = [
    # literals
    ("'single'", "single"),
    ('"double"', "double"),
    ("'it''s'", "it's"),
    ('"say ""hi"""', 'say "hi"'),
    ("42", 42),
    ("42L", 42),
    ("0x1F", 31),
    ("1.5", 1.5),
    ("1.5f", 1.5),
    ("2e3", 2000.0),
    ("true", True),
    ("FALSE", False),
    ("null", None),
    # property access and indexing
    ("name", "shop"),
    ("nested.inner.deep", "value"),
    ("nested['inner']['deep']", "value"),
    ('nested["inner"].deep', "value"),
    ("map['with.dot']", "dotted"),
    ("map[a]", 1),  # SpEL: a bare name inside [] on a map is the key itself
    ("map['missing']", None),  # indexing a map is Map.get: null when absent
    ("list[0]", 3),
    ("list[n - 5]", 2),
    ("people[1].name", "bo"),
    ("words[0]", "H"),
    ("#root.name", "shop"),
    ("#this.name", "shop"),
    # safe navigation
    ("nothing?.foo", None),
    ("nothing?.foo.bar", None),
    ("nothing?.[0]", None),
    ("nothing?.size()", None),
    ("nested?.inner?.deep", "value"),
    # arithmetic
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 / 2", 3),
    ("-7 / 2", -3),
    ("7 % 3", 1),
    ("-7 % 3", -1),
    ("7.0 / 2", 3.5),
    ("f * 2", 5.0),
    ("2 ^ 10", 1024),
    ("2 ^ 3 ^ 2", 512),
    ("-n", -7),
    ("+n", 7),
    ("10 div 3", 3),
    ("10 mod 3", 1),
    ("n - 10", -3),
    # string concatenation
    ("'a' + 'b'", "ab"),
    ("'v' + n", "v7"),
    ("n + 'v'", "7v"),
    ("'x' + yes", "xtrue"),
    ("'x' + nothing", "xnull"),
    ("'x' + f", "x2.5"),
    ("'x' + 1.0", "x1.0"),
    ("'ab' * 3", "ababab"),
    # comparison, both spellings
    ("n == 7", True),
    ("n == 7.0", True),
    ("n != 7", False),
    ("n > 5", True),
    ("n < 5", False),
    ("n >= 7", True),
    ("n <= 6", False),
    ("n eq 7", True),
    ("n ne 7", False),
    ("n gt 6", True),
    ("n lt 6", False),
    ("n ge 8", False),
    ("n le 7", True),
    ("'abc' < 'abd'", True),
    ("name == 'shop'", True),
    ("'7' == 7", False),
    ("yes == 1", False),
    ("nothing == null", True),
    ("list == {3, 1, 2}", True),
    ("map == {'a': 1, 'b': 2, 'with.dot': 'dotted'}", True),
    ("'abc' matches '[a-c]+'", True),
    ("'abcd' matches '[a-c]+'", False),
    # boolean logic
    ("yes and no", False),
    ("yes or no", True),
    ("yes && !no", True),
    ("no || yes", True),
    ("not no", True),
    ("!yes", False),
    ("no and nothing.foo", False),  # short-circuit: the right side is never evaluated
    ("yes or nothing.foo", True),
    ("flag and yes", True),  # Spring converts the string 'true' in a boolean position
    # ternary and Elvis
    ("yes ? 'a' : 'b'", "a"),
    ("no ? 'a' : 'b'", "b"),
    ("n > 5 ? n > 6 ? 'big' : 'mid' : 'small'", "big"),
    ("nothing ?: 'default'", "default"),
    ("empty ?: 'default'", "default"),
    ("name ?: 'default'", "shop"),
    ("map['zzz'] ?: 0", 0),
    # inline lists and maps
    ("{1, 2, 3}", [1, 2, 3]),
    ("{}", []),
    ("{:}", {}),
    ("{'a': 1, b: 'two'}", {"a": 1, "b": "two"}),
    ("{{1, 2}, {3}}", [[1, 2], [3]]),
    ("{1, 2, 3}[1]", 2),
    ("{'k': {'x': 1}}.k.x", 1),
    # selection and projection
    ("list.?[#this > 1]", [3, 2]),
    ("people.?[age >= 18].![name]", ["ana", "cy"]),
    ("people.^[age > 18].name", "ana"),
    ("people.$[age > 18].name", "cy"),
    ("people.?[age > 100]", []),
    ("people.^[age > 100]", None),
    ("people.![name.toUpperCase()]", ["ANA", "BO", "CY"]),
    ("list.![#this * 2]", [6, 2, 4]),
    ("people.?[name == #root.people[0].name].size()", 1),
    ("map.?[key != 'with.dot' and value > 1]", {"b": 2}),
    ("map.?[key == 'a']", {"a": 1}),
    ("{1, 2}.![#this + #root.n]", [8, 9]),
    # string methods
    ("words.contains('World')", True),
    ("words.startsWith('Hell')", True),
    ("words.endsWith('!')", False),
    ("words.toUpperCase()", "HELLO, WORLD"),
    ("words.toLowerCase()", "hello, world"),
    ("words.substring(7)", "World"),
    ("words.substring(0, 5)", "Hello"),
    ("words.replace('l', 'L')", "HeLLo, WorLd"),
    ("words.replaceAll('[aeiou]', '*')", "H*ll*, W*rld"),
    ("'v1.2.3'.replaceAll('v(\\d+)\\..*', '$1')", "1"),
    ("words.replaceFirst('l', '_')", "He_lo, World"),
    ("'a,b,,c,,'.split(',')", ["a", "b", "", "c"]),
    ("'a1b22c'.split('[0-9]+')", ["a", "b", "c"]),
    ("'a.b'.split('\\.')", ["a", "b"]),
    ("''.split(',')", [""]),
    ("'  pad  '.trim()", "pad"),
    ("words.length()", 12),
    ("words.size()", 12),
    ("empty.isEmpty()", True),
    ("words.isEmpty()", False),
    ("name.equals('shop')", True),
    ("name.equalsIgnoreCase('SHOP')", True),
    ("words.indexOf('o')", 4),
    ("words.indexOf('zz')", -1),
    ("words.lastIndexOf('o')", 8),
    ("'release-1.2'.matches('release-[0-9.]+')", True),
    ("'release-1.2'.matches('release')", False),
    ("name.charAt(0)", "s"),
    ("name.concat('-v2')", "shop-v2"),
    ("'b'.compareTo('a')", 1),
    ("'   '.isBlank()", True),
    # number, boolean and collection methods
    ("f.intValue()", 2),
    ("(0.8 * n).intValue()", 5),
    ("n.doubleValue()", 7.0),
    ("n.toString()", "7"),
    ("yes.toString()", "true"),
    ("list.size()", 3),
    ("list.isEmpty()", False),
    ("list.contains(2)", True),
    ("list.contains('2')", False),
    ("list.get(0)", 3),
    ("list.indexOf(1)", 1),
    ("list.subList(1, 3)", [1, 2]),
    ("list.toString()", "[3, 1, 2]"),
    ("map.size()", 3),
    ("map.containsKey('a')", True),
    ("map.containsKey('z')", False),
    ("map.containsValue(2)", True),
    ("map.get('b')", 2),
    ("map.get('zz')", None),
    ("map.getOrDefault('zz', 9)", 9),
    ("map.keySet()", ["a", "b", "with.dot"]),
    ("map.values().size()", 3),
    ("{'a': 1}.toString()", "{a=1}"),
    ("nested.isEmpty()", False),
    # whitespace and word operators in any case
    ("  n   >   1  ", True),
    ("n GT 1 AND yes", True),
]


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0] for c in CASES])
def test_expression_evaluates(expression: str, expected: Any) -> None:
    result = evaluate(expression, ROOT)
    assert result == expected
    assert type(result) is type(expected)


ERRORS: list[tuple[str, str]] = [
    ("missing", "property 'missing' not found on map with keys [name, n, f"),
    ("nested.inner.nope", "property 'nope' not found on map with keys [deep]"),
    ("nothing.foo", "cannot read property 'foo' of null (use ?. for safe navigation)"),
    ("list.size", "cannot read property 'size' of list; call it as a method: size()"),
    ("list[3]", "index 3 is out of range for a list of size 3"),
    ("list['a']", "a list index must be an integer, not string"),
    ("map[1]", "map keys are strings, but the index is number"),
    ("n[0]", "cannot index into number"),
    ("1 / 0", "division by zero"),
    ("1.5 / 0", "division by zero"),
    ("n % 0", "division by zero"),
    ("'a' - 1", "cannot apply '-' to string and number"),
    ("list + 1", "cannot apply '+' to list and number"),
    ("yes + 1", "cannot apply '+' to boolean and number"),
    ("n < 'a'", "cannot compare number with string using '<'"),
    ("nothing > 1", "cannot compare null with number using '>'"),
    ("n and yes", "the left side of '&&' must be a boolean, but got number"),
    ("'maybe' ? 1 : 2", "the condition of '? :' must be a boolean, but got the string 'maybe'"),
    ("!n", "the operand of '!' must be a boolean"),
    ("-name", "unary '-' needs a number, not string"),
    ("list.?[#this]", "a selection predicate must be a boolean, but got number"),
    ("name.?[true]", "selection (.?[ ]) needs a list or map, not string"),
    ("name.frobnicate()", "unknown method 'frobnicate' on string"),
    ("name.substring(10)", "substring(10, 4) is out of range for a string of length 4"),
    ("name.substring('a')", "substring() expects an integer argument, got string"),
    ("name.contains()", "contains() takes 1 argument(s) but was given 0"),
    ("nothing.size()", "cannot call a method on null"),
    ("#nope", "unknown variable #nope; only #root and #this exist"),
    ("#toJson", "#toJson is a function; call it as #toJson(...)"),
    ("#nope(1)", "unknown function #nope; available: #alphanumerical"),
    ("9223372036854775807 + 1", "integer overflow"),
    ("2 ^ 64", "integer overflow"),
    ("1e308 * 10", "number out of range"),
    ("'abc' matches 1", "'matches' needs a string and a pattern, not string and number"),
    ("'x'.matches('[')", "invalid regular expression '['"),
    ("frob()", "unknown method 'frob' on map"),
    ("{1, 2}.![#this + n]", "cannot read property 'n' of number"),  # inside .![ ], names resolve on the element
]


@pytest.mark.parametrize(("expression", "reason"), ERRORS, ids=[e[0] for e in ERRORS])
def test_expression_failure_names_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        evaluate(expression, ROOT)
    assert reason in raised.value.reason


SYNTAX_ERRORS: list[tuple[str, str]] = [
    ("", "empty expression"),
    ("1 +", "expression ends where a value was expected"),
    ("(1 + 2", "expected ')' but found the end of the expression"),
    ("'open", "unterminated string literal at position 0"),
    ("a b", "unexpected 'b' after a complete expression"),
    ("1 < 2 < 3", "comparisons cannot be chained"),
    ("a = 1", "assignment is not allowed"),
    ("T(java.lang.Runtime).getRuntime()", "type references T(...) are not allowed"),
    ("new java.util.Date()", "constructors ('new') are not allowed"),
    ("@bean", "bean references are not allowed"),
    ("a.", "expected a property or method name but found the end of the expression"),
    ("a ? 1", "expected ':' but found the end of the expression"),
    ("x instanceof T(String)", "the 'instanceof' operator is not supported"),
    ("12abc", "malformed number"),
    ("0x", "hexadecimal literal needs digits"),
    ("`", "unexpected character '`'"),
    ("#", "'#' must be followed by a variable or function name"),
    ("{1, 2", "expected '}'"),
    ("a.?[b", "expected ']'"),
]


@pytest.mark.parametrize(("expression", "reason"), SYNTAX_ERRORS, ids=[e[0] or "<empty>" for e in SYNTAX_ERRORS])
def test_syntax_errors_are_rejected_before_evaluation(expression: str, reason: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as raised:
        evaluate(expression, ROOT)
    assert reason in raised.value.reason


def test_bare_expression_and_wrapped_expression_agree() -> None:
    assert evaluate("n + 1", ROOT) == evaluate("${n + 1}", ROOT) == 8


def test_template_with_text_yields_a_string() -> None:
    assert evaluate("app-${name}-v${n}", ROOT) == "app-shop-v7"
    assert evaluate("${nothing}-x", ROOT) == "${nothing}-x"  # a null part stays as written, as in Orca
