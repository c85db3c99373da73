"""The gateway client's settings are the full settings' values, or ``None`` so the full ones are loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gennaker.client_settings import client_settings
from gennaker.settings import load_settings
from gennaker.settings_file import SettingsError

FIELDS = ("gateway_url", "gateway_host", "gateway_port", "token", "log_level", "log_format")


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GENNAKER_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("environment", "file"),
    [
        ({}, None),
        ({"GENNAKER_GATEWAY_URL": "https://gate.example.com/", "GENNAKER_TOKEN": "gk_1"}, None),
        ({"gennaker_gateway_port": "9000", "GENNAKER_GATEWAY_HOST": "::"}, None),
        ({"GENNAKER_GATEWAY_URL": "  ", "GENNAKER_LOG_LEVEL": "debug", "GENNAKER_LOG_FORMAT": "json"}, None),
        ({"GENNAKER_TOKEN": "from-env"}, {"token": "from-file", "gateway_port": 8100, "GENNAKER_LOG_LEVEL": "warning"}),
        ({}, {"gateway_url": None, "token": None, "gateway_host": "0.0.0.0", "gateway_port": "80"}),
    ],
)
def test_the_values_are_the_full_settings_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], file: dict[str, object] | None
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    path = None
    if file is not None:
        path = tmp_path / "gennaker.json"
        path.write_text(json.dumps(file))
    client = client_settings(path)
    full = load_settings(path)
    assert client is not None
    assert {name: getattr(client, name) for name in FIELDS} == {name: getattr(full, name) for name in FIELDS}
    assert client.client_gateway_url() == full.client_gateway_url()


@pytest.mark.parametrize(
    ("environment", "file"),
    [
        ({"GENNAKER_AMQP_URL": "amqp://localhost/"}, None),  # another setting: the full ones decide
        ({"GENNAKER_AUTH__MODE": "static"}, None),
        ({"GENNAKER_GATEWAY_PORT": "70000"}, None),  # out of range: the full settings name the problem
        ({"GENNAKER_GATEWAY_PORT": "eighty"}, None),
        ({"GENNAKER_LOG_LEVEL": "chatty"}, None),
        ({}, {"gateway_port": True}),
        ({}, {"token": 12}),
        ({}, {"no_such_setting": 1}),
        ({}, {"sinks": []}),
    ],
)
def test_anything_else_is_left_to_the_full_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], file: dict[str, object] | None
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    path = None
    if file is not None:
        path = tmp_path / "gennaker.json"
        path.write_text(json.dumps(file))
    assert client_settings(path) is None


def test_an_unreadable_file_is_refused_as_the_full_settings_refuse_it(tmp_path: Path) -> None:
    path = tmp_path / "gennaker.toml"
    path.write_text("token = ")
    with pytest.raises(SettingsError) as client:
        client_settings(path)
    with pytest.raises(SettingsError) as full:
        load_settings(path)
    assert str(client.value) == str(full.value)


def test_the_settings_file_variable_is_not_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "gennaker.toml"
    path.write_text('token = "gk_2"')
    monkeypatch.setenv("GENNAKER_SETTINGS_FILE", str(path))
    client = client_settings()
    assert client is not None and client.token == "gk_2"
