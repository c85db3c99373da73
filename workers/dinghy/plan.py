"""What applying a dinghyfile would change, pipeline by pipeline: the dry run's diff.

Pipelines are matched by name, as Dinghy's upsert does (an existing pipeline keeps its id);
with ``deleteStalePipelines`` the application's other pipelines are deleted. The fields Front50
sets itself (``id``, ``updateTs``, ``lastModifiedBy``, ``index`` ...) are not compared, so a
re-render that changes nothing shows nothing.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Literal

from workers.dinghy.dinghyfile import Dinghyfile

SERVER_FIELDS = frozenset({"id", "updateTs", "createTs", "lastModifiedBy", "lastModified", "index", "dinghy", "locked"})

Action = Literal["create", "update", "delete", "unchanged"]


@dataclass(frozen=True)
class Change:
    """One pipeline's fate: ``pipeline`` is what would be stored (``None`` for a delete)."""

    name: str
    action: Action
    diff: str
    pipeline: dict[str, Any] | None
    existing_id: str | None


@dataclass(frozen=True)
class Plan:
    application: str
    create_application: bool
    changes: list[Change]

    @property
    def changed(self) -> bool:
        return self.create_application or any(change.action != "unchanged" for change in self.changes)

    def describe(self) -> str:
        """The plan as text: one line per pipeline, a unified JSON diff under each change."""
        lines = []
        if self.create_application:
            lines.append(f"create application {self.application}")
        for change in self.changes:
            lines.append(f"{change.action} pipeline {change.name!r}")
            if change.diff:
                lines.append(change.diff.rstrip("\n"))
        if not self.changed:
            lines.append(f"no changes to application {self.application}")
        return "\n".join(lines) + "\n"

    def summary(self) -> dict[str, list[str]]:
        """Pipeline names by action, for events and history."""
        out: dict[str, list[str]] = {"create": [], "update": [], "delete": [], "unchanged": []}
        for change in self.changes:
            out[change.action].append(change.name)
        return out


def comparable(pipeline: dict[str, Any]) -> dict[str, Any]:
    """``pipeline`` without the fields Front50 manages."""
    return {key: value for key, value in pipeline.items() if key not in SERVER_FIELDS}


def _pretty(pipeline: dict[str, Any] | None) -> list[str]:
    if pipeline is None:
        return []
    return (json.dumps(comparable(pipeline), indent=2, sort_keys=True) + "\n").splitlines(keepends=True)


def _diff(name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    return "".join(difflib.unified_diff(_pretty(before), _pretty(after), fromfile=f"a/{name}", tofile=f"b/{name}", n=3))


def plan(dinghyfile: Dinghyfile, existing: list[dict[str, Any]], application_exists: bool = True) -> Plan:
    """The changes that applying ``dinghyfile`` over the application's ``existing`` pipelines makes."""
    by_name = {str(pipeline.get("name")): pipeline for pipeline in existing}
    changes: list[Change] = []
    for desired in dinghyfile.pipelines:
        name = str(desired["name"])
        current = by_name.get(name)
        after = {**desired, "application": dinghyfile.application}
        if current is None:
            changes.append(Change(name, "create", _diff(name, None, after), after, None))
            continue
        current_id = str(current.get("id") or "") or None
        after = {**after, "id": current_id} if current_id else after
        action: Action = "unchanged" if comparable(current) == comparable(after) else "update"
        changes.append(
            Change(name, action, "" if action == "unchanged" else _diff(name, current, after), after, current_id)
        )
    if dinghyfile.delete_stale_pipelines:
        wanted = {str(pipeline["name"]) for pipeline in dinghyfile.pipelines}
        for name, current in sorted(by_name.items()):
            if name not in wanted:
                current_id = str(current.get("id") or "") or None
                changes.append(Change(name, "delete", _diff(name, current, None), None, current_id))
    return Plan(dinghyfile.application, not application_exists, changes)
