"""Every knob of a Gennaker process, read from ``GENNAKER_*`` environment variables and a settings file.

Precedence, highest first: explicit keyword arguments, environment variables, the settings file,
the defaults below. The settings file is named by ``--settings PATH`` or ``GENNAKER_SETTINGS_FILE``
and may be TOML (``.toml``), YAML (``.yaml``/``.yml``, needs PyYAML) or JSON (``.json``); its
keys are the field names below without the prefix, e.g. ``amqp_url = "amqp://..."``.

Unset ``amqp_url`` means the in-process bus, unset ``mongo_url`` the embedded store under
``data_dir``. ``data_dir`` defaults to ``$XDG_DATA_HOME/gennaker`` (``~/.local/share/gennaker``)
rather than the working directory, so ``gennaker up`` finds the same data wherever it is started.

Nested settings (``auth``, ``accounts``) are tables in the file (``[auth]``, ``[[accounts]]``); in
the environment ``auth`` takes ``GENNAKER_AUTH__MODE``-style variables and ``accounts`` a JSON list
in ``GENNAKER_ACCOUNTS``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from gennaker.client_settings import gateway_address
from gennaker.settings_file import SETTINGS_FILE_ENV, SettingsError, read_settings_file
from schemas.artifact_accounts import ArtifactSettings
from schemas.auth_settings import AuthConfig
from schemas.clouddriver import AccountConfig
from schemas.dinghy import DinghySettings
from schemas.echo_notifications import NotificationSettings
from schemas.echo_sinks import SinkConfig
from schemas.igor import IgorSettings
from schemas.kayenta import KayentaSettings
from schemas.limits import PipelineLimits
from schemas.outbound import OutboundSettings
from schemas.pipeline_locks import DEFAULT_LOCK_OWNERS
from schemas.rosco import RoscoSettings
from schemas.terraformer import TerraformerSettings
from schemas.validation import describe_problems, listed_twice

__all__ = ["SETTINGS_FILE_ENV", "Settings", "SettingsError", "load_settings", "read_settings_file", "redact_url"]

if TYPE_CHECKING:
    from bus.retry import RetryPolicy  # the bus package is loaded by processes that use one, not by every CLI command

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_file_values: ContextVar[dict[str, Any] | None] = ContextVar("gennaker_settings_file_values", default=None)


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/gennaker``, or ``~/.local/share/gennaker`` when that is unset."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gennaker"


class Settings(BaseSettings):
    """Gennaker's configuration; build it with :func:`load_settings` to include a settings file."""

    model_config = SettingsConfigDict(
        env_prefix="GENNAKER_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    amqp_url: str | None = Field(None, description="RabbitMQ URL; unset runs the in-process bus (`gennaker up` only)")
    mongo_url: str | None = Field(None, description="MongoDB URL; unset runs the embedded store under data_dir")
    mongo_database: str = Field("gennaker", min_length=1, description="Database holding every service's collections")
    data_dir: Path = Field(default_factory=default_data_dir, description="Where the embedded store keeps its file")
    gateway_host: str = Field("127.0.0.1", description="Interface the gateway listens on")
    gateway_port: int = Field(8084, ge=0, le=65535, description="Port the gateway listens on (0: any free port)")
    gateway_url: str | None = Field(None, description="Gateway the CLI talks to; default http://<host>:<port>")
    gateway_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body the gateway reads, in bytes (413 beyond)"
    )
    gateway_allowed_hosts: list[str] | None = Field(
        None,
        description="Host header names the gateway answers to ('*': any; '.example.com': a domain); "
        "unset: localhost, 127.0.0.1, [::1] and gateway_host",
    )
    gateway_cors_allowed_origins: list[str] = Field(
        default_factory=list, description="Origins of web pages elsewhere that may call the gateway (CORS); none"
    )
    otlp_endpoint: str | None = Field(
        None,
        pattern=r"^https?://",
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); unset: no spans exported",
    )
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus port of `gennaker worker` (0: any, logged)")
    token: str | None = Field(None, description="API token the CLI sends to the gateway (Authorization: Bearer)")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="Who may call the gateway; see gateway.auth")
    accounts: list[AccountConfig] | None = Field(
        None, description="Clouddriver's accounts; unset: none, except a `local` one under `gennaker up`"
    )
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings, description="Echo's SMTP server, Slack bot and Deck address"
    )
    rosco: RoscoSettings = Field(
        default_factory=RoscoSettings,
        description="Rosco's kubectl, helm/chart accounts ([[rosco.helm_accounts]]) and bakery (packer, "
        "bakeryDefaults, maxConcurrentBakes)",
    )
    kayenta: KayentaSettings = Field(
        default_factory=KayentaSettings, description="Kayenta's metrics accounts: [[kayenta.accounts]]"
    )
    terraformer: TerraformerSettings = Field(
        default_factory=TerraformerSettings,
        description="Terraformer's binary, profiles and provider mirror: [terraformer], [[terraformer.profiles]]",
    )
    igor: IgorSettings = Field(
        default_factory=IgorSettings,
        description="Igor's Jenkins masters ([[igor.jenkins]] name, address, username) and docker registries "
        "([[igor.docker_registries]] name, address, repositories)",
    )
    dinghy: DinghySettings = Field(
        default_factory=DinghySettings,
        description="Dinghy's template repository and repositories: [dinghy], [[dinghy.repositories]]",
    )
    sinks: list[SinkConfig] = Field(
        default_factory=list, description="Where Echo forwards events: [[sinks]] (elasticsearch, splunk, rest)"
    )
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings,
        description=(
            "The artifact accounts (http/file, github/file, gitlab/file; gitrepo for git/repo clones): "
            "[[artifacts.accounts]]"
        ),
    )
    outbound: OutboundSettings = Field(
        default_factory=OutboundSettings,
        description="Where webhook stages, notifications and sinks may send requests; see schemas.outbound",
    )
    pipeline_limits: PipelineLimits = Field(
        default_factory=PipelineLimits,
        description="How large a pipeline Front50 saves and Orca starts: [pipeline_limits] max_stages, max_depth, "
        "max_stage_bytes, max_pipeline_bytes",
    )
    pipeline_lock_owners: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LOCK_OWNERS),
        max_length=64,
        description="Service accounts whose saves pass pipeline locks (pipelines managed as code); "
        "see schemas.pipeline_locks",
    )
    log_level: LogLevel = "INFO"
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: readable lines when stderr is a terminal, JSON lines otherwise; or json, console"
    )
    query_timeout: float = Field(5.0, gt=0, description="Seconds a query waits for its reply")
    command_timeout: float = Field(
        10.0, gt=0, description="Seconds the gateway waits for the event answering a command before a 504"
    )
    stop_grace: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a stopping worker lets handlers in flight finish; those still running are then "
        "cancelled and their messages redelivered",
    )
    retry_max_attempts: int = Field(5, ge=1, description="Handler attempts before a message is dead-lettered")
    retry_base_delay: float = Field(0.5, gt=0, description="Seconds before the first retry")
    retry_factor: float = Field(2.0, ge=1, description="Backoff multiplier between retries")
    retry_max_delay: float = Field(60.0, gt=0, description="Longest wait between retries, in seconds")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("amqp_url", "mongo_url", "gateway_url", "otlp_endpoint", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_settings = InitSettingsSource(settings_cls, init_kwargs=dict(_file_values.get() or {}))
        return (init_settings, env_settings, file_settings)

    @field_validator("accounts")
    @classmethod
    def _unique_account_names(cls, value: list[AccountConfig] | None) -> list[AccountConfig] | None:
        duplicated = listed_twice(account.name for account in value or ())
        if duplicated:
            raise ValueError(f"accounts are listed twice: {', '.join(duplicated)}; account names must be unique")
        return value

    @field_validator("igor")
    @classmethod
    def _unique_master_names(cls, value: IgorSettings) -> IgorSettings:
        duplicated = listed_twice(master.name for master in value.jenkins)
        if duplicated:
            raise ValueError(f"igor.jenkins masters are listed twice: {', '.join(duplicated)}; names must be unique")
        duplicated = listed_twice(registry.name for registry in value.docker_registries)
        if duplicated:
            raise ValueError(
                f"igor.docker_registries are listed twice: {', '.join(duplicated)}; account names must be unique"
            )
        return value

    @field_validator("sinks")
    @classmethod
    def _unique_sink_names(cls, value: list[SinkConfig]) -> list[SinkConfig]:
        duplicated = listed_twice(sink.name for sink in value)
        if duplicated:
            raise ValueError(f"sinks are listed twice: {', '.join(duplicated)}; each sink has its own queue by name")
        return value

    def retry_policy(self) -> RetryPolicy:
        """The bus retry policy these settings describe."""
        from bus.retry import RetryPolicy

        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            base_delay=self.retry_base_delay,
            factor=self.retry_factor,
            max_delay=self.retry_max_delay,
        )

    def client_gateway_url(self) -> str:
        """Where the CLI reaches the gateway: ``gateway_url``, else the host and port it listens on."""
        return gateway_address(self.gateway_url, self.gateway_host, self.gateway_port)

    def store_path(self) -> Path:
        """The embedded store's SQLite file."""
        return self.data_dir.expanduser() / "store.sqlite"


def load_settings(file: Path | str | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment and ``file`` (default: ``$GENNAKER_SETTINGS_FILE``).

    Raises :class:`SettingsError` naming the bad setting and where it came from.
    """
    path = file if file is not None else os.environ.get(SETTINGS_FILE_ENV) or None
    values = read_settings_file(Path(path).expanduser()) if path else {}
    token = _file_values.set(values)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = describe_problems(error)
        origin = f"the environment (GENNAKER_*) or {path}" if path else "the environment (GENNAKER_*)"
        raise SettingsError(f"invalid settings from {origin}: {problems}") from None
    finally:
        _file_values.reset(token)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
