"""Spinnaker's ``#helper(…)`` functions and real expressions from Spinnaker's documentation."""

from __future__ import annotations

from typing import Any

import pytest

from workers.orca.expressions import DEFAULT_HELPERS, ExpressionError, HelperContext, Value, evaluate

from .expression_data import root

SPINNAKER_EXAMPLES: list[tuple[str, Any]] = [
    # Spinnaker docs and Armory knowledge-base examples
    ("${trigger['buildInfo']['number']}", 42),
    ("${trigger.buildInfo.number}", 42),
    ("${#stage('Deploy')['context']['deploy.server.groups']['us-east-1'][0]}", "shop-v042"),
    ("${parameters.env == 'prod' ? 'big' : 'small'}", "big"),
    ("${#judgment('Approve')}", "Promote"),
    ("${#judgement('Approve')}", "Promote"),
    ("${execution.stages.?[type == 'wait'].size()}", 1),
    ("${parameters.regions.split(',')}", ["us-east-1", "us-west-1", "eu-west-1"]),
    ("${parameters['canary'] == 'true'}", True),
    ("${parameters.canary.equals('true')}", True),
    ("${#toBoolean(parameters.canary)}", True),
    ("${#toInt(parameters.count) + 1}", 4),
    ("${execution['id']}", "01EXEC"),
    ("${execution.stages[0].name}", "Bake"),
    ("${#stage('Bake')['status']}", "SUCCEEDED"),
    ("${#stage('Bake').context.amiName}", "ami-123"),
    ("${#stage('Bake').outputs.deploymentDetails[0].ami}", "ami-123"),
    ("${#stage('Bake').hasSucceeded}", True),
    ("${#stage('Smoke').hasFailed}", True),
    ("${#stage('s-deploy').name}", "Deploy"),  # located by id too
    ("${ (0.8 * #stage('Deploy')['context']['capacity']['max']).intValue() }", 2),
    (
        '${#readJson(\'{"development": "dev", "production": "prod"}\')'
        "[parameters.env == 'prod' ? 'production' : 'development']}",
        "prod",
    ),
    ('${#readJson(\'{"development": "dev"}\').toString()}', "{development=dev}"),
    ('${ true ? "True text" : "False text" }', "True text"),
    ("${#stageExists('Deploy')}", True),
    ("${#stageExists('Nope')}", False),
    ("${#stageByRefId('3').name}", "Approve"),
    ("${#currentStage().name}", "Wait"),
    ("${waitTime}", 30),  # the stage's own context is at the root
    ("${scmInfo.branch}", "feature/x"),  # Orca picks the first branch that is not master/develop
    ("${deployedServerGroups[0].serverGroup}", "shop-v042"),
    ("${#deployedServerGroups()[0].region}", "us-east-1"),
    ("${#deployedServerGroups('Deploy')[0].deployments[0].serverGroupName}", "shop-v042"),
    ("${#deployedServerGroups('Bake')}", []),
    ("${#triggerResolvedArtifact('gcr.io/shop').reference}", "gcr.io/shop:1.2.3"),
    ("${#triggerResolvedArtifactByType('docker/image').name}", "gcr.io/shop"),
    ("${trigger.user.split('@')[0]}", "ana"),
    ("${execution.stages.?[status == 'SUCCEEDED'].![name]}", ["Bake", "Deploy", "Approve"]),
]


@pytest.mark.parametrize(("expression", "expected"), SPINNAKER_EXAMPLES, ids=[e[0] for e in SPINNAKER_EXAMPLES])
def test_spinnaker_expression(expression: str, expected: Any) -> None:
    assert evaluate(expression, root(), current_stage_id="s-wait") == expected


CONVERSIONS: list[tuple[str, Any]] = [
    ("#toJson({'a': 1, 'b': {true, null}})", '{"a":1,"b":[true,null]}'),
    ("#toJson('x')", '"x"'),
    ("#toJson('é')", '"é"'),
    ("#readJson('[1, {\"a\": null}]')", [1, {"a": None}]),
    ("#readJson('3.5')", 3.5),
    ("#alphanumerical('my-app_v1.2!')", "myappv12"),
    ("#toInt('42')", 42),
    ("#toInt('-7')", -7),
    ("#toInt('+7')", 7),
    ("#toInt(5)", 5),
    ("#toFloat('2.5')", 2.5),
    ("#toFloat('1e3')", 1000.0),
    ("#toFloat(' 2.5f ')", 2.5),
    ("#toFloat(2)", 2.0),
    ("#toBoolean('true')", True),
    ("#toBoolean('TRUE')", True),
    ("#toBoolean('yes')", False),  # Java's Boolean.valueOf
    ("#toBoolean(null)", False),
    ("#toBase64('hello')", "aGVsbG8="),
    ("#fromBase64('aGVsbG8=')", "hello"),
    ("#fromBase64(#toBase64('ünïcode'))", "ünïcode"),
]


@pytest.mark.parametrize(("expression", "expected"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_conversion_helper(expression: str, expected: Any) -> None:
    assert evaluate(expression, {}) == expected


HELPER_ERRORS: list[tuple[str, str]] = [
    ("#stage('Nope')", "Unable to locate [Nope] using #stage(Nope) in execution 01EXEC"),
    ("#stageByRefId('99')", "Unable to locate [99] using #stageByRefId(99) in execution 01EXEC"),
    ("#judgment('Deploy')", "Unable to locate manual Judgment stage [Deploy] using #judgment(Deploy)"),
    ("#stage(1)", "#stage() expects a string, got number"),
    ("#stage()", "#stage() takes 1 argument(s) but was given 0"),
    ("#toInt('4.2')", "#toInt('4.2') failed: not an integer"),
    ("#toInt('99999999999')", "out of the 32-bit integer range"),
    ("#toFloat('abc')", "#toFloat('abc') failed: not a number"),
    ("#toFloat('NaN')", "not a number"),
    ("#readJson('{nope')", "#readJson failed: the text is not valid JSON"),
    ("#readJson('NaN')", "#readJson failed"),
    ("#fromBase64('***')", "#fromBase64 failed: not valid base64"),
    ("#toJson('$' + '{x}')", "#toJson failed: the result cannot contain an expression"),
    ("#alphanumerical(1)", "#alphanumerical() expects a string, got number"),
    ("#fromUrl('https://example.com')", "function #fromUrl is not available here: it fetches a URL"),
    ("#propertiesFromUrl('https://example.com')", "function #propertiesFromUrl is not available here"),
    ("#pipelineId('other')", "function #pipelineId is not available here: it looks up a pipeline in Front50"),
    ("#cron('x')", "unknown function #cron"),
]


@pytest.mark.parametrize(("expression", "reason"), HELPER_ERRORS, ids=[e[0] for e in HELPER_ERRORS])
def test_helper_failure(expression: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        evaluate(expression, root())
    assert reason in raised.value.reason


def test_current_stage_needs_the_stage_id() -> None:
    with pytest.raises(ExpressionError, match="needs the id of the stage being evaluated"):
        evaluate("#currentStage()", root())


def test_stage_helpers_need_an_execution() -> None:
    with pytest.raises(ExpressionError, match="#stage needs the pipeline execution"):
        evaluate("#stage('Deploy')", {})


def test_engine_can_register_helpers() -> None:
    def pipeline_id(context: HelperContext, args: list[Value]) -> Value:
        assert context.root["parameters"] == {"env": "prod"}
        return {"other": "pipe-123"}.get(str(args[0]))

    helpers = {**DEFAULT_HELPERS, "pipelineId": pipeline_id}
    assert evaluate("#pipelineId('other')", {"parameters": {"env": "prod"}}, helpers=helpers) == "pipe-123"


def test_engine_helper_exceptions_become_expression_errors() -> None:
    def broken(context: HelperContext, args: list[Value]) -> Value:
        raise KeyError("front50 down")

    with pytest.raises(ExpressionError, match="#pipelineId failed: 'front50 down'"):
        evaluate("#pipelineId('x')", {}, helpers={"pipelineId": broken})


def test_engine_helper_results_must_be_json() -> None:
    def leaky(context: HelperContext, args: list[Value]) -> Value:
        return object()  # type: ignore[return-value]

    with pytest.raises(ExpressionError, match="#leak returned a value that is not JSON"):
        evaluate("#leak()", {}, helpers={"leak": leaky})


def test_default_helpers_are_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_HELPERS["x"] = DEFAULT_HELPERS["toJson"]  # type: ignore[index]


def test_stage_result_is_a_copy() -> None:
    data = root()
    stage = evaluate("#stage('Bake')", data)
    assert isinstance(stage, dict)
    assert stage["context"] == {"amiName": "ami-123", "region": "us-east-1"}
    assert "hasSucceeded" not in data["execution"]["stages"][0]
