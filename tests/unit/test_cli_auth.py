"""``gennaker auth token create`` prints a token, its digest and a settings entry the gateway accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gateway.auth.tokens import hash_token
from gennaker import cli
from gennaker import logging as gennaker_logging
from gennaker.settings import load_settings


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENNAKER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(gennaker_logging, "configure_logging", lambda *args, **kwargs: None)


def create(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(["auth", "token", "create", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_text_output_holds_the_token_its_digest_and_an_entry_to_paste(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = create(capsys, "--username", "olivia", "--role", "shop-owners", "--role", "readers")
    assert status == 0
    lines = out.splitlines()
    token = lines[0].rsplit(" ", 1)[1]
    assert lines[0].startswith("token (give to the user") and token.startswith("gnk_")
    assert lines[1].startswith("token_sha256") and lines[1].rsplit(" ", 1)[1] == f'"{hash_token(token)}"'
    entry = out[out.index("[[auth.users]]") :]
    assert tomllib.loads(entry)["auth"]["users"] == [
        {"username": "olivia", "token_sha256": hash_token(token), "roles": ["shop-owners", "readers"]}
    ]
    assert 'mode is "none"' in err and 'mode = "static"' in err

    settings = tmp_path / "gennaker.toml"
    settings.write_text(f'[auth]\nmode = "static"\n\n{entry}')
    (user,) = load_settings(settings).auth.users
    assert (user.username, user.token_sha256, user.roles) == ("olivia", hash_token(token), ("shop-owners", "readers"))


def test_json_and_token_outputs_for_scripts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    settings = tmp_path / "static.toml"
    settings.write_text(f'[auth]\nmode = "static"\n\n[[auth.users]]\nusername = "a"\ntoken_sha256 = "{"0" * 64}"\n')
    status, out, err = create(capsys, "--settings", str(settings), "--username", "ci-bot", "--admin", "-o", "json")
    assert status == 0 and err == "", err
    document = json.loads(out)
    assert document["token_sha256"] == hash_token(document["token"])
    assert (document["username"], document["roles"], document["admin"]) == ("ci-bot", [], True)
    assert tomllib.loads(document["toml"])["auth"]["users"][0]["admin"] is True

    status, out, _ = create(capsys, "--settings", str(settings), "--output", "token")
    assert status == 0 and out.count("\n") == 1 and out.startswith("gnk_")


def test_an_unusable_user_is_refused_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = create(capsys, "--username", "")
    assert (status, out) == (2, "")
    assert "username:" in err


def test_python_m_gateway_auth_help_mints_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.auth", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "gennaker auth token create" in done.stdout
    assert "gnk_" not in done.stdout
