"""The pure parts of a Terraform run: the stage's context read and bounded, the command lines, the
plan summary, which outputs are shown, and which runs share a directory + workspace lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workers.terraformer import commands
from workers.terraformer.request import RequestInvalid, read
from workers.terraformer.runs import _shown_args, cli_config
from workers.terraformer.stage_task import lock_key

REPO = {"type": "git/repo", "reference": "https://git.example.com/infra.git", "version": "main"}
PLANFILE = {"type": "embedded/base64", "name": "planfile", "reference": "UEs="}


def context(**extra: Any) -> dict[str, Any]:
    return {"action": "plan", "artifacts": [{"artifact": REPO}], **extra}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"action": "import"}, "action"),
        ({"artifacts": []}, "artifacts"),
        ({"artifacts": [{"name": "no type"}]}, "artifacts[0]"),
        ({"artifacts": [{"artifact": {"type": "docker/image", "reference": "x"}}]}, "artifacts[0]"),
        ({"overrides": {"not a name": 1}}, "overrides.not a name"),
        ({"targets": ["-destroy"]}, "targets[0]"),
        ({"workspace": "../up"}, "workspace"),
        ({"dir": "/etc"}, "dir"),
        ({"dir": "a/../../b"}, "dir"),
        ({"terraformVersion": "1.5; rm -rf"}, "terraformVersion"),
        ({"artifacts": [{"artifact": REPO}, {"artifact": PLANFILE}]}, "artifacts[1]"),  # a planfile is for apply
        (
            {"action": "apply", "artifacts": [{"artifact": REPO}, PLANFILE], "overrides": {"a": "b"}},
            "overrides",
        ),
    ],
)
def test_a_wrong_field_is_named(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestInvalid) as refused:
        read(context(**extra))
    assert refused.value.field == field


def test_the_configuration_var_files_and_planfile_are_told_apart() -> None:
    tfvars = {"type": "http/file", "reference": "https://git.example.com/prod.tfvars"}
    request = read(
        {
            "action": "apply",
            "artifacts": [tfvars, {"artifact": PLANFILE}, {"artifact": REPO}],
            "lock": False,
            "workspace": "prod",
        }
    )
    assert request.configuration == REPO and request.planfile == PLANFILE
    assert [artifact for _, artifact in request.var_files] == [tfvars]
    assert not request.lock and request.workspace == "prod"
    planned = read(context(overrides={"count": 3, "tags": {"a": "b"}, "name": "x"}))
    assert planned.overrides == {"count": "3", "tags": '{"a": "b"}', "name": "x"}


def test_command_lines() -> None:
    inputs: dict[str, Any] = {"var_files": [Path("/w/a.tfvars")], "overrides": {"n": "1"}, "targets": ("x.y",)}
    plan = commands.action("plan", lock=False, plan_for_destroy=True, **inputs)
    assert plan == [
        "plan", "-input=false", "-no-color", "-out=gennaker.tfplan", "-destroy",
        "-var-file=/w/a.tfvars", "-var=n=1", "-target=x.y", "-lock=false",
    ]  # fmt: skip
    saved = commands.action("apply", lock=True, planfile=Path("/w/plan"), **inputs)
    assert saved == ["apply", "-input=false", "-no-color", "/w/plan"]  # nothing that could change the plan
    destroy = commands.action("destroy", lock=True, **inputs) or []
    assert destroy[:4] == ["destroy", "-input=false", "-no-color", "-auto-approve"]
    assert commands.action("init", lock=True, **inputs) is None
    assert commands.init(Path("/w/b.tfbackend")) == [
        "init",
        "-input=false",
        "-no-color",
        "-backend-config=/w/b.tfbackend",
    ]
    assert _shown_args(["-var=password=hunter2", "-target=x"]) == ["-var=password=…", "-target=x"]


def test_the_plan_summary_counts_as_terraform_does() -> None:
    def change(address: str, *actions: str) -> dict[str, Any]:
        return {"address": address, "change": {"actions": list(actions)}}

    plan = {
        "resource_changes": [
            change("a.new", "create"),
            change("a.changed", "update"),
            change("a.replaced", "delete", "create"),
            change("a.gone", "delete"),
            change("a.same", "no-op"),
            change("data.x", "read"),
        ]
    }
    summary = commands.plan_summary(plan)
    assert (summary["add"], summary["change"], summary["destroy"]) == (2, 1, 2)
    assert summary["text"].splitlines()[0] == "Plan: 2 to add, 1 to change, 2 to destroy."
    assert [item["address"] for item in summary["resources"]] == ["a.new", "a.changed", "a.replaced", "a.gone"]
    assert commands.plan_summary({})["text"].startswith("No changes.")


def test_sensitive_outputs_are_named_not_shown() -> None:
    shown, hidden = commands.visible_outputs(
        {"bucket": {"value": "b", "sensitive": False}, "password": {"value": "p", "sensitive": True}}
    )
    assert (shown, hidden) == ({"bucket": "b"}, ["password"])


def test_runs_share_a_lock_on_the_same_directory_and_workspace_only() -> None:
    base = read(context(workspace="prod", dir="net"))
    assert lock_key(base) == lock_key(read(context(workspace="prod", dir="net", action="apply")))
    assert lock_key(base) != lock_key(read(context(workspace="dev", dir="net")))
    assert lock_key(base) != lock_key(read(context(workspace="prod", dir="dns")))


def test_the_cli_configuration_names_the_mirror_only_when_set() -> None:
    assert "provider_installation" not in cli_config(None)
    assert 'path = "/srv/providers"' in cli_config(Path("/srv/providers"))
