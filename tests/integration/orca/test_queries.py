"""Executions are read as Gate reads them: one by id, or an application's / pipeline configs' newest first."""

from __future__ import annotations

from typing import Any

import pytest

from bus.errors import QueryFailed
from schemas.orca_engine import ExecutionList, GetExecution, ListExecutions
from tests.integration.orca.conftest import Orca, pipeline, stage


async def list_executions(orca: Orca, **filters: object) -> list[dict[str, Any]]:
    reply = await orca.bus.ask(ListExecutions.model_validate(filters), timeout=5)
    assert isinstance(reply, ExecutionList)
    return reply.executions


async def test_list_filters_by_application_status_and_config(orca: Orca) -> None:
    first = await orca.start(pipeline(stage("1")))
    await orca.finished(first)
    judged = await orca.start(pipeline(stage("1", "manualJudgment"), id="config-2"))
    await orca.until(judged, lambda e: e["status"] == "RUNNING")
    other = await orca.start(pipeline(stage("1"), application="payments"))
    await orca.finished(other)

    found = await list_executions(orca, application="BILLING")
    assert [e["id"] for e in found] == [judged, first], "newest first, application in any case"
    assert [e["id"] for e in await list_executions(orca, application="billing", limit=1)] == [judged]
    assert [e["id"] for e in await list_executions(orca, application="billing", statuses=["succeeded"])] == [first]
    assert [e["id"] for e in await list_executions(orca, pipeline_config_ids=["config-2"])] == [judged]
    assert found[0]["stages"][0]["type"] == "manualJudgment"


async def test_an_unknown_execution_is_none_and_a_list_needs_a_filter(orca: Orca) -> None:
    reply = await orca.bus.ask(GetExecution(id="01NOPE"), timeout=5)
    assert reply.model_dump() == {"execution": None}
    with pytest.raises(QueryFailed, match="application"):
        await list_executions(orca)
