"""``webhook``: call an HTTP endpoint and, with ``waitForCompletion``, poll it until it says done
(Orca's ``WebhookStage``: ``createWebhook`` then ``monitorWebhook``).

The tasks never touch the network: each decides the next request and records it in the stage's
context (``webhookCall``) in the same write that sends ``orca.CallWebhook`` to Orca itself
(:mod:`workers.orca.engine.effects.webhook_http` makes the call and records the response). Every
wait — the retry backoff, ``waitBeforeMonitor``, the polling interval — is a durable timer, so a
canceled stage polls no more and a restarted worker carries on.

``createWebhook``: ``method`` (POST), ``url``, ``customHeaders``, ``payload``. A 2xx/3xx succeeds;
a code in ``failFastStatusCodes`` is TERMINAL at once; 5xx, 429, a code in ``retryStatusCodes``, a
connection error or a timeout is tried again after ``retryBackoffMs`` (10 s, Orca's backoff) up to
``maxAttempts`` attempts in all (30, Orca's five minutes); any other code is TERMINAL.
With ``waitForCompletion`` the status URL is resolved by ``statusUrlResolution``: ``getMethod``
(the same ``url``), ``locationHeader`` (the response's ``Location``) or ``webhookResponse`` (the
value at ``statusUrlJsonPath`` in its body) and kept as ``statusEndpoint``.

``monitorWebhook``: after ``waitBeforeMonitor`` seconds, GET ``statusEndpoint`` every
``monitorIntervalMs`` (1 s) and read ``statusJsonPath``; a value in ``successStatuses``,
``canceledStatuses`` or ``terminalStatuses`` (comma-separated, case-insensitive) ends the stage
SUCCEEDED, CANCELED or TERMINAL. ``progressJsonPath`` is reported as ``progressMessage``.
Retryable failures of a poll are retried as above, ``maxAttempts`` in a row.

Every request carries an ``Idempotency-Key`` header (unless ``customHeaders`` set one): the same
on every retry of the same request of the same stage attempt (derived from the execution, stage,
task, the task's run and which request it is — each poll is a request of its own), also when a
worker died after making it and the next attempt makes it again; a restarted stage gets new keys.
It is kept in ``webhookCall.idempotencyKey``.

The response is the stage's ``webhook`` (context and outputs, as Orca): ``statusCode``,
``statusCodeValue``, ``body`` (parsed when JSON), ``headers``, ``error``, ``statusEndpoint`` and
``monitor`` (the last poll's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from schemas import idempotency
from schemas.json_types import Json
from schemas.orca_stages import CallWebhook
from workers.orca.engine.model import Stage
from workers.orca.engine.stages import calls
from workers.orca.engine.stages.base import Outbound, TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.stages.json_path import JsonPathError, read
from workers.orca.engine.status import ExecutionStatus

CALL_KEY = "webhookCall"
OUTPUT_KEY = "webhook"
RESOLUTIONS = ("getMethod", "locationHeader", "webhookResponse")
ANSWER_GRACE_MS = 30_000
"""How long past the request timeout a missing answer counts as a lost call (a worker died), counted
from when the call was sent: its command may wait in a queue for a while first."""
CLAIMED_GRACE_MS = 10_000
"""The same, counted from when a handler claimed the call: its request ends within its timeout, and
the answer is stored soon after unless the handler died."""


@dataclass(frozen=True)
class WebhookConfig:
    """A ``webhook`` stage's settings, read from its context (after expressions)."""

    url: str
    method: str
    headers: dict[str, str]
    payload: Any
    wait_for_completion: bool
    fail_fast: frozenset[int]
    retry_codes: frozenset[int]
    retry_backoff_ms: int
    max_attempts: int
    timeout_seconds: float
    monitor_interval_ms: int
    wait_before_monitor_ms: int
    status_url_resolution: str
    status_url_json_path: str | None
    status_json_path: str | None
    progress_json_path: str | None
    success: frozenset[str]
    canceled: frozenset[str]
    terminal: frozenset[str]

    @classmethod
    def of(cls, context: Json) -> WebhookConfig:
        """The settings in ``context``; :class:`ValueError` naming the setting that is wrong."""
        url = context.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must be an http(s) URL, not {url!r}")
        resolution = str(context.get("statusUrlResolution") or "getMethod")
        if resolution not in RESOLUTIONS:
            raise ValueError(f"statusUrlResolution must be one of {', '.join(RESOLUTIONS)}, not {resolution!r}")
        wait = _bool(context.get("waitForCompletion"))
        if wait and not context.get("statusJsonPath"):
            raise ValueError("waitForCompletion needs statusJsonPath (where the status is in the response)")
        if wait and resolution == "webhookResponse" and not context.get("statusUrlJsonPath"):
            raise ValueError("statusUrlResolution webhookResponse needs statusUrlJsonPath")
        return cls(
            url=url,
            method=str(context.get("method") or "POST").upper(),
            headers=_headers(context.get("customHeaders")),
            payload=context.get("payload"),
            wait_for_completion=wait,
            fail_fast=_codes(context.get("failFastStatusCodes"), "failFastStatusCodes"),
            retry_codes=_codes(context.get("retryStatusCodes"), "retryStatusCodes") | {429},
            retry_backoff_ms=_number(context, "retryBackoffMs", 10_000),
            max_attempts=max(1, _number(context, "maxAttempts", 30)),
            timeout_seconds=float(_number(context, "timeoutSeconds", 30)) or 30.0,
            monitor_interval_ms=_number(context, "monitorIntervalMs", 1_000),
            wait_before_monitor_ms=int(float(context.get("waitBeforeMonitor") or 0) * 1000),
            status_url_resolution=resolution,
            status_url_json_path=context.get("statusUrlJsonPath"),
            status_json_path=context.get("statusJsonPath"),
            progress_json_path=context.get("progressJsonPath") or None,
            success=_statuses(context.get("successStatuses")),
            canceled=_statuses(context.get("canceledStatuses")),
            terminal=_statuses(context.get("terminalStatuses")),
        )

    def retryable(self, answer: Json) -> bool:
        code = answer.get("statusCode")
        if answer.get("retryable") is False:
            return False
        return code is None or code >= 500 or code in self.retry_codes


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    payload: Any = None


Judge = Callable[[Json], TaskResult | None]
"""What an answer means: a final result, or ``None`` for "ask again after the interval"."""


class _WebhookTask:
    """The call-and-judge loop both tasks share; subclasses say what to ask and how to judge."""

    name = "webhook"

    def run(self, run: TaskRun) -> TaskResult:
        try:
            config = WebhookConfig.of(run.stage.context)
        except (TypeError, ValueError) as error:
            return TaskResult.terminal(str(error))
        call = calls.current(run.stage, run.task, CALL_KEY)
        if call is None:
            early = self.first_delay(run, config)
            if early > 0:
                return TaskResult.running(backoff_ms=early)
            return self._send(run, config, attempt=1, failures=0, previous=None)
        answer = call.get("answer")
        context: Json = {}
        if answer is None:
            overdue_in = _answer_due(call, config) - run.now
            if overdue_in > 0:
                return TaskResult.running(backoff_ms=overdue_in)
            lost = f"no answer to attempt {call['attempt']} of the webhook call in time (the worker making it stopped?)"
            answer = {"statusCode": None, "error": lost}
            call = {**call, "answer": answer}
            context[CALL_KEY] = call
        if call.get("nextAt") is not None:
            if call["nextAt"] > run.now:
                return TaskResult.running(backoff_ms=call["nextAt"] - run.now)
            return self._send(run, config, attempt=call["attempt"] + 1, failures=call["failures"], previous=call)
        failed = answer.get("error") is not None or not _ok(answer)
        if failed and answer.get("statusCode") in config.fail_fast:
            return self._final(
                run, answer, TaskResult.terminal("Received a status code configured to fail fast, terminating stage.")
            )
        if failed and config.retryable(answer):
            failures = call["failures"] + 1
            if failures >= config.max_attempts:
                reason = f"{self.name}: giving up after {failures} failed attempts: {_describe(answer)}"
                return self._final(run, answer, TaskResult.terminal(reason))
            delay = config.retry_backoff_ms
        elif failed:
            return self._final(run, answer, TaskResult.terminal(f"{self.name}: {_describe(answer)}"))
        else:
            result = self.judge(run, config, answer)
            if result is not None:
                return self._final(run, answer, result)
            failures, delay = 0, config.monitor_interval_ms
        context[CALL_KEY] = {**call, "failures": failures, "nextAt": run.now + delay}
        context[OUTPUT_KEY] = self.output(run, answer, {})
        return TaskResult(ExecutionStatus.RUNNING, context=context, backoff_ms=delay)

    # --- what subclasses say ------------------------------------------------------------------

    def first_delay(self, run: TaskRun, config: WebhookConfig) -> int:
        return 0

    def request(self, run: TaskRun, config: WebhookConfig) -> Request:
        raise NotImplementedError

    def judge(self, run: TaskRun, config: WebhookConfig, answer: Json) -> TaskResult | None:
        raise NotImplementedError

    def output(self, run: TaskRun, answer: Json, extra: Json) -> Json:
        raise NotImplementedError

    # --- shared moves ---------------------------------------------------------------------------

    def _send(
        self, run: TaskRun, config: WebhookConfig, *, attempt: int, failures: int, previous: Json | None
    ) -> TaskResult:
        """Send attempt ``attempt``; ``failures`` > 0 makes it a retry of ``previous``'s request (the same
        idempotency key), else it is the next request (a poll after a poll that said "not yet")."""
        request = self.request(run, config)
        number = 1 if previous is None else int(previous.get("request") or 1) + (0 if failures else 1)
        key = idempotency.derive(
            "orca.webhook", run.execution.id, run.stage.id, run.task.id, run.task.start_time, number
        )
        retry_reason = _describe(previous.get("answer") or {}) if previous is not None and failures else None
        command = CallWebhook(
            execution_id=run.execution.id,
            stage_id=run.stage.id,
            task_id=run.task.id,
            attempt=attempt,
            method=request.method,
            url=request.url,
            headers=config.headers,
            payload=request.payload,
            timeout_seconds=config.timeout_seconds,
            idempotency_key=key,
            retry_reason=retry_reason,
        )
        record = calls.sent(
            run.task,
            attempt,
            run.now,
            failures,
            url=request.url,
            method=request.method,
            request=number,
            idempotencyKey=key,
        )
        return TaskResult(
            ExecutionStatus.RUNNING,
            context={CALL_KEY: record},
            backoff_ms=int(config.timeout_seconds * 1000) + ANSWER_GRACE_MS,
            send=(Outbound(command, to="orca"),),
            attempt=attempt,
        )

    def _final(self, run: TaskRun, answer: Json, result: TaskResult) -> TaskResult:
        extra: Json = {}
        if result.error:
            extra["error"] = result.error
        webhook = self.output(run, answer, {**extra, **result.context.get(OUTPUT_KEY, {})})
        context = {**result.context, OUTPUT_KEY: webhook}
        outputs = {**result.outputs, OUTPUT_KEY: webhook}
        return TaskResult(result.status, context=context, outputs=outputs, error=result.error)


class CreateWebhookTask(_WebhookTask):
    """Orca's ``CreateWebhookTask``: make the request, retrying what may pass on a second try."""

    name = "createWebhook"

    def request(self, run: TaskRun, config: WebhookConfig) -> Request:
        return Request(config.method, config.url, config.payload)

    def judge(self, run: TaskRun, config: WebhookConfig, answer: Json) -> TaskResult | None:
        if not config.wait_for_completion:
            return TaskResult.succeeded()
        try:
            endpoint = _status_url(config, answer)
        except (JsonPathError, ValueError) as error:
            return TaskResult.terminal(f"Exception while resolving status check URL: {error}")
        if not endpoint:
            return TaskResult.terminal("The status URL couldn't be resolved, but 'Wait for completion' was checked")
        return TaskResult.succeeded(context={"statusEndpoint": endpoint, OUTPUT_KEY: {"statusEndpoint": endpoint}})

    def output(self, run: TaskRun, answer: Json, extra: Json) -> Json:
        return {**_response(answer), **extra}


class MonitorWebhookTask(_WebhookTask):
    """Orca's ``MonitorWebhookTask``: poll ``statusEndpoint`` until its status says done."""

    name = "monitorWebhook"

    def first_delay(self, run: TaskRun, config: WebhookConfig) -> int:
        return (run.task.start_time or run.now) + config.wait_before_monitor_ms - run.now

    def request(self, run: TaskRun, config: WebhookConfig) -> Request:
        return Request("GET", str(run.stage.context.get("statusEndpoint") or config.url))

    def judge(self, run: TaskRun, config: WebhookConfig, answer: Json) -> TaskResult | None:
        assert config.status_json_path is not None
        body = answer.get("body")
        try:
            status = str(read(config.status_json_path, body)).strip().upper()
        except JsonPathError as error:
            return TaskResult.terminal(f"monitorWebhook: statusJsonPath: {error}")
        if status in config.success:
            return TaskResult.succeeded()
        if status in config.canceled:
            return TaskResult(ExecutionStatus.CANCELED, error=f"the webhook reported {status!r}, a canceled status")
        if status in config.terminal:
            return TaskResult.terminal(f"the webhook reported {status!r}, a terminal status")
        return None

    def output(self, run: TaskRun, answer: Json, extra: Json) -> Json:
        config = WebhookConfig.of(run.stage.context)
        monitor = {**_response(answer), **extra}
        if config.progress_json_path:
            with contextlib.suppress(JsonPathError):
                monitor["progressMessage"] = read(config.progress_json_path, answer.get("body"))
        existing = run.stage.context.get(OUTPUT_KEY)
        return {**(existing if isinstance(existing, dict) else {}), "monitor": monitor}


class WebhookStage:
    type = "webhook"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        if _bool(stage.context.get("waitForCompletion")):
            return (CreateWebhookTask(), MonitorWebhookTask())
        return (CreateWebhookTask(),)


# --- reading the context and the answer ---------------------------------------------------------------


def _answer_due(call: Json, config: WebhookConfig) -> int:
    """When a call still unanswered counts as lost: after its timeout and a grace, counted from its
    claim when a handler claimed it, else from when it was sent."""
    timeout_ms = int(config.timeout_seconds * 1000)
    due: int = call["sentAt"] + timeout_ms + ANSWER_GRACE_MS
    if call.get("claimedAt") is not None:
        due = min(due, call["claimedAt"] + timeout_ms + CLAIMED_GRACE_MS)
    return due


def _ok(answer: Json) -> bool:
    code = answer.get("statusCode")
    return isinstance(code, int) and 200 <= code < 400


def _describe(answer: Json) -> str:
    if answer.get("error"):
        return str(answer["error"])
    return f"the webhook answered with status code {answer.get('statusCode')}"


def _response(answer: Json) -> Json:
    response: Json = {}
    if answer.get("statusCode") is not None:
        response["statusCode"] = answer["statusCode"]
        response["statusCodeValue"] = answer["statusCode"]
    for key in ("body", "headers", "error"):
        if answer.get(key) is not None:
            response[key] = answer[key]
    return response


def _status_url(config: WebhookConfig, answer: Json) -> str | None:
    if config.status_url_resolution == "getMethod":
        return config.url
    if config.status_url_resolution == "locationHeader":
        headers = {str(key).lower(): value for key, value in (answer.get("headers") or {}).items()}
        location = headers.get("location")
        return urljoin(config.url, str(location)) if location else None
    assert config.status_url_json_path is not None
    found = read(config.status_url_json_path, answer.get("body"))
    return urljoin(config.url, str(found)) if found else None


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _number(context: Json, key: str, default: int) -> int:
    value = context.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{key} must be a number, not {value!r}")
    try:
        return max(0, int(float(value)))
    except ValueError:
        raise ValueError(f"{key} must be a number, not {value!r}") from None


def _codes(value: Any, key: str) -> frozenset[int]:
    if value in (None, ""):
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{key} must be a list of HTTP status codes, not {value!r}")
    try:
        return frozenset(int(str(item).strip()) for item in items)
    except ValueError:
        raise ValueError(f"{key} must be a list of HTTP status codes, not {value!r}") from None


def _statuses(value: Any) -> frozenset[str]:
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    return frozenset(part.strip().upper() for part in str(value or "").split(",") if part.strip())


def _headers(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"customHeaders must be an object of header → value, not {value!r}")
    return {
        str(name): ", ".join(str(v) for v in item) if isinstance(item, list) else str(item)
        for name, item in value.items()
    }
