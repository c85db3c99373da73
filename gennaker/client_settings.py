"""The few settings a command that only calls the gateway needs, read without pydantic.

Loading :class:`gennaker.settings.Settings` means importing pydantic, pydantic-settings and every
service's settings model: half a second before ``gennaker application list`` can send its one
request. Such a command needs only the gateway's address and the API token, so when the
environment and the settings file name nothing else, :func:`client_settings` reads those here. It
answers ``None`` whenever it cannot be sure the full settings would give the same values (another
setting is named, or a value is one this reader does not accept as the full model would), and
the caller loads the full settings, which check everything and name the problem as before.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from gennaker.settings_file import SETTINGS_FILE_ENV, read_settings_file

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "console")
_PORT = re.compile(r"[0-9]{1,5}")


class GatewayAccess(Protocol):
    """What a command that calls the gateway reads of its settings (both settings classes have it)."""

    @property
    def token(self) -> str | None: ...

    def client_gateway_url(self) -> str: ...


@dataclass(frozen=True)
class ClientSettings:
    """The gateway-client subset of :class:`gennaker.settings.Settings`, with the same defaults."""

    gateway_url: str | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8084
    token: str | None = None
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    def client_gateway_url(self) -> str:
        """Where the CLI reaches the gateway, as :meth:`gennaker.settings.Settings.client_gateway_url`."""
        return gateway_address(self.gateway_url, self.gateway_host, self.gateway_port)


def gateway_address(url: str | None, host: str, port: int) -> str:
    """``url`` without a trailing slash, else ``http://host:port`` (a wildcard host as 127.0.0.1)."""
    if url:
        return url.rstrip("/")
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def client_settings(file: Path | str | None = None) -> ClientSettings | None:
    """The client settings from the environment and ``file`` (default ``$GENNAKER_SETTINGS_FILE``),
    or ``None`` when only the full settings can say (see the module's docstring).

    Raises :class:`~gennaker.settings_file.SettingsError` when the file cannot be read, as the full
    settings do.
    """
    path = file if file is not None else os.environ.get(SETTINGS_FILE_ENV) or None
    values: dict[str, Any] = read_settings_file(Path(path).expanduser()) if path else {}
    for key, value in os.environ.items():  # pydantic-settings reads GENNAKER_* case-insensitively
        name = key.lower()
        if name.startswith("gennaker_") and name != SETTINGS_FILE_ENV.lower():
            values[name.removeprefix("gennaker_")] = value  # the environment wins over the file
    fields: dict[str, Any] = {
        name: _READERS[name](value) if name in _READERS else _UNSURE for name, value in values.items()
    }
    if any(value is _UNSURE for value in fields.values()):
        return None
    return ClientSettings(**fields)


_UNSURE = object()
"""A value only the full settings can judge."""


def _url(value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, str):
        return _UNSURE
    return value if value.strip() else None


def _text_or_none(value: object) -> object:
    return value if value is None or isinstance(value, str) else _UNSURE


def _host(value: object) -> object:
    return value if isinstance(value, str) else _UNSURE


def _port(value: object) -> object:
    if isinstance(value, str) and _PORT.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    return _UNSURE


def _level(value: object) -> object:
    return value.upper() if isinstance(value, str) and value.upper() in LOG_LEVELS else _UNSURE


def _format(value: object) -> object:
    return value if value in LOG_FORMATS else _UNSURE


_READERS = {
    "gateway_url": _url,
    "gateway_host": _host,
    "gateway_port": _port,
    "token": _text_or_none,
    "log_level": _level,
    "log_format": _format,
}
