"""``gennaker config``: the settings this command line would run with, and where each one came from.

One line per setting, nested ones by their dotted name (auth.mode). Its source is
``environment`` (a ``GENNAKER_*`` variable, ``GENNAKER_AUTH__MODE``-style for nested ones),
``file`` (the settings file of ``--settings`` or ``GENNAKER_SETTINGS_FILE``) or ``default``; the
environment wins over the file. Secrets (tokens, passwords, keys) are shown as ``**********`` and
passwords in URLs as ``***``. The table cuts long values to keep to one line; ``--output json``
prints them whole (still hidden), e.g. ``gennaker config -o json | jq .settings``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gennaker.commands._table import cell, print_table, shorten

if TYPE_CHECKING:
    from gennaker.settings import Settings

OUTPUT_FORMATS = ("table", "json", "yaml")
VALUE_WIDTH = 60
"""The widest value the table shows; longer ones end in ``...`` (``--output json`` has them whole)."""
HIDDEN = "**********"
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "application_key")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``config`` to the CLI."""
    parser = commands.add_parser(
        "config",
        parents=[common],
        help="show the effective settings and where each came from",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help="table (SETTING VALUE SOURCE, the default), or json or yaml ({settings: {name: {value, source}}})",
    )
    parser.set_defaults(run=run, logs=False)


def is_secret(key: str) -> bool:
    """Whether a setting's value under ``key`` is a secret (a digest such as ``token_sha256`` is not)."""
    lowered = key.lower()
    return not lowered.endswith("_sha256") and any(word in lowered for word in _SECRET_WORDS)


def hidden(value: Any, key: str = "") -> Any:
    """``value`` with every secret replaced by the marker and every URL's password by ``***``."""
    from gennaker.settings import redact_url

    if isinstance(value, dict):
        return {name: hidden(item, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [hidden(item, key) for item in value]
    if isinstance(value, str) and value and is_secret(key):
        return HIDDEN
    if isinstance(value, str) and "://" in value:
        try:
            return redact_url(value)
        except ValueError:
            return value
    return value


def source_of(path: tuple[str, ...], environ: Mapping[str, str], file_values: Mapping[str, Any]) -> str:
    """Where the setting at ``path`` (``("auth", "mode")``) came from: ``environment``, ``file`` or ``default``.

    A variable for the setting or for a table holding it counts (``GENNAKER_AUTH__MODE``,
    ``GENNAKER_AUTH``); the environment wins over the file.
    """
    variables = {"GENNAKER_" + "__".join(path[:depth]).upper() for depth in range(1, len(path) + 1)}
    if any(key.upper() in variables for key in environ):
        return "environment"
    found: Any = file_values
    for key in path:
        if not isinstance(found, Mapping) or key not in found:
            return "default"
        found = found[key]
    return "file"


def leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Each setting under ``path`` that is not a table, with its value; tables are walked into."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    else:
        yield path, value


def effective(settings: Settings, file: str | None) -> dict[str, dict[str, Any]]:
    """Every setting (``auth.mode`` for nested ones), its hidden value and its source, in declared order."""
    from pathlib import Path

    from gennaker.settings import read_settings_file

    file_values = read_settings_file(Path(file).expanduser()) if file else {}
    values = hidden(settings.model_dump(mode="json"))
    return {
        ".".join(path): {"value": value, "source": source_of(path, os.environ, file_values)}
        for name in type(settings).model_fields
        for path, value in leaves(values[name], (name,))
    }


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the table (or the JSON object) of the effective settings."""
    from gennaker.settings import SETTINGS_FILE_ENV

    file = args.settings if args.settings is not None else os.environ.get(SETTINGS_FILE_ENV) or None
    found = effective(settings, file)
    if args.output != "table":
        from gennaker.commands._formats import print_data

        print_data({"settings_file": file, "settings": found}, args.output)
        return 0
    if file:
        print(f"gennaker: settings file {file}", file=sys.stderr)
    rows = [[name, shorten(cell(item["value"]), VALUE_WIDTH), item["source"]] for name, item in found.items()]
    print_table(["SETTING", "VALUE", "SOURCE"], rows, empty="no settings")
    return 0
