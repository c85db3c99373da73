"""The Terraform command lines of a run, and what a run reads back from Terraform's JSON.

Pure: no process, no file. Every command runs with ``-input=false`` and ``-no-color``; a
``plan`` writes ``-out``, an ``apply`` of a saved plan passes nothing that could change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.json_types import Json

PLAN_OUT = "gennaker.tfplan"


def init(backend_config: Path | None) -> list[str]:
    """``terraform init``."""
    argv = ["init", "-input=false", "-no-color"]
    return [*argv, f"-backend-config={backend_config}"] if backend_config else argv


def select_workspace(name: str) -> list[str]:
    """Select ``name``, making it when it is missing."""
    return ["workspace", "select", "-or-create=true", "-no-color", name]


def _inputs(var_files: list[Path], overrides: dict[str, str], targets: tuple[str, ...], lock: bool) -> list[str]:
    argv = [f"-var-file={path}" for path in var_files]
    argv += [f"-var={name}={value}" for name, value in overrides.items()]
    argv += [f"-target={target}" for target in targets]
    return argv if lock else [*argv, "-lock=false"]


def action(
    name: str,
    *,
    var_files: list[Path],
    overrides: dict[str, str],
    targets: tuple[str, ...],
    lock: bool,
    plan_for_destroy: bool = False,
    planfile: Path | None = None,
) -> list[str] | None:
    """The command line of ``name`` after init (``None`` for ``init`` itself)."""
    base = ["-input=false", "-no-color"]
    if name == "plan":
        destroy = ["-destroy"] if plan_for_destroy else []
        return ["plan", *base, f"-out={PLAN_OUT}", *destroy, *_inputs(var_files, overrides, targets, lock)]
    if name == "apply" and planfile is not None:
        return ["apply", *base, *([] if lock else ["-lock=false"]), str(planfile)]
    if name in ("apply", "destroy"):
        return [name, *base, "-auto-approve", *_inputs(var_files, overrides, targets, lock)]
    if name == "output":
        return ["output", "-no-color", "-json"]
    if name == "show":
        return ["show", "-no-color", "-json"]
    return None


def plan_summary(plan: Json) -> Json:
    """``terraform show -json PLAN`` as counts and resource lines a person reads before applying."""
    counts = {"add": 0, "change": 0, "destroy": 0}
    resources: list[Json] = []
    for change in plan.get("resource_changes") or []:
        actions = list((change.get("change") or {}).get("actions") or [])
        if actions in (["no-op"], ["read"]):
            continue
        if "create" in actions:
            counts["add"] += 1
        if "delete" in actions:
            counts["destroy"] += 1
        if actions == ["update"]:
            counts["change"] += 1
        resources.append({"address": change.get("address"), "actions": actions})
    text = f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy."
    if not resources:
        text = "No changes. Your infrastructure matches the configuration."
    lines = [text, *(f"{'/'.join(item['actions'])} {item['address']}" for item in resources)]
    return {**counts, "resources": resources, "text": "\n".join(lines)}


def visible_outputs(outputs: dict[str, Any]) -> tuple[Json, list[str]]:
    """``terraform output -json``'s outputs without the sensitive ones; and their names."""
    shown: Json = {}
    hidden: list[str] = []
    for name, output in outputs.items():
        if not isinstance(output, dict) or output.get("sensitive"):
            hidden.append(name)
            continue
        shown[name] = output.get("value")
    return shown, hidden
