"""Expressions in a stage's context are evaluated when it starts; a failed one fails the stage with its reason."""

from __future__ import annotations

from schemas.orca_engine import CancelExecution, RestartStage
from tests.authorities import ADMIN, admin
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary

PARAMETERS = [{"name": "env", "default": "prod"}, {"name": "size", "default": "2"}]


async def test_parameters_trigger_and_earlier_stages_feed_later_ones(orca: Orca) -> None:
    config = pipeline(
        stage("1", "evaluateVariables", name="Vars", variables=[{"key": "tier", "value": "${parameters.env}-web"}]),
        stage(
            "2",
            "checkPreconditions",
            after=("1",),
            preconditions=[
                {"type": "expression", "context": {"expression": "${#stage('Vars').outputs.tier == 'prod-web'}"}}
            ],
        ),
        stage("3", after=("1",), stageEnabled={"type": "expression", "expression": "parameters.env == 'dev'"}),
        stage("4", "evaluateVariables", after=("2", "3"), variables=[{"key": "who", "value": "${trigger.user}"}]),
        parameterConfig=PARAMETERS,
    )
    execution = await orca.finished(
        await orca.start(config, {"type": "manual", "user": "ana", "parameters": {"size": "3"}})
    )
    assert summary(execution) == {
        "status": "SUCCEEDED",
        "1": "SUCCEEDED",
        "2": "SUCCEEDED",
        "3": "SKIPPED",
        "4": "SUCCEEDED",
    }
    assert execution["trigger"]["parameters"] == {"env": "prod", "size": "3"}
    assert by_ref(execution, "1")["outputs"] == {"tier": "prod-web"}
    assert by_ref(execution, "4")["outputs"] == {"who": "ana"}


async def test_a_failed_expression_fails_its_stage_naming_it(orca: Orca) -> None:
    config = pipeline(stage("1", "evaluateVariables", variables=[{"key": "x", "value": "${parameters.nope.deeper}"}]))
    execution = await orca.finished(await orca.start(config))
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL"}
    context = by_ref(execution, "1")["context"]
    error = context["exception"]["details"]["error"]
    assert "variables[0].value" in error and "'nope'" in error
    assert "parameters.nope.deeper" in context["expressionEvaluationSummary"]


async def test_a_stage_may_opt_out_of_failing_on_failed_expressions(orca: Orca) -> None:
    value = "${parameters.nope.deeper}"
    config = pipeline(
        stage("1", "evaluateVariables", variables=[{"key": "x", "value": value}], failOnFailedExpressions=False)
    )
    execution = await orca.finished(await orca.start(config))
    assert execution["status"] == "SUCCEEDED"
    assert by_ref(execution, "1")["outputs"] == {"x": value}
    assert "expressionEvaluationSummary" in by_ref(execution, "1")["context"]


async def test_evaluate_variables_may_use_the_variables_before_them(orca: Orca) -> None:
    variables = [
        {"key": "region", "value": "${parameters.env == 'prod' ? 'eu-west-1' : 'us-east-1'}"},
        {"key": "bucket", "value": "${'releases-' + region}"},
        {"key": "path", "value": "${bucket}/${trigger.user}"},
    ]
    config = pipeline(stage("1", "evaluateVariables", variables=variables), parameterConfig=PARAMETERS)
    execution = await orca.finished(await orca.start(config, {"type": "manual", "user": "ana"}))
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED"}
    assert by_ref(execution, "1")["outputs"] == {
        "region": "eu-west-1",
        "bucket": "releases-eu-west-1",
        "path": "releases-eu-west-1/ana",
    }


async def test_a_variable_naming_a_later_one_fails_naming_it(orca: Orca) -> None:
    variables = [{"key": "a", "value": "${b}"}, {"key": "b", "value": "1"}]
    execution = await orca.finished(await orca.start(pipeline(stage("1", "evaluateVariables", variables=variables))))
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL"}
    assert "b" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]


async def test_later_stages_see_the_outputs_of_the_stages_before_them_by_bare_name(orca: Orca) -> None:
    """Orca merges ancestors' outputs into a stage's context: nearest first, the stage's own context winning."""
    config = pipeline(
        stage(
            "1",
            "evaluateVariables",
            variables=[{"key": "greeting", "value": "hello"}, {"key": "tier", "value": "web"}],
        ),
        stage("2", after=("1",)),
        stage("3", "evaluateVariables", after=("2",), variables=[{"key": "tier", "value": "${tier}-eu"}]),
        stage(
            "4",
            "checkPreconditions",
            after=("3",),
            preconditions=[
                {"type": "expression", "context": {"expression": "${greeting == 'hello'}"}},
                {"type": "expression", "context": {"expression": "${tier == 'web-eu'}"}},
            ],
        ),
        stage("5", "evaluateVariables", after=("4",), variables=[{"key": "seen", "value": "${greeting}/${tier}"}]),
    )
    execution = await orca.finished(await orca.start(config))
    assert summary(execution) == {s: "SUCCEEDED" for s in ("status", "1", "2", "3", "4", "5")}
    assert by_ref(execution, "5")["outputs"] == {"seen": "hello/web-eu"}
    assert "expressionEvaluationSummary" not in by_ref(execution, "4")["context"]


async def test_a_parallel_branchs_outputs_are_not_seen(orca: Orca) -> None:
    config = pipeline(
        stage("1", "evaluateVariables", variables=[{"key": "secret", "value": "other branch"}]),
        stage("2"),
        stage(
            "3",
            "checkPreconditions",
            after=("2",),
            preconditions=[{"type": "expression", "context": {"expression": "${secret == 'other branch'}"}}],
        ),
    )
    execution = await orca.finished(await orca.start(config))
    assert summary(execution) == {"status": "TERMINAL", "1": "SUCCEEDED", "2": "SUCCEEDED", "3": "TERMINAL"}
    context = by_ref(execution, "3")["context"]
    assert "property 'secret' not found" in context["exception"]["details"]["error"]
    assert "secret == 'other branch'" in context["expressionEvaluationSummary"]


async def test_a_restarted_evaluate_variables_stage_evaluates_its_variables_afresh(orca: Orca) -> None:
    who = "${#currentStage().context['restartDetails']?.restartedBy ?: 'first run'}"
    config = pipeline(
        stage("1", "evaluateVariables", name="Vars", variables=[{"key": "who", "value": who}]),
        stage("2", "manualJudgment", after=("1",)),
    )
    execution_id = await orca.start(config)
    execution = await orca.until(execution_id, lambda e: by_ref(e, "2")["status"] == "RUNNING")
    assert by_ref(execution, "1")["outputs"] == {"who": "first run"}
    await orca.send(CancelExecution(execution_id=execution_id, authority=ADMIN))
    await orca.finished(execution_id)
    restart = RestartStage(execution_id=execution_id, stage_id=by_ref(execution, "1")["id"], authority=admin("ana"))
    await orca.send(restart)
    execution = await orca.until(execution_id, lambda e: by_ref(e, "2")["status"] == "RUNNING")
    assert by_ref(execution, "1")["outputs"] == {"who": "ana"}
    assert by_ref(execution, "1")["context"]["variables"][0]["sourceExpression"] == who


async def test_a_false_precondition_names_its_expression_and_the_values_it_read(orca: Orca) -> None:
    written = "${parameters.size == '5' || #currentStage().context['restartDetails'] != null}"
    preconditions = [{"type": "expression", "context": {"expression": written}}]
    config = pipeline(stage("1", "checkPreconditions", preconditions=preconditions), parameterConfig=PARAMETERS)
    execution_id = await orca.start(config, {"type": "manual", "user": "ana", "parameters": {"size": "3"}})
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL"}
    error = by_ref(execution, "1")["context"]["exception"]["details"]["error"]
    assert error == (
        f"Expression {written} is false (parameters.size is '3', #currentStage().context['restartDetails'] is null)"
    )

    await orca.send(RestartStage(execution_id=execution_id, stage_id=by_ref(execution, "1")["id"], authority=ADMIN))
    await orca.until(execution_id, lambda ex: "restartDetails" in by_ref(ex, "1")["context"])
    again = await orca.finished(execution_id)
    assert summary(again) == {"status": "SUCCEEDED", "1": "SUCCEEDED"}, "the restart evaluated it afresh"
