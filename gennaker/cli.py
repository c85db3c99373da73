"""The ``gennaker`` command: run the system (``up``, ``worker``, ``gateway``, ``store serve``) and operate it.

Exit status: 0 on success (including a graceful stop by SIGTERM or SIGINT), 1 when something
failed, 2 when the command line, the settings or a given message was wrong. Errors are one line on
stderr saying what to do; logs are JSON lines on stderr; what the command reports goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gennaker import __version__
from gennaker.commands import application, dlq, events, execution, gateway, pipeline, schemas, store, up, worker
from gennaker.commands._common import CliError
from gennaker.logging import configure_logging
from gennaker.settings import SETTINGS_FILE_ENV, SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; ``--settings`` is accepted before or after the sub-command."""
    settings_help = f"settings file (TOML, YAML or JSON); default ${SETTINGS_FILE_ENV}; environment wins over it"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--settings", metavar="PATH", default=argparse.SUPPRESS, help=settings_help)
    parser = argparse.ArgumentParser(
        prog="gennaker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"gennaker {__version__}")
    parser.add_argument("--settings", metavar="PATH", default=None, help=settings_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (up, worker, gateway, store, events, dlq, schemas, application, pipeline, execution):
        module.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, load settings, configure logging, run the sub-command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.settings)
    except SettingsError as error:
        print(f"gennaker: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        status: int = args.run(args, settings)
    except CliError as error:
        print(f"gennaker: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
