"""What Front50's command handlers share while they build a stored body: copies, keys, checks.

Pure helpers (no store): :mod:`workers.front50.documents` holds the rules of the documents
themselves, this module what the handlers of several entities do alike on the way to a save.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.json_types import Json
from schemas.secrets import markers_in, restore
from workers.front50.documents import key
from workers.front50.errors import Rejected, invalid, missing
from workers.front50.store import Document


def copy_body(value: Json) -> Json:
    """A deep copy, so normalising never touches the (frozen) command's payload."""
    return dict(json.loads(json.dumps(value)))


def pipeline_keys(body: Json) -> Document:
    """The lookup keys of a stored pipeline or strategy: its application and name."""
    return {"applicationKey": key(str(body["application"])), "nameKey": key(str(body["name"]))}


def name_keys(body: Json) -> Document:
    """The lookup key of a body found by its name."""
    return {"nameKey": key(str(body["name"]))}


def project_keys(body: Json) -> Document:
    """A project's lookup keys: its name and every application it lists."""
    config = body.get("config") or {}
    return {**name_keys(body), "applicationKeys": [key(str(app)) for app in config.get("applications") or []]}


def duplicate_pipeline(kind: str, field: str) -> Any:
    """How a save refuses a second ``kind`` of the same name in an application, naming ``field``."""

    def reject(body: Json) -> Rejected:
        return invalid(f"A {kind} with name {body['name']} already exists in application {body['application']}", field)

    return reject


def require_current(current: Json | None, what: str, field: str) -> Json:
    """The stored body a rebuild starts from; a 404 naming ``field`` if it was deleted meanwhile."""
    if current is None:
        raise missing(f"{what} was deleted while this command was handled", field)
    return current


def refuse_unknown_markers(given: Json, stored: Json | None) -> None:
    """A 400 for a hidden-secret marker in ``given`` where ``stored`` keeps no secret to restore."""
    unknown = markers_in(restore(given, stored))
    if unknown:
        raise invalid(
            f"{unknown[0]} is the marker of a hidden secret, but no secret is stored there; send the value",
            field=unknown[0],
        )


def without_application(body: Json | None, app: str) -> Json:
    """A project that no longer lists application ``app`` (nor its pipeline configs)."""
    project = dict(body or {})
    config = dict(project.get("config") or {})
    config["applications"] = [name for name in config.get("applications") or [] if key(str(name)) != app]
    config["pipelineConfigs"] = [
        entry for entry in config.get("pipelineConfigs") or [] if key(str(entry.get("application", ""))) != app
    ]
    project["config"] = config
    return project
