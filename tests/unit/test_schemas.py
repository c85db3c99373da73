"""Message naming, the registry, upcasting, the envelope and retry backoff."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from bus import Envelope, RetryPolicy
from schemas import Command, MessageRegistry, UnknownMessageType, cloudevent_type, parse_cloudevent_type


class MoveV3(Command):
    message_type: ClassVar[str] = "demo.Move"
    message_version: ClassVar[int] = 3
    x: int
    y: int


def test_cloudevent_type_round_trip() -> None:
    assert cloudevent_type("orca.stage.completed", 1) == "io.gennaker.orca.stage.completed.v1"
    assert parse_cloudevent_type("io.gennaker.orca.StartExecution.v12") == ("orca.StartExecution", 12)
    for bad in ("com.example.thing.v1", "io.gennaker.orca.StartExecution", "io.gennaker..vX"):
        with pytest.raises(ValueError):
            parse_cloudevent_type(bad)


def test_message_type_must_name_its_service() -> None:
    with pytest.raises(TypeError, match=r"service\.Name"):

        class Bad(Command):
            message_type: ClassVar[str] = "nodot"


def test_upcasters_chain_from_any_old_version() -> None:
    registry = MessageRegistry()
    registry.register(MoveV3)

    @registry.upcaster("demo.Move", 1)
    def one_to_two(data: dict[str, Any]) -> dict[str, Any]:
        return {"position": [data["x"], data["y"]]}

    @registry.upcaster("demo.Move", 2)
    def two_to_three(data: dict[str, Any]) -> dict[str, Any]:
        x, y = data["position"]
        return {"x": x, "y": y}

    assert registry.load("demo.Move", 1, {"x": 1, "y": 2}) == MoveV3(x=1, y=2)
    assert registry.load("demo.Move", 2, {"position": [3, 4]}) == MoveV3(x=3, y=4)
    assert registry.load("demo.Move", 3, {"x": 5, "y": 6}) == MoveV3(x=5, y=6)
    with pytest.raises(UnknownMessageType, match="newer"):
        registry.load("demo.Move", 4, {})
    with pytest.raises(UnknownMessageType, match=r"demo\.Nothing"):
        registry.load("demo.Nothing", 1, {})


def test_missing_upcaster_is_named() -> None:
    registry = MessageRegistry()
    registry.register(MoveV3)
    with pytest.raises(UnknownMessageType, match=r"no upcaster from demo\.Move v1"):
        registry.load("demo.Move", 1, {"x": 1, "y": 2})


def test_registering_an_older_version_over_a_newer_one_fails() -> None:
    registry = MessageRegistry()
    registry.register(MoveV3)

    class MoveV2(Command):
        message_type: ClassVar[str] = "demo.Move"
        message_version: ClassVar[int] = 2

    with pytest.raises(TypeError, match="already registered"):
        registry.register(MoveV2)


def test_validation_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="y"):
        MoveV3.model_validate({"x": 1})
    with pytest.raises(ValidationError, match="extra"):
        MoveV3.model_validate({"x": 1, "y": 2, "z": 3})


def test_envelope_is_structured_cloudevents_json() -> None:
    envelope = Envelope(source="/test", type="io.gennaker.demo.Move.v3", data={"x": 1}, subject="exec-1")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert again.specversion == "1.0" and again.datacontenttype == "application/json"
    assert len(again.id) == 26 and again.correlationid
    foreign = Envelope.from_bytes(b'{"specversion":"1.0","id":"1","source":"/x","type":"t","vendorext":"kept"}')
    assert foreign.model_extra == {"vendorext": "kept"}


def test_retry_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=0.5, factor=2, max_delay=3)
    assert [policy.delay_ms(n) for n in range(1, 6)] == [500, 1000, 2000, 3000, 3000]
    assert not policy.gives_up_after(5)
    assert policy.gives_up_after(6)
