"""A webhook call claimed by a worker that died before storing the answer (found by the chaos test):
its redelivered command does not call again, but makes the task give the attempt up once the
request's timeout has surely passed, instead of the longer deadline of a command still queued. The
call made again carries the first one's ``Idempotency-Key``, so the endpoint can drop it."""

from __future__ import annotations

import pytest

from schemas.idempotency import HEADER
from schemas.json_types import Json
from schemas.orca_stages import CallWebhook
from schemas.outbound import OutboundSettings
from tests.integration.orca.conftest import Orca, by_ref, pipeline, summary
from tests.integration.orca.test_webhook import Hooks, hooks, status, webhook
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.orca.engine.effects.webhook_http import WebhookCalls
from workers.orca.engine.stages import webhook as webhook_stage


@pytest.fixture
def outbound() -> OutboundSettings:
    """The webhooks of this module call the test's own servers on 127.0.0.1."""
    return LOOPBACK_TEST_SERVERS


__all__ = ["hooks"]  # the fixture


async def test_a_call_whose_claimer_died_is_given_up_after_its_timeout_and_made_again(
    orca: Orca, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = WebhookCalls.request
    died: list[int] = []

    async def die_after_the_first_call(self: WebhookCalls, command: CallWebhook) -> Json:
        answer = await original(self, command)
        if not died:
            died.append(command.attempt)
            raise RuntimeError("the worker died after making the call, before storing its answer")
        return answer

    monkeypatch.setattr(WebhookCalls, "request", die_after_the_first_call)
    monkeypatch.setattr(webhook_stage, "CLAIMED_GRACE_MS", 200)
    url = hooks.on("/deploy", status(200))
    execution = await orca.finished(await orca.start(pipeline(webhook(url, timeoutSeconds=1))), timeout=8)

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert died == [1]
    call = by_ref(execution, "1")["context"]["webhookCall"]
    assert (call["attempt"], call["failures"]) == (2, 1)
    assert hooks.count("/deploy") == 2  # one request per attempt: the redelivery did not call again
    first, repeated = (call["headers"][HEADER] for call in hooks.calls["/deploy"])
    assert first == repeated == f'"{call["idempotencyKey"]}"'
