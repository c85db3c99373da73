"""``gennaker dinghy render``: a dinghyfile rendered locally, with modules from a directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gennaker import cli


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "templates" / "stages").mkdir(parents=True)
    (tmp_path / "templates" / "stages" / "wait").write_text(
        '{"type": "wait", "name": "{{ var "name" ?: "Wait" }}", "waitTime": {{ var "waitTime" ?: 5 }}}'
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "parts").mkdir()
    (tmp_path / "app" / "parts" / "trigger").write_text('{"type": "git", "branch": "{{ .Branch }}"}')
    (tmp_path / "app" / "dinghyfile").write_text(
        '{\n  "application": "shop",\n  "globals": {"waitTime": 9},\n  "pipelines": [{\n'
        '    "name": "deploy {{ .RawData.repository.name }}",\n'
        '    "triggers": [{{ local_module "parts/trigger" }}],\n'
        '    "stages": [{{ module "stages/wait" "name" "pause" }}]\n  }]\n}\n'
    )
    (tmp_path / "push.json").write_text('{"repository": {"name": "shop-api"}}')
    return tmp_path


def test_render_prints_the_dinghyfile_with_modules_branch_and_raw_data(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(
        [
            "dinghy",
            "render",
            str(files / "app" / "dinghyfile"),
            "--modules",
            str(files / "templates"),
            "--branch",
            "main",
            "--raw-data",
            str(files / "push.json"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert json.loads(out)["pipelines"] == [
        {
            "name": "deploy shop-api",
            "triggers": [{"type": "git", "branch": "main"}],
            "stages": [{"type": "wait", "name": "pause", "waitTime": 9}],
        }
    ]


def test_render_failures_exit_2_with_the_error_on_stderr(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dinghyfile = str(files / "app" / "dinghyfile")
    assert cli.main(["dinghy", "render", dinghyfile]) == 2
    assert "Cannot load module stages/wait; templateOrg not configured" in capsys.readouterr().err
    (files / "app" / "dinghyfile").write_text(
        '{"application": "shop",\n "pipelines": [{{ local_module "parts/trigger" }}}'
    )
    assert cli.main(["dinghy", "render", dinghyfile]) == 2
    captured = capsys.readouterr()
    assert "dinghyfile:2:50" in captured.err and "malformed JSON" in captured.err
    (files / "bad.json").write_text("{nope")
    assert cli.main(["dinghy", "render", dinghyfile, "--raw-data", str(files / "bad.json")]) == 2
    assert "--raw-data" in capsys.readouterr().err
