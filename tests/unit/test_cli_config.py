"""``gennaker config`` shows each setting's value and source, and never a secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from gennaker import cli
from gennaker import logging as gennaker_logging
from gennaker.commands.config import VALUE_WIDTH

SETTINGS = """
mongo_url = "mongodb://store:store-pw@db:27017/"
log_level = "debug"
token = "gnk_the-cli-token"

[notifications]
smtp_host = "mail.example.com"
slack_token = "xoxb-slack-secret"

[[accounts]]
name = "prod"
cloudProvider = "aws"
aws = { access_key_id = "AKIA", secret_access_key = "aws-secret" }

[[artifacts.accounts]]
name = "infra-git"
type = "gitrepo"
username = "deployer"
password = "gitrepo-pw-secret"

[[artifacts.accounts]]
name = "infra-ssh"
type = "gitrepo"
sshPrivateKeyFilePath = "/etc/gennaker/deploy-key"
sshKnownHostsFilePath = "/etc/gennaker/known_hosts"
"""
SECRETS = ("store-pw", "gnk_the-cli-token", "xoxb-slack-secret", "aws-secret", "amqp-pw", "gitrepo-pw-secret")


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENNAKER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(gennaker_logging, "configure_logging", lambda *args, **kwargs: None)


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "gennaker.toml"
    path.write_text(SETTINGS)
    monkeypatch.setenv("GENNAKER_AMQP_URL", "amqp://gennaker:amqp-pw@rabbit:5672/prod")
    monkeypatch.setenv("GENNAKER_LOG_LEVEL", "WARNING")  # wins over the file's debug
    monkeypatch.setenv("GENNAKER_AUTH__REALM", "ops")
    return path


def config(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(["config", *argv]) == 0
    out, _ = capsys.readouterr()
    assert not [secret for secret in SECRETS if secret in out], out
    return out


def test_json_names_each_settings_source_and_hides_secrets(
    capsys: pytest.CaptureFixture[str], settings_file: Path
) -> None:
    document = json.loads(config(capsys, "--settings", str(settings_file), "-o", "json"))
    assert document["settings_file"] == str(settings_file)
    found = {name: (item["value"], item["source"]) for name, item in document["settings"].items()}
    assert found["amqp_url"] == ("amqp://gennaker:***@rabbit:5672/prod", "environment")
    assert found["mongo_url"] == ("mongodb://store:***@db:27017/", "file")
    assert found["log_level"] == ("WARNING", "environment")
    assert found["token"] == ("**********", "file")
    assert found["notifications.smtp_host"] == ("mail.example.com", "file")
    assert found["notifications.slack_token"] == ("**********", "file")
    assert found["notifications.smtp_port"] == (587, "default")
    assert found["auth.realm"] == ("ops", "environment")
    assert found["auth.mode"] == ("none", "default")
    assert found["gateway_port"] == (8084, "default")
    (account,) = found["accounts"][0]
    assert account["aws"]["secret_access_key"] == "**********" and found["accounts"][1] == "file"
    git, ssh = found["artifacts.accounts"][0]
    assert git["password"] == "**********" and git["username"] == "deployer"
    assert ssh["ssh_private_key_file_path"] == "/etc/gennaker/deploy-key" and ssh["password"] is None


def test_yaml_is_the_json_document(capsys: pytest.CaptureFixture[str], settings_file: Path) -> None:
    as_json = json.loads(config(capsys, "--settings", str(settings_file), "-o", "json"))
    assert yaml.safe_load(config(capsys, "--settings", str(settings_file), "-o", "yaml")) == as_json


def test_the_table_has_a_header_and_cuts_long_values(capsys: pytest.CaptureFixture[str], settings_file: Path) -> None:
    lines = config(capsys, "--settings", str(settings_file)).splitlines()
    assert lines[0].split() == ["SETTING", "VALUE", "SOURCE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["mongo_url"][1:] == ["mongodb://store:***@db:27017/", "file"]
    assert rows["gateway_port"][1:] == ["8084", "default"]
    paths = rows["auth.public_paths"][1]
    assert paths.endswith("...") and len(paths) == VALUE_WIDTH


def test_without_a_file_everything_is_a_default_or_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENNAKER_GATEWAY_PORT", "9000")
    settings = json.loads(config(capsys, "-o", "json"))["settings"]
    assert settings["gateway_port"] == {"value": 9000, "source": "environment"}
    assert settings["data_dir"]["source"] == "environment"  # GENNAKER_DATA_DIR, set by the fixture
    from_environment = {"gateway_port", "data_dir"}
    assert {item["source"] for name, item in settings.items() if name not in from_environment} == {"default"}
