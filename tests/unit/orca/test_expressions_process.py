"""``process``: every ``${ … }`` in a stage context replaced, every failure recorded, nothing silent."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from workers.orca.expressions import SUMMARY_KEY, ProcessedValue, process, stage_root

from .expression_data import EXECUTION, root


def run(value: Any) -> ProcessedValue:
    return process(value, root(), current_stage_id="s-wait", clock=lambda: 1_700_000_000_000)


def test_single_expression_keeps_its_type() -> None:
    result = run({"count": "${#toInt(parameters.count)}", "regions": "${parameters.regions.split(',')}"})
    assert result.value == {"count": 3, "regions": ["us-east-1", "us-west-1", "eu-west-1"]}
    assert result.summary == {}
    assert not result.failed


def test_mixed_text_becomes_a_string() -> None:
    result = run({"name": "shop-${parameters.env}-v${trigger.buildInfo.number}", "plain": "no expressions"})
    assert result.value == {"name": "shop-prod-v42", "plain": "no expressions"}


def test_walks_nested_lists_and_maps_and_leaves_other_values() -> None:
    value = {
        "clusters": [{"account": "${parameters.env}", "capacity": {"max": "${#toInt(parameters.count) * 2}"}}],
        "enabled": True,
        "n": 3,
        "nothing": None,
    }
    assert run(value).value == {
        "clusters": [{"account": "prod", "capacity": {"max": 6}}],
        "enabled": True,
        "n": 3,
        "nothing": None,
    }


def test_map_keys_are_processed() -> None:
    assert run({"${parameters.env}-key": 1}).value == {"prod-key": 1}


def test_failed_expression_stays_as_text_and_is_recorded() -> None:
    result = run({"clusters": [{"account": "${parameters.nope}"}], "ok": "${parameters.env}"})
    assert result.value == {"clusters": [{"account": "${parameters.nope}"}], "ok": "prod"}
    assert result.failed
    assert result.summary == {
        "parameters.nope": [
            {
                "description": "Failed to evaluate [clusters[0].account] property 'nope' not found on map with keys "
                "[env, regions, canary, count]",
                "exceptionType": "ExpressionError",
                "level": "ERROR",
                "timestamp": 1_700_000_000_000,
            }
        ]
    }
    assert result.failure_message() == (
        "Failed to evaluate [clusters[0].account] property 'nope' not found on map with keys "
        "[env, regions, canary, count]"
    )


def test_every_failure_is_recorded_not_just_the_first() -> None:
    result = run({"a": "${1/0}", "b": "x ${#nope()} y ${parameters.missing}", "c": "${#stage('Gone')}"})
    assert result.value == {"a": "${1/0}", "b": "x ${#nope()} y ${parameters.missing}", "c": "${#stage('Gone')}"}
    assert set(result.summary) == {"1/0", "#nope()", "parameters.missing", "#stage('Gone')"}
    assert len(result.failures) == 4
    assert "division by zero" in result.summary["1/0"][0]["description"]
    assert "Unable to locate [Gone]" in result.failure_message()


def test_same_expression_failing_twice_records_both_places() -> None:
    result = run({"a": "${nope}", "b": "${nope}"})
    assert [e["description"][:22] for e in result.summary["nope"]] == [
        "Failed to evaluate [a]",
        "Failed to evaluate [b]",
    ]


def test_syntax_errors_are_recorded_with_their_type() -> None:
    result = run({"a": "${1 +}", "b": "${unclosed"})
    assert result.value == {"a": "${1 +}", "b": "${unclosed"}
    assert result.summary["1 +"][0]["exceptionType"] == "ExpressionSyntaxError"
    assert "no closing '}'" in result.summary["{unclosed"][0]["description"]


def test_null_result_keeps_the_text_at_info_level() -> None:
    result = run({"tag": "${trigger['tag']}", "label": "v-${trigger['tag']}"})
    assert result.value == {"tag": "${trigger['tag']}", "label": "v-${trigger['tag']}"}
    assert [e["level"] for e in result.summary["trigger['tag']"]] == ["INFO", "INFO"]
    assert not result.failed


def test_unresolved_and_resolved_parts_in_one_string_leave_the_whole_string() -> None:
    result = run({"name": "${parameters.env}-${parameters.nope}"})
    assert result.value == {"name": "${parameters.env}-${parameters.nope}"}
    assert list(result.summary) == ["parameters.nope"]


def test_input_is_not_mutated() -> None:
    context = {"a": ["${parameters.env}"]}
    run(context)
    assert context == {"a": ["${parameters.env}"]}


def test_stage_root_merges_like_orca() -> None:
    stage = {"id": "s", "context": {"parameters": {"own": 1}, "trigger": "shadowed", "custom": "c"}}
    built = stage_root(stage, EXECUTION)
    assert built["custom"] == "c"
    assert built["trigger"] is EXECUTION["trigger"]
    assert built["execution"] is EXECUTION
    assert built["parameters"] == EXECUTION["trigger"]["parameters"]
    assert built["scmInfo"] == {"branch": "feature/x", "sha1": "bbb"}


def test_stage_root_keeps_own_parameters_when_the_trigger_has_none() -> None:
    built = stage_root({"context": {"parameters": {"own": 1}}}, {"id": "e", "trigger": {}})
    assert built["parameters"] == {"own": 1}
    assert stage_root({"context": {}}, {"id": "e"})["parameters"] == {}


def test_root_values_are_normalised_and_foreign_objects_refused() -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert process("${when}", {"when": when}).value == "2024-01-02T03:04:05"
    assert process("${t[1]}", {"t": (1, 2)}).value == 2
    with pytest.raises(TypeError, match="object is not a JSON value"):
        process("${x}", {"x": object()})


def test_summary_key_matches_orca() -> None:
    assert SUMMARY_KEY == "expressionEvaluationSummary"


def test_default_clock_stamps_milliseconds() -> None:
    entry = process("${nope}", {}).summary["nope"][0]
    assert entry["timestamp"] > 1_600_000_000_000


def test_strings_without_expressions_are_untouched() -> None:
    assert process("$ {not} an { expression }", {}).value == "$ {not} an { expression }"
    assert process("", {}).value == ""


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${ '}' }", "}"),
        ("${ {'a': '}'}['a'] }", "}"),
        ("a${'b'}c${'d'}", "abcd"),
        ("${1}${2}", "12"),
        ("${ {1, 2} }", [1, 2]),
        ("$${'x'}", "$x"),
    ],
)
def test_template_boundaries(template: str, expected: Any) -> None:
    assert process(template, {}).value == expected
