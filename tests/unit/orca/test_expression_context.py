"""What a stage's expressions see, rule by rule, against Orca's ``ContextParameterProcessor`` and
``StageContext``: its own context first, then ``execution``/``trigger``/``parameters``, then the
outputs of its ancestors, nearest first — never a parallel branch's or a later stage's."""

from __future__ import annotations

from typing import Any

import pytest

from workers.orca.engine.expression_language import SUMMARY_KEY, SpelExpressions
from workers.orca.engine.model import Execution
from workers.orca.expressions import ExpressionError, evaluate, process, stage_root
from workers.orca.expressions.ancestors import ancestors


def _stage(stage_id: str, ref_id: str, *requisites: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": stage_id,
        "refId": ref_id,
        "type": fields.pop("type", "wait"),
        "name": fields.pop("name", stage_id),
        "requisiteStageRefIds": list(requisites),
        "context": fields.pop("context", {}),
        "outputs": fields.pop("outputs", {}),
        **fields,
    }


# 1 vars ─► 3 mid ─► 4 deploy (4<1 before, 4>1 after) ─► 5 check ─► 6 later
# 2 other (a parallel branch) ─┐
# 3 mid ───────────────────────┴► 7 join
STAGES = [
    _stage(
        "vars",
        "1",
        type="evaluateVariables",
        name="Vars",
        outputs={
            "greeting": "hello",
            "shared": "from-1",
            "deep": "from-1",
            "execution": "an output may not shadow the execution",
            "trigger": "nor the trigger",
            "parameters": {"env": "nor the parameters"},
            "scmInfo": "nor scmInfo",
        },
    ),
    _stage("other", "2", outputs={"branch": "parallel", "shared": "from-2"}),
    _stage("mid", "3", "1", outputs={"shared": "from-3"}),
    _stage("deploy", "4", "3", type="deploy", outputs={"fromDeploy": "d"}),
    _stage(
        "deploy-before", "4<1", parentStageId="deploy", syntheticStageOwner="STAGE_BEFORE", outputs={"before": "b1"}
    ),
    _stage("deploy-after", "4>1", parentStageId="deploy", syntheticStageOwner="STAGE_AFTER", outputs={"after": "a1"}),
    _stage(
        "deploy-after-2",
        "4>2",
        "4>1",
        parentStageId="deploy",
        syntheticStageOwner="STAGE_AFTER",
        outputs={"secondAfter": "a2"},
    ),
    _stage(
        "check",
        "5",
        "4",
        context={"region": "own-context", "expected": "hello"},
        outputs={"mine": "own-output", "region": "an output never wins over the context"},
    ),
    _stage("later", "6", "5", outputs={"late": "never seen upstream"}),
    _stage("join", "7", "2", "3"),
]
EXECUTION: dict[str, Any] = {
    "id": "01EXEC",
    "application": "shop",
    "name": "Deploy",
    "status": "RUNNING",
    "authentication": {"user": "ana@example.com", "allowedAccounts": ["prod"]},
    "trigger": {"type": "manual", "user": "ana@example.com", "parameters": {"env": "prod"}},
    "templateVariables": {"team": "payments"},
    "stages": STAGES,
}


def _root(stage_id: str) -> dict[str, Any]:
    return stage_root(next(s for s in STAGES if s["id"] == stage_id), EXECUTION)


@pytest.mark.parametrize(
    ("stage_id", "expression", "expected"),
    [
        # the issue: a variable set two stages before is seen by bare name
        ("check", "greeting == 'hello'", True),
        ("check", "greeting == expected", True),
        # the nearest ancestor that has the name wins
        ("check", "shared", "from-3"),
        ("mid", "shared", "from-3"),  # its own outputs are the nearest
        ("mid", "greeting + '/' + deep", "hello/from-1"),
        # the stage's own context wins over every output, its own outputs over its ancestors'
        ("check", "region", "own-context"),
        ("check", "mine", "own-output"),
        # the synthetic stages a required stage owns count, before and after alike
        ("check", "before + '/' + after + '/' + secondAfter", "b1/a1/a2"),
        ("check", "fromDeploy", "d"),
        # a join sees both branches; on a tie the first in the execution's stage order wins
        ("join", "branch + '/' + shared + '/' + greeting", "parallel/from-2/hello"),
        # an after stage sees its parent's before stages, its parent and the parent's ancestors
        ("deploy-after", "before + '/' + fromDeploy + '/' + shared", "b1/d/from-3"),
        # a synthetic stage after its siblings sees them through its requisites, then the parent's
        ("deploy-after-2", "after + '/' + shared", "a1/from-3"),
        # a before stage sees its parent and upstream, not the after stages
        ("deploy-before", "fromDeploy + '/' + shared", "d/from-3"),
        ("deploy-before", "#root['after']", None),
        # Orca's own names are never shadowed by an output
        ("check", "execution.id", "01EXEC"),
        ("check", "trigger.user", "ana@example.com"),
        ("check", "parameters.env", "prod"),
        ("check", "scmInfo", None),
        ("check", "templateVariables.team", "payments"),
        # Map.get of a name nobody has is null; .name of it is an error (see below)
        ("check", "#root['late']", None),
        ("check", "#root['branch']", None),
        # the helpers that find stages read the whole execution, whatever the DAG
        ("check", "#stage('Vars').outputs.greeting", "hello"),
        ("check", "#stage('later').outputs.late", "never seen upstream"),
        ("check", "#stageByRefId('2').outputs.branch", "parallel"),
        ("check", "#currentUser()", "ana@example.com"),
    ],
)
def test_a_stage_sees(stage_id: str, expression: str, expected: Any) -> None:
    assert evaluate(expression, _root(stage_id), current_stage_id=stage_id) == expected


@pytest.mark.parametrize(
    ("stage_id", "name", "why"),
    [
        ("check", "branch", "a parallel branch's output"),
        ("check", "late", "a later stage's output"),
        ("vars", "branch", "a stage with no requisites sees no other stage"),
        ("other", "greeting", "a stage with no requisites sees no other stage"),
        ("deploy-before", "after", "a before stage does not see the after stages"),
    ],
)
def test_a_stage_does_not_see(stage_id: str, name: str, why: str) -> None:
    with pytest.raises(ExpressionError, match=f"property '{name}' not found"):
        evaluate(name, _root(stage_id))


def test_ancestors_are_in_orcas_order_with_the_stage_first() -> None:
    check = next(s for s in STAGES if s["id"] == "check")
    assert [s["id"] for s in ancestors(check, STAGES)] == [
        "check",
        "deploy",
        "deploy-before",
        "deploy-after",
        "deploy-after-2",
        "mid",
        "vars",
    ]


def test_a_cycle_of_parents_ends_the_walk() -> None:
    looped = [
        _stage("a", "1", parentStageId="b", syntheticStageOwner="STAGE_BEFORE", outputs={"x": 1}),
        _stage("b", "2", parentStageId="a", syntheticStageOwner="STAGE_BEFORE", outputs={"y": 2}),
    ]
    assert [s["id"] for s in ancestors(looped[0], looped)] == ["a", "b"]


def test_the_stage_itself_need_not_be_in_the_list() -> None:
    """Callers may pass a copy of the stage; its requisites still find the stored stages."""
    copy = _stage("copy", "9", "5")
    assert evaluate("mine + '/' + greeting", stage_root(copy, EXECUTION)) == "own-output/hello"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # a whole value that is one expression becomes that expression's typed value
        ("${greeting}", "hello"),
        ("${ 40 + 2 }", 42),
        ("${parameters}", {"env": "prod"}),
        ("${greeting == 'hello'}", True),
        # text around expressions stays text, each part rendered as Java would
        ("say ${greeting} ${2 * 1.5}", "say hello 3.0"),
        ("${greeting}${greeting}", "hellohello"),
        # a null value keeps its text as written, alone or inside a longer string (as in Orca)
        ("${#root['nobody']}", "${#root['nobody']}"),
        ("v-${#root['nobody']}-${greeting}", "v-${#root['nobody']}-hello"),
        # no ${ is no expression
        ("greeting", "greeting"),
    ],
)
def test_strings_and_whole_values(source: str, expected: Any) -> None:
    result = process({"value": source}, _root("check"))
    assert result.value == {"value": expected}
    assert not result.failed


def test_a_failure_is_recorded_under_its_expression_and_the_text_kept() -> None:
    source = {"steps": [{"url": "https://ci/${branch}/x"}], "fine": "${greeting}"}
    result = process(source, _root("check"), clock=lambda: 1_700_000_000_000)
    assert result.value == {"steps": [{"url": "https://ci/${branch}/x"}], "fine": "hello"}
    assert result.failed
    [entry] = result.summary["branch"]
    assert entry["level"] == "ERROR"
    assert entry["exceptionType"] == "ExpressionError"
    assert entry["timestamp"] == 1_700_000_000_000
    assert entry["description"].startswith("Failed to evaluate [steps[0].url] property 'branch' not found")


def test_a_null_is_recorded_at_info_and_is_no_failure() -> None:
    result = process({"tag": "v-${#root['nobody']}"}, _root("check"))
    assert [entry["level"] for entry in result.summary["#root['nobody']"]] == ["INFO"]
    assert not result.failed


def test_a_stage_started_again_keeps_only_the_latest_evaluations_summary() -> None:
    """Orca drops errors of an earlier evaluation that now succeeds, so the UI shows no stale failure."""
    execution = Execution.model_validate({**EXECUTION, "buildTime": 1})
    stage = execution.stage("check")
    assert stage is not None
    stale = {"greeting": [{"description": "Failed to evaluate greeting", "level": "ERROR"}]}
    stage.context = {"message": "${greeting}", SUMMARY_KEY: stale}
    processed = SpelExpressions().process(execution, stage)
    assert processed.context == {"message": "hello"}
    assert processed.summary == {} and processed.failure is None

    stage.context = {"message": "${branch}", SUMMARY_KEY: stale}
    processed = SpelExpressions().process(execution, stage)
    assert list(processed.summary) == ["branch"]
    assert processed.failure is not None and "property 'branch' not found" in processed.failure


def test_evaluate_variables_keeps_each_source_so_a_restart_evaluates_it_afresh() -> None:
    """Orca's ``saveSourceExpression``: the evaluated variable remembers what its author wrote."""
    execution = Execution.model_validate({**EXECUTION, "buildTime": 1})
    stage = execution.stage("check")
    assert stage is not None
    stage.type = "evaluateVariables"
    stage.context = {"variables": [{"key": "seen", "value": "${shared}"}, {"key": "plain", "value": "text"}]}
    first = SpelExpressions().process(execution, stage)
    assert first.context["variables"] == [
        {"key": "seen", "value": "from-3", "sourceExpression": "${shared}"},
        {"key": "plain", "value": "text"},
    ]
    upstream = execution.stage("mid")
    assert upstream is not None
    upstream.outputs = {"shared": "changed upstream"}
    stage.context = first.context  # as stored; a restart starts the stage with it again
    again = SpelExpressions().process(execution, stage)
    assert again.context["variables"][0] == {
        "key": "seen",
        "value": "changed upstream",
        "sourceExpression": "${shared}",
    }


def test_a_stage_at_the_end_of_a_long_chain_sees_the_first_stages_outputs() -> None:
    """The walk keeps its own stack: 5,000 stages in a row do not exhaust Python's recursion limit."""
    chain = [_stage(f"s{n}", str(n), *([str(n - 1)] if n else []), outputs={"n": n}) for n in range(5_000)]
    chain[0]["outputs"] = {"first": "found"}
    assert len(ancestors(chain[-1], chain)) == 5_000
    assert evaluate("first + '/' + n", stage_root(chain[-1], {"id": "e", "stages": chain})) == "found/4999"
