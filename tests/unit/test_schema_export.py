"""The exported JSON Schemas and AsyncAPI document are generated from the models and stay true to them."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

import bus.amqp
import bus.dead_letter
import bus.endpoint
from bus.envelope import Envelope
from schemas import Command, Event, Message, MessageRegistry, Query, Reply
from schemas.asyncapi import CLOUDEVENT_SCHEMA, TOPOLOGY, asyncapi_document, message_id
from schemas.catalog import registry as catalogue
from schemas.export import export_schemas, schema_file_name
from schemas.services import SERVICES


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Target(BaseModel):
    account: str = Field(min_length=1)
    regions: list[str] = Field(min_length=1)


class ProbeStarted(Event):
    """A probe started: exercises nested models, enums, literals, optionals and dates."""

    message_type: ClassVar[str] = "front50.probe.started"
    message_version: ClassVar[int] = 3
    target: Target
    colour: Colour
    mode: Literal["fast", "slow"]
    at: datetime
    note: str | None = None
    sizes: dict[str, int] = {}
    pair: tuple[int, str]


class ProbeAnswer(Reply):
    """What a probe query returns; deliberately not registered: the query's reply_model finds it."""

    message_type: ClassVar[str] = "front50.ProbeAnswer"
    count: int = Field(ge=0)


class CountProbes(Query):
    """Asks Front50 how many probes exist."""

    message_type: ClassVar[str] = "front50.CountProbes"
    reply_model: ClassVar[type[Reply]] = ProbeAnswer
    application: str


class StartProbe(Command):
    """Asks Front50 to start a probe."""

    message_type: ClassVar[str] = "front50.StartProbe"
    target: Target


class ResetEverything(Command):
    """A system command every service accepts, addressed with ``to=``."""

    message_type: ClassVar[str] = "system.ResetEverything"


@pytest.fixture
def probe_registry() -> MessageRegistry:
    registry = MessageRegistry()
    for model in (ProbeStarted, CountProbes, StartProbe, ResetEverything):
        registry.register(model)
    return registry


def sample(schema: Any, root: dict[str, Any]) -> Any:
    """The simplest instance ``schema`` allows, with every optional property filled in too."""
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return sample(target, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return sample(schema[combinator][0], root)
    kind = schema.get("type")
    match kind:
        case "object":
            return {name: sample(sub, root) for name, sub in schema.get("properties", {}).items()}
        case "array":
            if "prefixItems" in schema:
                return [sample(item, root) for item in schema["prefixItems"]]
            return [sample(schema.get("items", {}), root) for _ in range(max(1, schema.get("minItems", 0)))]
        case "string":
            if schema.get("format") == "date-time":
                return "2024-05-06T07:08:09Z"
            return "x" * max(1, schema.get("minLength", 1))
        case "integer" | "number":
            return schema.get("minimum", 0)
        case "boolean":
            return True
        case "null":
            return None
    return {}


def check_schema_file(directory: Path, model: type[Message]) -> None:
    path = directory / schema_file_name(model)
    assert path.is_file(), f"no schema file for {model.message_type}"
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"]
    assert schema["title"] == model.message_type
    assert schema["x-gennaker-kind"] == model.message_kind
    assert schema["x-gennaker-version"] == model.message_version
    validator = jsonschema.Draft202012Validator(schema)
    instance = sample(schema, schema)
    validator.validate(instance)
    loaded = model.model_validate(instance)
    validator.validate(loaded.model_dump(mode="json"))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**instance, "surprise": 1})


def test_every_catalogued_message_has_a_schema_that_validates_a_sample(tmp_path: Path) -> None:
    written = export_schemas(tmp_path)
    models = list(catalogue)
    assert models, "the catalogue registered no messages"
    for model in models:
        check_schema_file(tmp_path, model)
    assert {path.name for path in written} == {schema_file_name(m) for m in models} | {"envelope.json", "asyncapi.json"}


def test_messages_of_a_fresh_registry_are_generated(tmp_path: Path, probe_registry: MessageRegistry) -> None:
    export_schemas(tmp_path, probe_registry)
    for model in (ProbeStarted, CountProbes, ProbeAnswer, StartProbe, ResetEverything):
        check_schema_file(tmp_path, model)
    assert not (tmp_path / "system.Ping.v1.json").exists()
    document = json.loads((tmp_path / "asyncapi.json").read_text())
    assert set(document["components"]["messages"]) >= {
        "front50_probe_started_v3",
        "front50_CountProbes_v1",
        "front50_ProbeAnswer_v1",
        "front50_StartProbe_v1",
        "system_ResetEverything_v1",
    }


def test_export_overwrites_its_files_and_leaves_others(tmp_path: Path, probe_registry: MessageRegistry) -> None:
    (tmp_path / "asyncapi.json").write_text("stale")
    (tmp_path / "README").write_text("mine")
    export_schemas(tmp_path / "nested", probe_registry)
    export_schemas(tmp_path, probe_registry)
    assert json.loads((tmp_path / "asyncapi.json").read_text())["asyncapi"] == "3.0.0"
    assert (tmp_path / "README").read_text() == "mine"
    assert (tmp_path / "nested" / "envelope.json").is_file()


def bindings(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [channel["bindings"]["amqp"] for channel in document["channels"].values()]


def resolve(document: dict[str, Any], ref: str) -> Any:
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in all_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in all_refs(value)]
    return []


@pytest.mark.parametrize("registry_name", ["catalogue", "probes"])
def test_asyncapi_document_describes_every_exchange_queue_and_message(
    registry_name: str, probe_registry: MessageRegistry
) -> None:
    registry = catalogue if registry_name == "catalogue" else probe_registry
    document = asyncapi_document(registry)
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["rabbitmq"]["protocol"] == "amqp"
    exchanges = {
        amqp["exchange"]["name"]: amqp["exchange"]["type"] for amqp in bindings(document) if "exchange" in amqp
    }
    queues = {amqp["queue"]["name"] for amqp in bindings(document) if "queue" in amqp}
    assert exchanges["gennaker.events"] == "topic"
    assert "gennaker.dead" in exchanges
    assert {"gennaker.dead-letters", "amq.rabbitmq.reply-to"} <= queues
    for model in registry:
        key = message_id(model)
        message = document["components"]["messages"][key]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["payload"]["properties"]["type"] == {"const": model.cloudevent_type()}
        operations = [
            op
            for op in document["operations"].values()
            if any(ref["$ref"].endswith(f"/{key}") for ref in op["messages"])
        ]
        actions = {op["action"] for op in operations}
        if model.message_kind == "reply":
            assert any(
                key in op.get("reply", {}).get("messages", [{}])[0].get("$ref", "")
                for op in document["operations"].values()
            )
            continue
        assert actions == {"send", "receive"}, f"{model.message_type} lacks a send or receive operation"
        if model.message_kind == "event":
            assert exchanges["gennaker.events"] == "topic"
            channel = resolve(document, operations[0]["channel"]["$ref"])
            assert channel["address"] == model.message_type
        else:
            exchange = "gennaker.commands" if model.message_kind == "command" else "gennaker.queries"
            assert exchanges[exchange] == "direct"
            owner = model.owner() if model.owner() in SERVICES else "{service}"
            kind = f"{model.message_kind}s" if model.message_kind != "query" else "queries"
            assert f"gennaker.{owner}.{kind}" in queues
    for ref in all_refs(document):
        resolve(document, ref)


def test_asyncapi_routes_owned_commands_to_their_service(probe_registry: MessageRegistry) -> None:
    document = asyncapi_document(probe_registry)
    send = document["operations"]["send_front50_StartProbe_v1"]
    assert resolve(document, send["channel"]["$ref"])["address"] == "front50"
    receive = document["operations"]["receive_front50_StartProbe_v1"]
    assert resolve(document, receive["channel"]["$ref"])["address"] == "gennaker.front50.commands"
    ask = document["operations"]["send_front50_CountProbes_v1"]
    assert ask["reply"]["messages"] == [{"$ref": "#/channels/replies/messages/front50_ProbeAnswer_v1"}]
    anywhere = resolve(document, document["operations"]["receive_system_ResetEverything_v1"]["channel"]["$ref"])
    assert anywhere["parameters"]["service"]["enum"] == list(SERVICES)
    started = document["components"]["schemas"]["ProbeStarted"]
    pair = started["properties"]["pair"]
    assert isinstance(pair["items"], list), "tuples must use draft-07's items array in AsyncAPI"


def test_topology_mirrors_the_bus() -> None:
    assert TOPOLOGY.commands_exchange == bus.endpoint.COMMANDS_EXCHANGE
    assert TOPOLOGY.queries_exchange == bus.endpoint.QUERIES_EXCHANGE
    assert TOPOLOGY.events_exchange == bus.endpoint.EVENTS_EXCHANGE
    assert TOPOLOGY.external_exchange == bus.endpoint.EXTERNAL_EXCHANGE
    assert TOPOLOGY.dead_exchange == bus.endpoint.DEAD_EXCHANGE
    assert TOPOLOGY.dead_letter_queue == bus.endpoint.DEAD_LETTER_QUEUE
    for kind in ("commands", "queries", "events"):
        assert (
            TOPOLOGY.queue("orca", kind)
            == bus.endpoint.Endpoint("orca", kind, patterns=("#",) * (kind == "events")).queue
        )
    assert TOPOLOGY.reply_queue == bus.amqp.REPLY_TO
    headers = {value for name, value in vars(bus.dead_letter).items() if name.endswith("_HEADER")}
    assert {name for name, _ in TOPOLOGY.dead_letter_headers} == headers


def test_envelope_schema_matches_the_bus_envelope(tmp_path: Path) -> None:
    assert set(CLOUDEVENT_SCHEMA["properties"]) == set(Envelope.model_fields)
    export_schemas(tmp_path, MessageRegistry())
    schema = json.loads((tmp_path / "envelope.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    envelope = Envelope(
        source="/test", type="io.gennaker.system.Ping.v1", subject="x", causationid="c", traceparent="t"
    )
    jsonschema.validate(json.loads(envelope.to_bytes()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"source": "/test"}, schema)
