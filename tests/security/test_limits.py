"""An attacker's view of what one request can make the system do: numbers out of range, huge bodies.

Each bound is tried at and over its limit, through the real gateway and Front50 on the MemoryBus,
and numbers out of range are also put on the bus directly (MemoryBus and RabbitMQ): they are
dead-lettered naming the field, never handed to a worker.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from bus import Endpoint, MemoryBus
from bus.json_limits import INT64_MAX, INT64_MIN
from gateway.app import create_app
from gateway.auth import AuthConfig, OidcConfig, StaticUser, hash_token
from gateway.auth.throttle import FailureThrottle
from gateway.config import GatewayConfig
from tests.contract.conftest import Harness, harness
from tests.contract.messages import DoWork
from tests.integration.gate.conftest import System, start_system

__all__ = ["harness"]  # the contract suite's fixture: each bus test runs in memory and on RabbitMQ

JSON = {"Content-Type": "application/json"}

OUT_OF_RANGE = {
    "an integer beyond 64 bits": "123456789012345678901234567890",
    "one past int64": str(INT64_MAX + 1),
    "1e308": "1e308",
    "an overflowing decimal": "1e400",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
}


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        yield await start_system(stack, workers=("front50",))


def application(number: str) -> bytes:
    return f'{{"name": "shop", "email": "a@b.c", "attributes": {{"count": {number}}}}}'.encode()


def pipeline(number: str) -> bytes:
    stage = f'{{"refId": "1", "type": "wait", "waitTime": {number}}}'
    return f'{{"application": "shop", "name": "p", "stages": [{stage}]}}'.encode()


def webhook(number: str) -> bytes:
    return f'{{"parameters": {{"n": {number}}}}}'.encode()


@pytest.mark.parametrize("number", OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
async def test_numbers_out_of_range_are_a_400_naming_the_field_in_every_body(system: System, number: str) -> None:
    cases = [
        ("POST", "/applications/shop/tasks", _task(number), "job[0].application.attributes.count"),
        ("POST", "/pipelines", pipeline(number), "stages[0].waitTime"),
        ("POST", "/pipelines/start", pipeline(number), "stages[0].waitTime"),
        ("POST", "/webhooks/webhook/ci", webhook(number), "parameters.n"),
        ("POST", "/events", _event(number), "data.n"),
    ]
    for method, path, body, field in cases:
        response = await system.client.request(method, path, data=body, headers=JSON)
        text = await response.text()
        assert response.status == 400, (path, text)
        assert field in text, (path, text)
        assert "OverflowError" not in text


def _task(number: str) -> bytes:
    return (
        '{"application": "shop", "description": "create", "job": [{"type": "createApplication", '
        f'"application": {{"name": "shop", "email": "a@b.c", "attributes": {{"count": {number}}}}}}}]}}'
    ).encode()


def _event(number: str) -> bytes:
    return f'{{"type": "ci.build.done", "source": "ci", "data": {{"n": {number}}}}}'.encode()


async def test_numbers_at_the_bounds_are_accepted(system: System) -> None:
    bounds = {"min": INT64_MIN, "max": INT64_MAX, "big": 9.2e18, "small": -9.2e18, "flag": True}
    response = await system.client.post("/webhooks/webhook/ci", json={"parameters": bounds})
    assert response.status == 200, await response.text()


async def test_a_body_over_the_size_limit_is_a_413_saying_so(system: System) -> None:
    limit = 1024 * 1024
    at_limit = json.dumps({"parameters": {"pad": "x" * (limit - 40)}}).encode()
    assert len(at_limit) <= limit
    # a stream, not bytes: aiohttp warns that a large bytes body blocks the loop (ResourceWarning)
    accepted = await system.client.post("/webhooks/webhook/ci", data=io.BytesIO(at_limit), headers=JSON)
    assert accepted.status == 200, await accepted.text()

    over = json.dumps({"parameters": {"pad": "x" * limit}}).encode()
    for path in ("/webhooks/webhook/ci", "/pipelines", "/events"):
        response = await system.client.post(path, data=io.BytesIO(over), headers=JSON)
        assert response.status == 413, path
        message = json.dumps(await response.json())
        assert f"{limit} bytes" in message and "gateway_max_body_bytes" in message


def forged(number: str) -> bytes:
    return (
        '{"specversion": "1.0", "id": "01", "source": "/attacker", "type": "io.gennaker.contract.DoWork.v1", '
        f'"data": {{"job": "x", "fail_times": {number}}}}}'
    ).encode()


@pytest.mark.parametrize("number", OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys())
async def test_bus_messages_with_numbers_out_of_range_are_dead_lettered_naming_the_field(
    harness: Harness, unique: str, number: str
) -> None:
    handled: list[object] = []

    async def handle(message: object, context: object) -> None:
        handled.append(message)

    bus = await harness.bus()
    await bus.consume(Endpoint(service=unique, kind="commands", handlers={DoWork.message_type: handle}))
    queue = f"gennaker.{unique}.commands"
    await bus.put_raw(queue, forged(number))
    deadline = time.monotonic() + 15
    while not (letters := [letter for letter in await bus.dead_letters() if letter.queue == queue]):
        assert time.monotonic() < deadline, "the message was never dead-lettered"
        await asyncio.sleep(0.05)
    [letter] = letters
    assert "data.fail_times" in letter.reason, letter.reason
    assert "beyond" in letter.reason or "not a number JSON allows" in letter.reason, letter.reason
    assert letter.attempts == 1
    assert handled == [], "a message with a number out of range reached the handler"


TOKEN = "ann-token-0123456789"
STATIC = AuthConfig(
    mode="static",
    users=(StaticUser(username="ann", token_sha256=hash_token(TOKEN)),),
    failure_limit=3,
    failure_window_seconds=30,
)


def failures(outcome: str) -> float:
    return REGISTRY.get_sample_value("gennaker_gateway_auth_failures_total", {"outcome": outcome}) or 0.0


async def test_failed_authentications_from_one_address_are_throttled_with_retry_after() -> None:
    bus = MemoryBus()
    config = GatewayConfig(version="9.9.9", services=(), auth=STATIC)
    refused_before, throttled_before = failures("refused"), failures("throttled")
    async with TestClient(TestServer(create_app(bus, config))) as client:
        wrong = {"Authorization": "Bearer guess"}
        for _ in range(STATIC.failure_limit):  # at the limit: each guess is a plain 401
            assert (await client.get("/auth/user", headers=wrong)).status == 401
        over = await client.get("/auth/user", headers=wrong)
        assert over.status == 429
        assert 1 <= int(over.headers["Retry-After"]) <= 30
        assert "too many failed authentications" in (await over.json())["message"]
        # while throttled, even the right token waits: guessing cannot go on at speed
        assert (await client.get("/auth/user", headers={"Authorization": f"Bearer {TOKEN}"})).status == 429
        # requests without credentials guess nothing and keep their 401
        assert (await client.get("/auth/user")).status == 401
    await bus.close()
    assert failures("refused") - refused_before == STATIC.failure_limit
    assert failures("throttled") - throttled_before == 2


async def test_failures_for_one_user_are_throttled_from_any_address_but_never_lock_the_user_out() -> None:
    oidc = OidcConfig(issuer="https://login.example.invalid", audience="gennaker", jwks_url="http://127.0.0.1:9/x")
    auth = AuthConfig(
        mode="oidc", oidc=oidc, trusted_proxies=("127.0.0.1/32",), failure_limit=2, failure_window_seconds=30
    )
    forged_for_ann = jwt.encode({"preferred_username": "ann", "sub": "ann"}, key="", algorithm="none")
    bus = MemoryBus()
    async with TestClient(
        TestServer(create_app(bus, GatewayConfig(version="9.9.9", services=(), auth=auth)))
    ) as client:
        statuses = []
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            headers = {"Authorization": f"Bearer {forged_for_ann}", "X-Forwarded-For": address}
            response = await client.get("/auth/user", headers=headers)
            statuses.append(response.status)
            if response.status == 429:
                assert "for user ann" in (await response.json())["message"]
                assert int(response.headers["Retry-After"]) >= 1
        assert statuses == [401, 429, 429]
    await bus.close()


def test_the_throttle_forgets_failures_once_they_leave_the_window() -> None:
    now = [0.0]
    throttle = FailureThrottle(limit=2, window=10, clock=lambda: now[0])
    throttle.failed("a")
    assert throttle.retry_after("a") is None
    throttle.failed("a")
    assert throttle.retry_after("a") == 10
    now[0] = 4
    assert throttle.retry_after("a") == 6
    assert throttle.retry_after("b") is None
    now[0] = 10
    assert throttle.retry_after("a") is None
