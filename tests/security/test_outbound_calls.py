"""An attacker who may save a pipeline aims its webhooks, notifications and sinks at the inside.

Each test runs its own server on 127.0.0.1 as the "internal service" and checks that it received
nothing unless the settings allow it explicitly; the execution records the refusal, never a body.
The bus plays no part in where a call may go, so these run on MemoryBus only.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bus import Envelope, MemoryBus, PermanentError
from gennaker.outbound import OutboundClient, OutboundRefused, address_refusal
from gennaker.settings import Settings
from schemas.echo_sinks import RestSink
from schemas.outbound import AllowedRequest, OutboundSettings
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, tap_events
from tests.mongo import fresh_database
from workers.echo.notifications.channel import post_json
from workers.echo.sinks.rest import RestCloudEvents


class Internal:
    """A service on 127.0.0.1 that must not be reached: it counts the requests it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.redirect_to: str | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if self.redirect_to is not None:
            raise web.HTTPFound(self.redirect_to)
        return web.json_response({"secret": "internal credentials"})


@contextlib.asynccontextmanager
async def internal_service() -> AsyncIterator[Internal]:
    internal = Internal()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", internal.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    internal.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield internal
    finally:
        await runner.cleanup()


def allowing(url_prefix: str, *methods: str) -> OutboundSettings:
    return OutboundSettings(
        allowed_requests=(AllowedRequest(url_prefix=url_prefix, http_methods=methods or ("POST",)),)
    )


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("100.64.0.1", "not a public address"),
        ("0.0.0.0", "unspecified"),
        ("fe80::1", "link-local"),
    ],
)
def test_internal_addresses_are_refused_by_default(address: str, reason: str) -> None:
    refusal = address_refusal(address)
    assert refusal is not None and reason in refusal


def test_public_addresses_pass_unless_refused_by_the_settings() -> None:
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    assert address_refusal("93.184.216.34", OutboundSettings(refused_networks=("93.184.216.0/24",)).refused_networks)


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("POST", "http://hooks.example.com/build", True),
        ("POST", "http://HOOKS.example.com:80/build/42", True),
        ("GET", "http://hooks.example.com/build", False),  # method not listed
        ("POST", "http://hooks.example.com.evil.test/build", False),  # a longer host
        ("POST", "http://hooks.example.com@127.0.0.1/build", False),  # user info hides the host
        ("POST", "http://hooks.example.com:8080/build", False),  # another port
        ("POST", "https://hooks.example.com/build", False),  # another scheme
        ("POST", "http://hooks.example.com/buildx", False),  # not at a path boundary
    ],
)
def test_an_allow_list_entry_matches_by_parts_not_by_string_prefix(method: str, url: str, allowed: bool) -> None:
    entry = AllowedRequest(url_prefix="http://hooks.example.com/build", http_methods=("POST",))
    assert entry.allows(method, url) is allowed


def test_an_entry_with_port_star_allows_any_port_of_its_host() -> None:
    entry = AllowedRequest.model_validate({"urlPrefix": "http://127.0.0.1:*", "httpMethods": ["GET"]})
    assert entry.allows("GET", "http://127.0.0.1:5672/api/users")
    assert not entry.allows("GET", "http://127.0.0.2:5672/")


async def test_a_loopback_service_gets_nothing_without_an_entry_and_is_reached_with_one() -> None:
    async with internal_service() as internal:
        refused = OutboundClient(OutboundSettings())
        with pytest.raises(OutboundRefused, match="loopback"):
            async with refused.request("POST", f"{internal.url}/api"):
                pass
        await refused.close()
        assert internal.requests == []

        allowed = OutboundClient(allowing(internal.url))
        async with allowed.request("POST", f"{internal.url}/api") as response:
            assert response.status == 200
        await allowed.close()
        assert internal.requests == ["POST /api"]


async def test_allowed_requests_only_refuses_public_addresses_no_entry_names() -> None:
    client = OutboundClient(OutboundSettings(allowed_requests_only=True))
    with pytest.raises(OutboundRefused, match=r"matches no outbound\.allowed_requests entry"):
        async with client.request("POST", "http://93.184.216.34/hook"):
            pass
    await client.close()


class Rebinding(AbstractResolver):
    """DNS that answers a public address to the first question and 127.0.0.1 afterwards."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.asked = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked += 1
        address = "93.184.216.34" if self.asked == 1 else "127.0.0.1"
        return [
            {"hostname": host, "host": address, "port": self.port, "family": socket.AF_INET, "proto": 0, "flags": 0}
        ]

    async def close(self) -> None:
        return None


async def test_dns_rebinding_to_loopback_never_gets_a_connection() -> None:
    async with internal_service() as internal:
        resolver = Rebinding(int(internal.url.rsplit(":", 1)[1]))
        client = OutboundClient(OutboundSettings(), resolver=resolver)
        with pytest.raises(OutboundRefused, match="internal address"):
            async with client.request("GET", "http://rebind.attacker.test/latest/meta-data/"):
                pass
        await client.close()
        assert resolver.asked >= 2, "the connection resolved the name again after the check"
        assert internal.requests == []


async def test_a_redirect_to_an_internal_address_is_refused_at_that_hop() -> None:
    async with internal_service() as public_looking, internal_service() as internal:
        public_looking.redirect_to = f"{internal.url}/admin"
        client = OutboundClient(allowing(public_looking.url, "GET"))
        with pytest.raises(OutboundRefused, match="loopback"):
            async with client.request("GET", f"{public_looking.url}/start", follow_redirects=True):
                pass
        await client.close()
        assert public_looking.requests == ["GET /start"]
        assert internal.requests == []


async def test_a_webhook_stage_aimed_at_the_inside_fails_and_stores_no_body() -> None:
    async with internal_service() as internal, fresh_database() as db:
        bus = MemoryBus(source="/security")
        orca = Orca(bus, db, settings=Settings())  # the default outbound policy
        tap = await tap_events(bus, orca)
        await orca.start_host()
        try:
            for url in (f"{internal.url}/secrets", "http://169.254.169.254/latest/meta-data/iam/"):
                config = pipeline(stage("1", "webhook", url=url, method="GET", retryBackoffMs=10))
                execution = await orca.finished(await orca.start(config))
                webhook = by_ref(execution, "1")
                assert execution["status"] == "TERMINAL"
                assert "outbound call refused" in str(webhook["context"]), webhook["context"]
                assert "internal credentials" not in str(execution)
                answers: list[Any] = [value for key, value in webhook["context"].items() if key == "webhook"]
                assert all(isinstance(answer, dict) and "body" not in answer for answer in answers)
            assert internal.requests == []
        finally:
            await orca.stop_host()
            await tap.stop()
            await bus.close()


async def test_notifications_and_sinks_aimed_at_the_inside_are_refused_without_a_request() -> None:
    async with internal_service() as internal:
        client = OutboundClient(OutboundSettings())
        with pytest.raises(PermanentError, match="outbound call refused"):
            await post_json(
                client, f"{internal.url}/hook", {"text": "hi"}, timeout=2, what="webhook", idempotency_key="k"
            )
        sink = RestCloudEvents(RestSink(name="inside", url=f"{internal.url}/events"))
        event = Envelope(source="/security", type="io.gennaker.test.thing.happened.v1", data={"n": 1})
        with pytest.raises(OutboundRefused):
            await sink.send(client, [event])
        await client.close()
        assert internal.requests == []
