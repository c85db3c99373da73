"""``webhook`` stages against a local aiohttp server that counts its calls: the request, retries on
5xx, fail-fast codes, and waiting for completion by each way of finding the status URL."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from schemas.json_types import Json
from schemas.orca_engine import CancelExecution, PauseExecution, ResumeExecution
from schemas.orca_stages import CallWebhook
from schemas.outbound import OutboundSettings
from tests.authorities import admin
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary
from tests.outbound import LOOPBACK_TEST_SERVERS
from workers.orca.engine.effects.webhook_http import WebhookCalls
from workers.orca.engine.stages import webhook as webhook_stage


@pytest.fixture
def outbound() -> OutboundSettings:
    """The webhooks of this module call the test's own servers on 127.0.0.1."""
    return LOOPBACK_TEST_SERVERS


Reply = Callable[[web.Request, int], web.StreamResponse | Awaitable[web.StreamResponse]]
FAST_RETRY = {"retryBackoffMs": 20, "monitorIntervalMs": 20}


@dataclass
class Hooks:
    """An HTTP server whose routes answer from a script: the n-th call to a path gets the n-th reply
    (the last one again once the script runs out)."""

    base: str = ""
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    calls: dict[str, list[Json]] = field(default_factory=dict)

    def on(self, path: str, *replies: Reply) -> str:
        self.scripts[path] = list(replies)
        return self.base + path

    def count(self, path: str) -> int:
        return len(self.calls.get(path, []))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        seen = self.calls.setdefault(request.path, [])
        body = await request.text()
        seen.append({"method": request.method, "headers": dict(request.headers), "body": body})
        script = self.scripts.get(request.path)
        if not script:
            return web.Response(status=404)
        reply = script[min(len(seen), len(script)) - 1](request, len(seen))
        return await reply if inspect.isawaitable(reply) else reply


def status(code: int, body: Json | None = None, headers: dict[str, str] | None = None) -> Reply:
    return lambda request, n: web.json_response(body or {}, status=code, headers=headers)


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    server = Hooks()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def webhook(url: str, **context: Any) -> Json:
    return stage("1", "webhook", url=url, **{**FAST_RETRY, **context})


async def test_a_webhook_posts_its_payload_and_headers_and_outputs_the_response(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/deploy", status(200, {"ok": True}, {"X-Build": "42"}))
    config = pipeline(webhook(url, payload={"version": "1.2"}, customHeaders={"Authorization": "Bearer t"}))
    execution = await orca.finished(await orca.start(config))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/deploy") == 1
    call = hooks.calls["/deploy"][0]
    assert (call["method"], call["body"]) == ("POST", '{"version": "1.2"}')
    assert call["headers"]["Authorization"] == "Bearer t"
    output = by_ref(execution, "1")["outputs"]["webhook"]
    assert output["statusCode"] == 200
    assert output["body"] == {"ok": True}
    assert output["headers"]["X-Build"] == "42"
    assert by_ref(execution, "1")["context"]["webhook"]["statusCodeValue"] == 200


async def test_a_5xx_is_retried_after_a_backoff_until_it_succeeds(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/flaky", status(503), status(502), status(201, {"id": 7}))
    execution = await orca.finished(await orca.start(pipeline(webhook(url))))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/flaky") == 3
    assert by_ref(execution, "1")["outputs"]["webhook"]["body"] == {"id": 7}


async def test_retries_are_bounded_by_max_attempts(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/down", status(500))
    execution = await orca.finished(await orca.start(pipeline(webhook(url, maxAttempts=3))))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert hooks.count("/down") == 3
    error = by_ref(execution, "1")["context"]["exception"]["details"]["error"]
    assert "giving up after 3 failed attempts" in error


async def test_a_connection_error_is_retried(orca: Orca, hooks: Hooks) -> None:
    execution = await orca.finished(await orca.start(pipeline(webhook("http://127.0.0.1:9/none", maxAttempts=2))))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert "giving up after 2 failed attempts" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]


async def test_a_fail_fast_code_is_terminal_at_once(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/gone", status(503, {"why": "maintenance"}))
    execution = await orca.finished(await orca.start(pipeline(webhook(url, failFastStatusCodes=[503]))))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert hooks.count("/gone") == 1
    output = by_ref(execution, "1")["outputs"]["webhook"]
    assert output["statusCode"] == 503
    assert output["body"] == {"why": "maintenance"}
    assert "fail fast" in output["error"]


async def test_a_4xx_is_terminal_without_retrying(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/bad", status(400))
    execution = await orca.finished(await orca.start(pipeline(webhook(url))))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert hooks.count("/bad") == 1


def monitored(url: str, **context: Any) -> Json:
    return webhook(
        url,
        waitForCompletion=True,
        statusJsonPath="$.run.state",
        progressJsonPath="$.run.message",
        successStatuses="SUCCESS",
        canceledStatuses="ABORTED",
        terminalStatuses="FAILED, ERROR",
        **context,
    )


def state(value: str) -> Reply:
    return status(200, {"run": {"state": value, "message": f"now {value}"}})


@pytest.mark.parametrize(
    ("final", "expected"), [("SUCCESS", "SUCCEEDED"), ("failed", "TERMINAL"), ("ABORTED", "CANCELED")]
)
async def test_get_method_polls_the_same_url_until_a_final_status(
    orca: Orca, hooks: Hooks, final: str, expected: str
) -> None:
    url = hooks.on("/job", state("RUNNING"), state("RUNNING"), state("RUNNING"), state(final))
    config = pipeline(monitored(url, method="GET"))
    execution = await orca.finished(await orca.start(config))

    assert execution["status"] == expected, summary(execution)
    assert by_ref(execution, "1")["status"] == expected
    assert hooks.count("/job") == 4  # one to start, three polls
    monitor = by_ref(execution, "1")["context"]["webhook"]["monitor"]
    assert monitor["progressMessage"] == f"now {final}"


async def test_location_header_polls_the_location_it_names(orca: Orca, hooks: Hooks) -> None:
    hooks.on("/status/9", state("QUEUED"), state("SUCCESS"))
    url = hooks.on("/jobs", status(202, {}, {"Location": "/status/9"}))
    config = pipeline(monitored(url, statusUrlResolution="locationHeader"))
    execution = await orca.finished(await orca.start(config))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert (hooks.count("/jobs"), hooks.count("/status/9")) == (1, 2)
    assert by_ref(execution, "1")["context"]["statusEndpoint"] == hooks.base + "/status/9"


async def test_webhook_response_polls_the_url_found_in_the_body(orca: Orca, hooks: Hooks) -> None:
    poll = hooks.on("/runs/3", state("RUNNING"), state("ERROR"))
    url = hooks.on("/runs", status(200, {"links": [{"self": poll}]}))
    config = pipeline(monitored(url, statusUrlResolution="webhookResponse", statusUrlJsonPath="$.links[0].self"))
    execution = await orca.finished(await orca.start(config))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert hooks.count("/runs/3") == 2
    assert "'ERROR', a terminal status" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]


async def test_a_poll_answering_5xx_is_retried(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/wobbly", state("RUNNING"), status(500), state("SUCCESS"))
    execution = await orca.finished(await orca.start(pipeline(monitored(url, method="GET"))))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/wobbly") == 3


async def test_wait_before_monitor_delays_the_first_poll(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/slow", state("SUCCESS"))
    execution_id = await orca.start(pipeline(monitored(url, method="GET", waitBeforeMonitor=0.5)))
    await orca.until(execution_id, lambda execution: hooks.count("/slow") == 1)
    await asyncio.sleep(0.25)
    assert hooks.count("/slow") == 1
    execution = await orca.finished(execution_id)
    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/slow") == 2


async def test_cancel_while_monitoring_stops_the_polls(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/forever", state("RUNNING"))
    execution_id = await orca.start(pipeline(monitored(url, method="GET")))
    await orca.until(execution_id, lambda execution: hooks.count("/forever") >= 3)

    await orca.send(CancelExecution(execution_id=execution_id, authority=admin("ops")))
    execution = await orca.finished(execution_id)
    assert execution["status"] == "CANCELED", summary(execution)
    await asyncio.sleep(0.1)
    polls = hooks.count("/forever")
    await asyncio.sleep(0.3)
    assert hooks.count("/forever") == polls


async def test_a_bad_setting_fails_the_stage_naming_it(orca: Orca, hooks: Hooks) -> None:
    execution = await orca.finished(await orca.start(pipeline(webhook("ftp://nowhere"))))

    assert execution["status"] == "TERMINAL"
    assert "webhook url must be an http(s) URL" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]


def slow(seconds: float, reply: Reply) -> Reply:
    async def answer(request: web.Request, n: int) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        answered = reply(request, n)
        return await answered if inspect.isawaitable(answered) else answered

    return answer


async def test_a_redelivered_call_does_not_call_twice(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/once", slow(0.3, status(200)))
    execution_id = await orca.start(pipeline(webhook(url)))
    await orca.until(execution_id, lambda execution: hooks.count("/once") == 1)
    running = await orca.get(execution_id)
    repeat = CallWebhook(
        execution_id=execution_id, stage_id=by_ref(running, "1")["id"], task_id="1", attempt=1, url=url
    )

    await orca.send(repeat)
    execution = await orca.finished(execution_id)
    await orca.send(repeat)
    await asyncio.sleep(0.2)

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/once") == 1


async def test_pause_while_monitoring_then_resume(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/paused", state("RUNNING"), state("RUNNING"), state("RUNNING"), state("SUCCESS"))
    execution_id = await orca.start(pipeline(monitored(url, method="GET", monitorIntervalMs=50)))
    await orca.until(execution_id, lambda execution: hooks.count("/paused") >= 2)

    await orca.send(PauseExecution(execution_id=execution_id, authority=admin("ops")))
    await orca.until(execution_id, lambda execution: execution["status"] == "PAUSED")
    await asyncio.sleep(0.1)
    polls = hooks.count("/paused")
    await asyncio.sleep(0.3)
    assert hooks.count("/paused") == polls

    await orca.send(ResumeExecution(execution_id=execution_id, authority=admin("ops")))
    execution = await orca.finished(execution_id)
    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/paused") == 4


async def test_an_attempt_whose_answer_never_comes_is_given_up_and_tried_again(
    orca: Orca, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that claimed a call and died (here: answers too late) leaves it unanswered; after the request
    timeout plus the grace the task counts the attempt failed and makes the next one."""
    original = WebhookCalls.request

    async def request(self: WebhookCalls, command: CallWebhook) -> Json:
        if command.attempt == 1:
            await asyncio.sleep(2)  # past the attempt's deadline: its answer comes too late to count
            return {"statusCode": 500, "error": "too late"}
        return await original(self, command)

    monkeypatch.setattr(WebhookCalls, "request", request)
    monkeypatch.setattr(webhook_stage, "ANSWER_GRACE_MS", 0)
    url = hooks.on("/later", status(200))
    execution = await orca.finished(await orca.start(pipeline(webhook(url, timeoutSeconds=1))))

    assert execution["status"] == "SUCCEEDED", summary(execution)
    assert hooks.count("/later") == 1
    assert by_ref(execution, "1")["context"]["webhookCall"]["attempt"] == 2


async def test_a_request_that_cannot_be_made_is_terminal_without_retrying(orca: Orca, hooks: Hooks) -> None:
    url = hooks.on("/never", status(200))
    execution = await orca.finished(await orca.start(pipeline(webhook(url, customHeaders={"X-Bad": "a\r\nb: c"}))))

    assert execution["status"] == "TERMINAL", summary(execution)
    assert hooks.count("/never") == 0
    assert "invalid webhook request" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]
    assert by_ref(execution, "1")["context"]["webhookCall"]["attempt"] == 1
