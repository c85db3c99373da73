"""Clouddriver's client tokens (AWS ``ClientToken``) name the journalled operation and its step: the
same for every run of one attempt (a resumed or redelivered one), another for any other call."""

from __future__ import annotations

from typing import Any

from schemas.orca_engine import RunExternalTask
from tests.authorities import ADMIN
from workers.clouddriver.accounts import AccountCatalogue
from workers.clouddriver.operations.base import OperationRun
from workers.clouddriver.provider import ProviderRegistry, no_progress


def run(attempt: int = 1, state: dict[str, Any] | None = None) -> OperationRun:
    command = RunExternalTask(
        execution_id="01EXEC",
        stage_id="01STAGE",
        task_id="1",
        attempt=attempt,
        application="hello",
        stage_type="createServerGroup",
        authority=ADMIN,
    )

    journal = dict(state or {})

    async def record(decisions: dict[str, Any]) -> None:
        journal.update(decisions)

    return OperationRun(command, AccountCatalogue([]), ProviderRegistry(), no_progress, dict(journal), record)


def test_a_resumed_run_of_an_attempt_calls_with_the_first_runs_token() -> None:
    first, resumed = run(), run(state={"create:us-east-1": {"name": "hello-v000"}})
    assert first.client_token("create:us-east-1") == resumed.client_token("create:us-east-1")
    assert len(first.client_token("create:us-east-1")) <= 64  # EC2's limit


def test_another_step_or_attempt_has_a_token_of_its_own() -> None:
    tokens = {
        run().client_token("create:us-east-1"),
        run().client_token("create:eu-west-1"),
        run(attempt=2).client_token("create:us-east-1"),
    }
    assert len(tokens) == 3
