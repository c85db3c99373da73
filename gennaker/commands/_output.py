"""What the ``spin``-like commands (``application``, ``pipeline``) share: finding the gateway and printing.

Like ``spin``, they take ``--gate-endpoint`` (which wins over ``GENNAKER_GATEWAY_URL``) and send the
API token from ``GENNAKER_TOKEN`` or ``token = ...`` in the settings file. People get aligned
plain-text columns; ``--output json`` prints the gateway's JSON unchanged, so a script can pipe
``pipeline get --output json`` straight back into ``pipeline save --file -``; ``--output yaml``
prints the same as YAML.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from gennaker.commands._common import CliError
from gennaker.commands._formats import OUTPUT_FORMATS
from gennaker.commands._gateway_client import GatewayClient

if TYPE_CHECKING:
    from gennaker.client_settings import GatewayAccess
    from schemas.json_types import Json


def api_options(*, logs: bool = False) -> argparse.ArgumentParser:
    """A parent parser with ``--gate-endpoint`` and ``--output``, for each leaf sub-command.

    Such a command reads only the gateway's address and token of the settings (see
    :mod:`gennaker.client_settings`), and configures no logging unless ``logs`` (it logs nothing).
    """
    options = argparse.ArgumentParser(add_help=False)
    options.set_defaults(client_settings=True, logs=logs)
    options.add_argument(
        "--gate-endpoint",
        metavar="URL",
        help="the gateway (Gate API) to call; default $GENNAKER_GATEWAY_URL, else http://127.0.0.1:8084",
    )
    options.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help="table (aligned columns, the default), or json or yaml (the gateway's answer unchanged, for scripts)",
    )
    return options


def gate_client(args: argparse.Namespace, settings: GatewayAccess) -> GatewayClient:
    """A client for ``--gate-endpoint`` (else the settings' gateway) sending the settings' token."""
    endpoint = args.gate_endpoint or settings.client_gateway_url()
    if not endpoint.startswith(("http://", "https://")):
        raise CliError(f"--gate-endpoint {endpoint!r} must be an http:// or https:// URL", code=2)
    return GatewayClient(endpoint, token=settings.token)


def segment(value: str) -> str:
    """``value`` as one URL path segment: names may hold spaces and slashes (``deploy to prod``)."""
    return quote(value, safe="")


def timestamp(value: object) -> str | None:
    """Spinnaker's epoch milliseconds (a number or a numeric string) as UTC ``YYYY-MM-DD HH:MM:SS``."""
    try:
        millis = int(str(value))
    except ValueError:
        return None if value is None else str(value)
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def note(message: str) -> None:
    """A remark for the person at the terminal (stderr, so ``--output json`` stays parseable)."""
    print(f"gennaker: {message}", file=sys.stderr)


def read_json_object(path: str, what: str) -> Json:
    """The JSON object in file ``path`` (``-`` for stdin); exit status 2 naming the file when it is not one."""
    source = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {what} file {source}: {error.strerror or error}", code=2) from None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise CliError(f"{what} file {source} is not valid JSON: {error}", code=2) from None
    if not isinstance(value, dict):
        raise CliError(f"{what} file {source} must hold one JSON object, not {type(value).__name__}", code=2)
    return value
