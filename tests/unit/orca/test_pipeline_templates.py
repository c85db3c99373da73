"""The v2 template renderer: variables and their types, stage overrides and injection, inheritance."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.json_types import Json
from workers.orca.pipeline_templates.errors import TemplateError
from workers.orca.pipeline_templates.render import render
from workers.orca.pipeline_templates.stages import stage_graph


def stage(ref: str, *requires: str, **fields: Any) -> Json:
    return {"refId": ref, "type": "wait", "name": f"stage {ref}", "requisiteStageRefIds": list(requires), **fields}


TEMPLATE: Json = {
    "schema": "v2",
    "id": "deploy-app",
    "metadata": {"name": "Deploy", "scopes": ["shop"]},
    "variables": [
        {"name": "waitTime", "type": "int", "defaultValue": 5},
        {"name": "region", "type": "string"},
        {"name": "note", "type": "string", "nullable": True},
    ],
    "pipeline": {
        "stages": [
            stage("wait1", waitTime="${ templateVariables.waitTime }"),
            stage(
                "deploy",
                "wait1",
                region="${templateVariables.region}",
                later="${ execution.id }",
                mixed="${ #stage('wait1')['status'] + templateVariables.region }",
            ),
        ],
        "triggers": [{"type": "cron", "cronExpression": "0 0 * * * ?", "enabled": True}],
        "parameterConfig": [{"name": "tag", "default": "latest"}],
    },
}


def config(**fields: Any) -> Json:
    return {
        "schema": "v2",
        "type": "templatedPipeline",
        "application": "shop",
        "name": "deploy shop",
        "id": "pipe-1",
        "template": {"artifactAccount": "front50ArtifactCredentials", "reference": "spinnaker://deploy-app:stable"},
        "variables": {"region": "eu-west-1"},
        **fields,
    }


def refs(stages: list[Json]) -> list[tuple[str, list[str]]]:
    return [(s["refId"], s["requisiteStageRefIds"]) for s in stages]


def test_variables_are_substituted_with_their_types_and_defaults() -> None:
    pipeline = render(config(variables={"region": "eu-west-1", "unknown": 1}), TEMPLATE, {})
    assert (pipeline["id"], pipeline["application"], pipeline["name"]) == ("pipe-1", "shop", "deploy shop")
    assert pipeline["stages"][0]["waitTime"] == 5, "a single expression keeps the variable's type"
    assert pipeline["stages"][1]["region"] == "eu-west-1"
    assert pipeline["stages"][1]["later"] == "${ execution.id }", "what needs the execution waits for it"
    assert pipeline["stages"][1]["mixed"].startswith("${ #stage("), "even when it reads a variable too"
    assert pipeline["templateVariables"] == {"waitTime": 5, "region": "eu-west-1"}
    assert pipeline["triggers"][0]["inherited"] is True and pipeline["parameterConfig"][0]["name"] == "tag"
    assert "type" not in pipeline and "template" not in pipeline


@pytest.mark.parametrize(
    ("variables", "field", "words"),
    [
        ({}, "variables.region", "Missing variable values for: region"),
        ({"region": 3}, "variables.region", "expected type 'string' found type 'int'"),
        ({"region": "x", "waitTime": "5"}, "variables.waitTime", "expected type 'int' found type 'string'"),
        ({"region": None}, "variables.region", "is not nullable"),
    ],
)
def test_a_bad_variable_is_named(variables: Json, field: str, words: str) -> None:
    with pytest.raises(TemplateError) as refused:
        render(config(variables=variables), TEMPLATE, {})
    assert refused.value.field == field and words in refused.value.reason


def test_an_int_may_arrive_as_a_whole_float_and_a_nullable_may_be_absent() -> None:
    pipeline = render(config(variables={"region": "r", "waitTime": 7.0}), TEMPLATE, {})
    assert pipeline["stages"][0]["waitTime"] == 7.0
    template = {**TEMPLATE, "pipeline": {"stages": [stage("a", note="${templateVariables.note}")]}}
    with pytest.raises(TemplateError) as refused:
        render(config(), template, {})
    assert refused.value.field == "variables.note" and "Missing template variable values" in refused.value.reason


def test_exclude_and_inherit_choose_what_the_template_gives() -> None:
    own = [{"type": "jenkins", "master": "ci", "job": "build"}]
    excluded = render(config(exclude=["triggers"], triggers=own), TEMPLATE, {})
    assert excluded["triggers"] == own
    assert excluded["parameterConfig"] == [{"name": "tag", "default": "latest", "inherited": True}]
    inherit_none = render(config(inherit=[], triggers=own), TEMPLATE, {})
    assert inherit_none["triggers"] == own and inherit_none["parameterConfig"] == []


def test_stage_overrides_replace_add_and_inject() -> None:
    template = [stage("a"), stage("b", "a"), stage("c", "b")]
    replaced = stage_graph(template, [stage("b", "a", waitTime=99)])
    assert [s.get("waitTime") for s in replaced] == [None, 99, None]
    assert refs(stage_graph(template, [stage("x", "c")]))[-1] == ("x", ["c"])
    assert refs(stage_graph(template, [stage("x", inject={"first": True})])) == [
        ("x", []),
        ("a", ["x"]),
        ("b", ["a"]),
        ("c", ["b"]),
    ]
    assert refs(stage_graph(template, [stage("x", inject={"last": True})]))[-1] == ("x", ["c"])
    assert refs(stage_graph(template, [stage("x", inject={"before": ["b"]})])) == [
        ("a", []),
        ("x", ["a"]),
        ("b", ["x"]),
        ("c", ["b"]),
    ]
    assert refs(stage_graph(template, [stage("x", inject={"after": ["a"]})])) == [
        ("a", []),
        ("x", ["a"]),
        ("b", ["x"]),
        ("c", ["b"]),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ([stage("x", inject={"after": ["nope"]})], "stages[0].inject", "unknown target stage id 'nope'"),
        ([stage("x")], "stages[0]", "neither a template stage"),
        ([stage("a", "c")], "stages", "cycle"),
    ],
)
def test_a_bad_override_is_named(overrides: list[Json], field: str, words: str) -> None:
    with pytest.raises(TemplateError) as refused:
        stage_graph([stage("a"), stage("b", "a"), stage("c", "b")], overrides)
    assert refused.value.field == field and words in refused.value.reason


def test_a_protected_template_refuses_overrides() -> None:
    with pytest.raises(TemplateError) as refused:
        render(config(stages=[stage("wait1", waitTime=1)]), {**TEMPLATE, "protect": True}, {})
    assert refused.value.field == "stages" and "protected" in refused.value.reason
