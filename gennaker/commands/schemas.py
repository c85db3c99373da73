"""``gennaker schemas export DIR``: write the JSON Schema (and AsyncAPI) documents of every message."""

from __future__ import annotations

import argparse
from pathlib import Path

from gennaker.commands._common import optional_module
from gennaker.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``schemas export`` to the CLI."""
    parser = commands.add_parser("schemas", parents=[common], help="generated message schemas", description=__doc__)
    actions = parser.add_subparsers(dest="schemas_command", required=True, metavar="COMMAND")
    export = actions.add_parser("export", parents=[common], help="write every message's schema to DIR")
    export.add_argument("directory", metavar="DIR", type=Path)
    export.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Export, then print each file written."""
    exporter = optional_module("schemas.export", "schema export")
    written: list[Path] = exporter.export_schemas(args.directory)
    for path in written:
        print(path)
    print(f"wrote {len(written)} files to {args.directory}")
    return 0
