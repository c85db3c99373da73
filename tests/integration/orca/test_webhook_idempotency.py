"""The ``Idempotency-Key`` of ``webhook`` stage calls: the same on every retry of the same request of
the same stage attempt (so the endpoint can drop a repeat), a new one for each poll and for a
restarted stage, never over the user's own; and every retry logged with its reason."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from schemas.idempotency import HEADER, parse_header
from schemas.orca_engine import RestartStage
from schemas.outbound import OutboundSettings
from tests.authorities import admin
from tests.integration.orca.conftest import Orca, by_ref, pipeline, summary
from tests.integration.orca.test_webhook import Hooks, hooks, monitored, state, status, webhook
from tests.outbound import LOOPBACK_TEST_SERVERS


@pytest.fixture
def outbound() -> OutboundSettings:
    """The webhooks of this module call the test's own servers on 127.0.0.1."""
    return LOOPBACK_TEST_SERVERS


__all__ = ["hooks"]  # the fixture


def keys(hooks: Hooks, path: str) -> list[str]:
    return [parse_header(call["headers"][HEADER]) for call in hooks.calls[path]]


async def test_every_retry_of_a_call_carries_its_first_key_and_is_logged_with_its_reason(
    orca: Orca, hooks: Hooks
) -> None:
    url = hooks.on("/flaky", status(503), status(429), status(200))
    with capture_logs() as logs:
        execution = await orca.finished(await orca.start(pipeline(webhook(url))))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    sent = keys(hooks, "/flaky")
    assert len(sent) == 3 and len(set(sent)) == 1
    assert all(call["headers"][HEADER] == f'"{sent[0]}"' for call in hooks.calls["/flaky"])  # a structured string
    assert by_ref(execution, "1")["context"]["webhookCall"]["idempotencyKey"] == sent[0]
    retried = [entry for entry in logs if entry["event"] == "webhook call retried"]
    assert [(entry["attempt"], entry["reason"]) for entry in retried] == [
        (2, "the webhook answered with status code 503"),
        (3, "the webhook answered with status code 429"),
    ]
    assert {entry["idempotency_key"] for entry in retried} == {sent[0]}


async def test_each_poll_is_a_request_of_its_own_and_a_failed_poll_keeps_its_key(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/job", state("RUNNING"), state("RUNNING"), status(500), state("SUCCESS"))
    execution = await orca.finished(await orca.start(pipeline(monitored(url, method="GET"))))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    start, first_poll, failed_poll, retried_poll = keys(hooks, "/job")
    assert failed_poll == retried_poll  # the same request tried again
    assert len({start, first_poll, failed_poll}) == 3  # the create, and two polls


async def test_the_users_own_idempotency_key_is_sent_as_given(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/own", status(200))
    config = pipeline(webhook(url, customHeaders={"idempotency-key": "build-42"}))
    execution = await orca.finished(await orca.start(config))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    sent = [{name.lower(): value for name, value in call["headers"].items()} for call in hooks.calls["/own"]]
    assert [headers["idempotency-key"] for headers in sent] == ["build-42"]


async def test_a_restarted_stage_calls_with_a_new_key(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/deploy", status(400), status(200))
    config: dict[str, Any] = pipeline(webhook(url))
    other = hooks.on("/other", status(200))
    config["stages"].append({**webhook(other), "refId": "2", "name": "second", "requisiteStageRefIds": ["1"]})
    execution_id = await orca.start(config)
    failed = await orca.finished(execution_id)
    assert failed["status"] == "TERMINAL", summary(failed)

    restart = RestartStage(execution_id=execution_id, stage_id=by_ref(failed, "1")["id"], authority=admin("ops"))
    await orca.send(restart)
    await orca.until(execution_id, lambda e: e["status"] == "SUCCEEDED")

    first, restarted = keys(hooks, "/deploy")
    assert len({first, restarted, *keys(hooks, "/other")}) == 3
