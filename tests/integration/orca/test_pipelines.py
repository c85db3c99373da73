"""Pipelines run to the status Spinnaker's Orca gives them: linear, parallel, joined."""

from __future__ import annotations

from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary


async def test_a_linear_pipeline_succeeds_with_outputs(orca: Orca) -> None:
    variables = [{"key": "region", "value": "eu-west-1"}, {"key": "size", "value": 3}]
    execution_id = await orca.start(
        pipeline(stage("1", "wait"), stage("2", "evaluateVariables", after=("1",), variables=variables))
    )
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert by_ref(execution, "2")["outputs"] == {"region": "eu-west-1", "size": 3}
    assert execution["type"] == "PIPELINE"
    assert execution["application"] == "billing"
    assert execution["pipelineConfigId"] == "config-1"
    assert execution["startTime"] <= execution["endTime"]
    wait = by_ref(execution, "1")
    assert [task["name"] for task in wait["tasks"]] == ["wait"]
    assert wait["tasks"][0]["status"] == "SUCCEEDED"
    assert wait["endTime"] <= by_ref(execution, "2")["startTime"]
    events = orca.event_types(execution_id)
    assert events[0] == "orca.execution.started"
    assert events[-1] == "orca.execution.completed"
    assert events.count("orca.stage.started") == 2
    assert events.count("orca.stage.completed") == 2


async def test_parallel_branches_join(orca: Orca) -> None:
    execution_id = await orca.start(
        pipeline(
            stage("1"),
            stage("2", after=("1",), waitTime=0.2),
            stage("3", after=("1",)),
            stage("4", after=("2", "3")),
        )
    )
    execution = await orca.finished(execution_id)
    assert execution["status"] == "SUCCEEDED"
    join = by_ref(execution, "4")
    assert join["startTime"] >= by_ref(execution, "2")["endTime"]
    assert join["startTime"] >= by_ref(execution, "3")["endTime"]
    assert by_ref(execution, "2")["endTime"] - by_ref(execution, "2")["startTime"] >= 200


async def test_unknown_stage_type_fails_the_pipeline_naming_it(orca: Orca) -> None:
    execution_id = await orca.start(pipeline(stage("1", "teleport"), stage("2", after=("1",))))
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL", "2": "NOT_STARTED"}
    assert "teleport" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]
