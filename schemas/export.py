"""Writes the generated contract of the bus: one JSON Schema per message, the envelope, AsyncAPI.

Foreign publishers and consumers (anything that speaks AMQP and CloudEvents) code against these
files, so they are produced from the models by ``gennaker schemas export DIR`` and never edited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.asyncapi import CLOUDEVENT_SCHEMA, TOPOLOGY, Topology, all_models, asyncapi_document
from schemas.base import Message
from schemas.registry import MessageRegistry
from schemas.services import SERVICES

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_FILE = "envelope.json"
ASYNCAPI_FILE = "asyncapi.json"


def schema_file_name(model: type[Message]) -> str:
    """``system.Ping`` v1 → ``system.Ping.v1.json``."""
    return f"{model.message_type}.v{model.message_version}.json"


def message_schema(model: type[Message]) -> dict[str, Any]:
    """The standalone JSON Schema (2020-12) of ``model``'s ``data``, with Gennaker's identity on it.

    ``$id`` is a URN naming the type and version, so two versions of one message never share an id.
    """
    schema = model.model_json_schema(mode="validation")
    schema.pop("title", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:gennaker:message:{model.message_type}:v{model.message_version}",
        "title": model.message_type,
        "x-gennaker-kind": model.message_kind,
        "x-gennaker-version": model.message_version,
        "x-gennaker-cloudevent-type": model.cloudevent_type(),
        **schema,
    }


def envelope_schema() -> dict[str, Any]:
    """The standalone JSON Schema of the CloudEvents envelope every message travels in."""
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": "urn:gennaker:envelope:cloudevents:1.0", **CLOUDEVENT_SCHEMA}


def export_schemas(
    directory: Path,
    registry: MessageRegistry | None = None,
    *,
    services: tuple[str, ...] = SERVICES,
    topology: Topology = TOPOLOGY,
) -> list[Path]:
    """Write every message's schema, ``envelope.json`` and ``asyncapi.json`` into ``directory``.

    ``registry`` defaults to the full catalogue (:mod:`schemas.catalog`). Creates ``directory`` if
    needed, overwrites the files it writes, leaves any other file alone, and returns the paths
    written: message schemas in type-name order, then the envelope, then the AsyncAPI document.
    """
    if registry is None:
        from schemas.catalog import registry as catalogue

        registry = catalogue
    directory.mkdir(parents=True, exist_ok=True)
    written = [_write(directory / schema_file_name(model), message_schema(model)) for model in all_models(registry)]
    written.append(_write(directory / ENVELOPE_FILE, envelope_schema()))
    document = asyncapi_document(registry, services=services, topology=topology)
    written.append(_write(directory / ASYNCAPI_FILE, document))
    return written


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
