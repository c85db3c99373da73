"""Settings come from defaults, a settings file and GENNAKER_* variables, in that rising order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bus import RetryPolicy
from gennaker.settings import Settings, SettingsError, default_data_dir, load_settings, redact_url


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GENNAKER_* variable of the machine running the tests leaks into them."""
    import os

    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)


def test_defaults_run_everything_embedded() -> None:
    settings = load_settings()
    assert settings.amqp_url is None
    assert settings.mongo_url is None
    assert settings.mongo_database == "gennaker"
    assert settings.gateway_host == "127.0.0.1"
    assert settings.gateway_port == 8084
    assert settings.client_gateway_url() == "http://127.0.0.1:8084"
    assert settings.metrics_port == 0
    assert settings.log_level == "INFO"
    assert settings.retry_policy() == RetryPolicy()
    assert settings.data_dir == default_data_dir()
    assert settings.store_path() == default_data_dir() / "store.sqlite"


def test_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert load_settings().data_dir == tmp_path / "gennaker"


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENNAKER_AMQP_URL", "amqp://guest:guest@rabbit/")
    monkeypatch.setenv("GENNAKER_MONGO_URL", "mongodb://mongo:27017/")
    monkeypatch.setenv("GENNAKER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GENNAKER_GATEWAY_PORT", "9000")
    monkeypatch.setenv("GENNAKER_LOG_LEVEL", "debug")
    monkeypatch.setenv("GENNAKER_RETRY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("GENNAKER_RETRY_BASE_DELAY", "0.1")
    settings = load_settings()
    assert settings.amqp_url == "amqp://guest:guest@rabbit/"
    assert settings.mongo_url == "mongodb://mongo:27017/"
    assert settings.store_path() == tmp_path / "store.sqlite"
    assert settings.client_gateway_url() == "http://127.0.0.1:9000"
    assert settings.log_level == "DEBUG"
    assert settings.retry_policy() == RetryPolicy(max_attempts=3, base_delay=0.1)


def test_blank_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_AMQP_URL", "")
    assert load_settings().amqp_url is None


def test_gateway_url_wins_for_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_GATEWAY_URL", "https://gennaker.example.com/")
    assert load_settings().client_gateway_url() == "https://gennaker.example.com"


def test_gateway_listening_everywhere_is_reached_on_localhost() -> None:
    assert Settings(gateway_host="0.0.0.0", gateway_port=1234).client_gateway_url() == "http://127.0.0.1:1234"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("s.toml", 'amqp_url = "amqp://file/"\ngateway_port = 9100\nlog_level = "warning"\n'),
        ("s.yaml", "amqp_url: amqp://file/\ngateway_port: 9100\nlog_level: warning\n"),
        ("s.yml", "GENNAKER_AMQP_URL: amqp://file/\ngateway_port: 9100\nlog_level: warning\n"),
        ("s.json", json.dumps({"amqp_url": "amqp://file/", "gateway_port": 9100, "log_level": "warning"})),
    ],
)
def test_settings_file_formats(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    settings = load_settings(path)
    assert settings.amqp_url == "amqp://file/"
    assert settings.gateway_port == 9100
    assert settings.log_level == "WARNING"


def test_settings_file_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "gennaker.toml"
    path.write_text('mongo_url = "mongodb://from-file/"\n')
    monkeypatch.setenv("GENNAKER_SETTINGS_FILE", str(path))
    assert load_settings().mongo_url == "mongodb://from-file/"


def test_environment_wins_over_file_and_file_over_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "gennaker.toml"
    path.write_text('amqp_url = "amqp://file/"\nmongo_url = "mongodb://file/"\n')
    monkeypatch.setenv("GENNAKER_AMQP_URL", "amqp://env/")
    settings = load_settings(path)
    assert settings.amqp_url == "amqp://env/"
    assert settings.mongo_url == "mongodb://file/"
    assert settings.gateway_port == 8084


def test_explicit_arguments_win_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_GATEWAY_PORT", "9000")
    assert load_settings(gateway_port=0).gateway_port == 0


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gennaker.toml"
    path.write_text('amqp_uri = "amqp://typo/"\n')
    with pytest.raises(SettingsError, match="amqp_uri"):
        load_settings(path)


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_GATEWAY_PORT", "eighty")
    with pytest.raises(SettingsError, match="gateway_port"):
        load_settings()


def test_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"does not exist.*GENNAKER_SETTINGS_FILE"):
        load_settings(tmp_path / "nope.toml")


def test_unparseable_file(tmp_path: Path) -> None:
    path = tmp_path / "gennaker.toml"
    path.write_text("amqp_url = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(path)


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "gennaker.ini"
    path.write_text("[x]\n")
    with pytest.raises(SettingsError, match=r"\.toml, \.yaml"):
        load_settings(path)


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("amqp://guest:secret@rabbit:5672/vhost") == "amqp://guest:***@rabbit:5672/vhost"
    assert redact_url("mongodb://mongo:27017/") == "mongodb://mongo:27017/"


def test_auth_section_from_file_and_nested_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    file = tmp_path / "gennaker.toml"
    file.write_text(
        '[auth]\nmode = "static"\n'
        f'[[auth.users]]\nusername = "ci-bot"\ntoken_sha256 = "{digest}"\nroles = ["deployers"]\n'
    )
    settings = load_settings(file)
    assert settings.auth.mode == "static"
    assert [(user.username, list(user.roles)) for user in settings.auth.users] == [("ci-bot", ["deployers"])]
    monkeypatch.setenv("GENNAKER_AUTH__ADMIN_ROLES", '["ops"]')
    assert list(load_settings(file).auth.admin_roles) == ["ops"]


def test_auth_defaults_to_none_and_a_bad_mode_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().auth.mode == "none"
    monkeypatch.setenv("GENNAKER_AUTH__MODE", "kerberos")
    with pytest.raises(SettingsError, match="auth"):
        load_settings()


def test_accounts_from_file_become_clouddriver_account_details(tmp_path: Path) -> None:
    file = tmp_path / "gennaker.toml"
    file.write_text(
        '[[accounts]]\nname = "prod"\ncloudProvider = "aws"\nregions = ["us-east-1", "eu-west-1"]\n'
        'permissions = { READ = ["ops", "dev"], WRITE = ["ops"] }\n'
        '[[accounts]]\nname = "staging"\ntype = "kubernetes"\nprimaryAccount = true\n'
    )
    prod, staging = load_settings(file).accounts or []
    assert prod.details() == {
        "name": "prod",
        "type": "aws",
        "cloudProvider": "aws",
        "environment": "prod",
        "accountType": "prod",
        "primaryAccount": False,
        "challengeDestructiveActions": False,
        "requiredGroupMembership": [],
        "permissions": {"READ": ["ops", "dev"], "WRITE": ["ops"]},
        "regions": [{"name": "us-east-1"}, {"name": "eu-west-1"}],
    }
    assert staging.cloud_provider == "kubernetes" and staging.primary_account
    assert staging.details()["permissions"] == {} and "regions" not in staging.details()


def test_accounts_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_ACCOUNTS", '[{"name": "dev", "cloud_provider": "kubernetes"}]')
    assert [(a.name, a.cloud_provider) for a in load_settings().accounts or []] == [("dev", "kubernetes")]


def test_accounts_are_unset_by_default_and_up_adds_a_local_one_fenced_to_the_examples() -> None:
    from gennaker.commands.up import EXAMPLES, accounts_notice, with_default_accounts

    assert Settings().accounts is None
    local = with_default_accounts(Settings()).accounts or []
    assert [(a.name, a.cloud_provider, a.details()["permissions"]) for a in local] == [("local", "local", {})]
    assert local[0].local is not None and local[0].local.artifact_dirs == (str(EXAMPLES),)
    assert not local[0].local.unrestricted and "local" not in local[0].details()
    assert f"runs only what is inside {EXAMPLES}" in accounts_notice(with_default_accounts(Settings()))
    assert with_default_accounts(Settings(accounts=[])).accounts == []


def test_up_adds_no_implicit_account_once_authentication_is_on() -> None:
    from gennaker.commands.up import accounts_notice, with_default_accounts

    secured = Settings(auth={"mode": "static", "trusted_proxies": ["127.0.0.1/32"]})
    assert with_default_accounts(secured).accounts is None
    assert "none implicit because authentication is on" in accounts_notice(secured)


@pytest.mark.parametrize(
    ("local", "problem"),
    [
        ({"artifactDirs": ["examples"]}, "must be absolute paths"),
        ({"executables": ["node"]}, "must be absolute paths"),
        ({"inheritEnv": ["PATH", "GENNAKER_TOKEN"]}, "Gennaker's own variables"),
        ({"unknown": True}, "Extra inputs"),
    ],
)
def test_local_account_settings_are_checked(local: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(accounts=[{"name": "local", "cloudProvider": "local", "local": local}])


def test_local_settings_belong_to_local_accounts_and_capacity_is_bounded() -> None:
    with pytest.raises(ValidationError, match="local: settings need cloudProvider 'local'"):
        Settings(accounts=[{"name": "prod", "cloudProvider": "aws", "local": {"unrestricted": True}}])
    with pytest.raises(ValidationError, match=r"maxCapacity|max_capacity"):
        Settings(accounts=[{"name": "prod", "cloudProvider": "aws", "maxCapacity": -1}])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[accounts]]\nname = "prod"\n', r"accounts\.0\.cloudProvider"),
        ('[[accounts]]\nname = "prod"\ntype = "aws"\npermisions = {}\n', r"accounts\.0\.permisions"),
        ('[[accounts]]\nname = "prod"\ntype = "aws"\npermissions = { DELETE = ["x"] }\n', "DELETE"),
        ('[[accounts]]\nname = "a"\ntype = "aws"\n[[accounts]]\nname = "a"\ntype = "gce"\n', "listed twice: a"),
        ('[[accounts]]\nname = "has space"\ntype = "aws"\n', r"accounts\.0\.name"),
    ],
)
def test_bad_accounts_are_named(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "gennaker.toml"
    file.write_text(text)
    with pytest.raises(SettingsError, match=problem):
        load_settings(file)


def test_gateway_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.query_timeout, settings.command_timeout) == (5.0, 10.0)
    monkeypatch.setenv("GENNAKER_QUERY_TIMEOUT", "2.5")
    monkeypatch.setenv("GENNAKER_COMMAND_TIMEOUT", "30")
    settings = load_settings()
    assert (settings.query_timeout, settings.command_timeout) == (2.5, 30.0)
    monkeypatch.setenv("GENNAKER_COMMAND_TIMEOUT", "0")
    with pytest.raises(SettingsError, match="command_timeout"):
        load_settings()
