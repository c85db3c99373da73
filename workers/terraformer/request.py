"""The ``terraform`` stage's context (Armory's shape) read into what a run needs, each field bounded.

``action`` is one of :data:`ACTIONS`. ``artifacts`` lists the configuration first (or anywhere:
the first ``git/repo``, else the first artifact not otherwise used), then var-files; an artifact
named ``planfile`` (what a ``plan`` stage produced) is the plan an ``apply`` applies. Each entry is
an artifact, or ``{"artifact": {...}}`` (Orca binds ``{"id": ...}`` references before sending).
``overrides`` become ``-var``s, ``targets`` ``-target``s, ``backendArtifact`` a ``-backend-config``;
``workspace`` is selected (made when missing); ``lock: false`` is Terraform's ``-lock=false``.
A field that is wrong raises :class:`RequestInvalid` naming it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from schemas.json_types import Json
from workers.terraformer.sources import CONFIG_TYPES, SourceRefused, relative

ACTIONS = ("init", "plan", "apply", "destroy", "output", "show")
PLANFILE = "planfile"
MAX_VARS = 200
MAX_TARGETS = 200
MAX_VALUE = 64 * 1024
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,89}$")
TARGET = re.compile(r"^[^\s=-][^\s]{0,511}$")


class RequestInvalid(Exception):
    """A field of the stage's context is wrong; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


@dataclass(frozen=True)
class TerraformRequest:
    """What one ``terraform`` stage asks for."""

    action: str
    configuration: Json
    configuration_field: str
    dir: str = "."
    var_files: tuple[tuple[str, Json], ...] = ()
    planfile: Json | None = None
    backend: Json | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    workspace: str | None = None
    targets: tuple[str, ...] = ()
    plan_for_destroy: bool = False
    lock: bool = True
    version: str | None = None
    profile: str | None = None


def _artifact(entry: Any, where: str) -> Json:
    if isinstance(entry, dict) and isinstance(entry.get("artifact"), dict):
        entry = entry["artifact"]
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise RequestInvalid(where, "must be an artifact (with a type) or {'artifact': {...}}")
    return dict(entry)


def _value(value: Any, where: str) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > MAX_VALUE:
        raise RequestInvalid(where, f"is longer than {MAX_VALUE} characters")
    return text


def read(context: Json) -> TerraformRequest:
    """The request in ``context``; :class:`RequestInvalid` naming a wrong field."""
    action = str(context.get("action") or "")
    if action not in ACTIONS:
        raise RequestInvalid("action", f"must be one of {', '.join(ACTIONS)}, not {action[:50]!r}")
    entries = context.get("artifacts") or []
    if not isinstance(entries, list) or len(entries) > 50:
        raise RequestInvalid("artifacts", "must be a list of at most 50 artifacts")
    artifacts = [(f"artifacts[{n}]", _artifact(entry, f"artifacts[{n}]")) for n, entry in enumerate(entries)]
    planfile = next(((w, a) for w, a in artifacts if a.get("name") == PLANFILE), None)
    rest = [(w, a) for w, a in artifacts if planfile is None or w != planfile[0]]
    config = next(((w, a) for w, a in rest if a.get("type") == "git/repo"), None) or next(iter(rest), None)
    if config is None:
        raise RequestInvalid("artifacts", "names no Terraform configuration (a git/repo, embedded or http/file one)")
    if config[1]["type"] not in CONFIG_TYPES:
        raise RequestInvalid(config[0], f"type {config[1]['type']!r} is not one of {', '.join(CONFIG_TYPES)}")
    var_files = tuple((w, a) for w, a in rest if w != config[0])
    if planfile is not None and action != "apply":
        raise RequestInvalid(planfile[0], f"a planfile is applied by action 'apply', not {action!r}")
    backend = context.get("backendArtifact")
    if backend is not None and not (isinstance(backend, dict) and backend):
        raise RequestInvalid("backendArtifact", "must be an artifact")
    overrides = context.get("overrides") or {}
    if not isinstance(overrides, dict) or len(overrides) > MAX_VARS:
        raise RequestInvalid("overrides", f"must be an object of at most {MAX_VARS} variables")
    for name in overrides:
        if not VAR_NAME.match(str(name)):
            raise RequestInvalid(f"overrides.{str(name)[:50]}", "is not a Terraform variable name")
    targets = context.get("targets") or []
    if not isinstance(targets, list) or len(targets) > MAX_TARGETS:
        raise RequestInvalid("targets", f"must be a list of at most {MAX_TARGETS} resource addresses")
    for n, target in enumerate(targets):
        if not isinstance(target, str) or not TARGET.match(target):
            raise RequestInvalid(f"targets[{n}]", "is not a resource address")
    workspace = context.get("workspace") or None
    if workspace is not None and not (isinstance(workspace, str) and WORKSPACE.match(workspace)):
        raise RequestInvalid("workspace", "must be letters, digits, '.', '_' or '-' (at most 90)")
    if planfile is not None and (overrides or targets):
        which = "overrides" if overrides else "targets"
        raise RequestInvalid(which, "cannot change a saved plan: apply it as planned, or plan again")
    directory = str(context.get("dir") or ".")
    try:
        relative(directory, "dir")
    except SourceRefused as refused:
        raise RequestInvalid("dir", str(refused).removeprefix("dir: ")) from None
    version = context.get("terraformVersion") or None
    if version is not None and not (isinstance(version, str) and re.match(r"^[0-9A-Za-z.+-]{1,40}$", version)):
        raise RequestInvalid("terraformVersion", "must be a version such as 1.15.5")
    profile = context.get("profile") or None
    if profile is not None and not isinstance(profile, str):
        raise RequestInvalid("profile", "must be a profile's name")
    return TerraformRequest(
        action=action,
        configuration=config[1],
        configuration_field=config[0],
        dir=directory,
        var_files=var_files,
        planfile=planfile[1] if planfile else None,
        backend=dict(backend) if isinstance(backend, dict) else None,
        overrides={str(k): _value(v, f"overrides.{k}") for k, v in overrides.items()},
        workspace=workspace,
        targets=tuple(targets),
        plan_for_destroy=bool(context.get("planForDestroy")),
        lock=context.get("lock") is not False,
        version=version,
        profile=profile,
    )
