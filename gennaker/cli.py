# PYTHON_ARGCOMPLETE_OK
"""The ``gennaker`` command: run the system (``up``, ``worker``, ``gateway``, ``store serve``) and operate it.

Exit status: 0 on success (including a server's graceful stop on SIGTERM or a first Ctrl-C, and
output cut short by a closed pipe, as in `gennaker ... | head`), 1 when something failed, 2 when the
command line, the settings or a given message was wrong, 130 when Ctrl-C interrupted a command (or
a second Ctrl-C a server). Errors are one line on stderr saying what to do; logs go to stderr
(readable on a terminal, JSON lines otherwise: GENNAKER_LOG_FORMAT); what the command reports goes
to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gennaker import __version__

SETTINGS_HELP = "settings file (TOML, YAML or JSON); default $GENNAKER_SETTINGS_FILE; environment wins over it"


@dataclass(frozen=True)
class Command:
    """One sub-command as ``gennaker --help`` lists it, and the module whose ``register`` adds it.

    The summary is what the module registers as its help (a test keeps the two equal), so the
    listing needs no import; only the chosen command's module is imported.
    """

    name: str
    module: str
    summary: str
    aliases: tuple[str, ...] = ()


COMMANDS: tuple[Command, ...] = (
    Command("up", "gennaker.commands.up", "run every service and the gateway in one process"),
    Command("worker", "gennaker.commands.worker", "run one worker"),
    Command("gateway", "gennaker.commands.gateway", "run only the gateway"),
    Command("store", "gennaker.commands.store", "the embedded store"),
    Command("events", "gennaker.commands.events", "follow or publish events"),
    Command("dlq", "gennaker.commands.dlq", "inspect and replay dead letters"),
    Command("schemas", "gennaker.commands.schemas", "generated message schemas"),
    Command("auth", "gennaker.commands.auth", "make API tokens for static authentication"),
    Command("config", "gennaker.commands.config", "show the effective settings and where each came from"),
    Command(
        "completion", "gennaker.commands.completion", "print the shell code for completing gennaker (bash, zsh, fish)"
    ),
    Command(
        "application", "gennaker.commands.application", "list, show, create, change and delete applications", ("app",)
    ),
    Command(
        "pipeline",
        "gennaker.commands.pipeline",
        "list, show, save, delete and run pipeline configs and see their history",
        ("pi",),
    ),
    Command(
        "execution",
        "gennaker.commands.execution",
        "list, show, cancel, pause, resume and judge pipeline executions",
        ("ex",),
    ),
    Command(
        "dinghy",
        "gennaker.commands.dinghy",
        "render a dinghyfile locally, diff it against the pipelines it would change, see what Dinghy applied",
    ),
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose help shows docstrings' reStructuredText as plain text.

    The sub-commands' descriptions are their modules' docstrings; ``x`` and :func:`x` print as x.
    """

    def format_help(self) -> str:
        return plain_text(super().format_help())

    def format_usage(self) -> str:
        return plain_text(super().format_usage())


def plain_text(text: str) -> str:
    """``text`` without reStructuredText's inline markup (roles, double backquotes, a literal block's ``::``)."""
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", _BLOCK.sub(r"\1:", text)))


_BLOCK = re.compile(r"(\S)::$", re.MULTILINE)
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def chosen_command(words: Sequence[str]) -> Command | None:
    """The sub-command ``words`` (the arguments after ``gennaker``) name, as argparse will read them.

    The first word that is neither an option nor the value of ``--settings`` names it.
    """
    by_name = {name: command for command in COMMANDS for name in (command.name, *command.aliases)}
    value_next = False
    for word in words:
        if value_next:
            value_next = False
        elif word.startswith("-"):
            # argparse accepts any unambiguous prefix of --settings (--set PATH) as the option itself
            value_next = len(word) > 3 and "--settings".startswith(word)
        else:
            return by_name.get(word)
    return None


def build_parser(words: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line for ``words``: the command they name in full, the others as one-line stubs.

    ``None`` builds every command in full (the whole tree, for tests and documentation).
    ``--settings`` is accepted before or after the sub-command.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--settings", metavar="PATH", default=argparse.SUPPRESS, help=SETTINGS_HELP)
    parser = Parser(prog="gennaker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gennaker {__version__}")
    parser.add_argument("--settings", metavar="PATH", default=None, help=SETTINGS_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    chosen = None if words is None else chosen_command(words)
    for command in COMMANDS:
        if words is None or command is chosen:
            importlib.import_module(command.module).register(commands, common)
        else:
            commands.add_parser(command.name, aliases=list(command.aliases), help=command.summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, load settings, configure logging, run the sub-command; returns the exit status.

    A closed stdout (``gennaker … | head``) ends the command quietly with status 0; Ctrl-C with 130.
    """
    try:
        status = _run(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except BrokenPipeError:
        _drop_stdout()
        return 0
    except KeyboardInterrupt:
        return 130


def _run(words: list[str]) -> int:
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (gennaker completion SHELL)
        _complete()
    parser = build_parser(words)
    if not words:  # `gennaker` alone: what it can do, rather than argparse's one-line complaint
        parser.print_help(sys.stderr)
        return 2
    args = parser.parse_args(words)
    # imported here, not at the top: `gennaker --help` and a mistyped command never need them
    from gennaker.commands._common import CliError

    try:
        status: int = args.run(args, _settings(args) if getattr(args, "needs_settings", True) else None)
    except CliError as error:
        print(f"gennaker: {error}", file=sys.stderr)
        return error.code
    except BrokenPipeError:
        raise
    except OSError as error:  # a file or directory named on the command line: one line, not a traceback
        print(f"gennaker: {_describe(error)}", file=sys.stderr)
        return 1
    return status


def _settings(args: argparse.Namespace) -> Any:
    """The settings (``--settings`` and the environment), with logging configured from them.

    A command that only calls the gateway gets its few settings without pydantic when they can
    be read so (:mod:`gennaker.client_settings`), else the full settings like any other.
    """
    from gennaker.client_settings import client_settings
    from gennaker.commands._common import CliError
    from gennaker.settings_file import SettingsError

    try:
        settings: Any = client_settings(args.settings) if getattr(args, "client_settings", False) else None
        if settings is None:
            from gennaker.settings import load_settings

            settings = load_settings(args.settings)
    except SettingsError as error:
        raise CliError(str(error), code=2) from None
    if getattr(args, "logs", True):  # a command that only prints (config) has nothing to log
        from gennaker.logging import configure_logging

        configure_logging(settings.log_level, format=settings.log_format)
    return settings


def _describe(error: OSError) -> str:
    """``Permission denied: /etc/x`` rather than ``[Errno 13] Permission denied: '/etc/x'``."""
    if error.strerror and error.filename is not None:
        return f"{error.strerror}: {error.filename}"
    return error.strerror or str(error)


def _complete() -> None:
    """Answer the shell's completion request (argcomplete's protocol) and exit the process.

    Only the command the line already names is built in full, as for a run.
    """
    import argcomplete
    from argcomplete.lexers import split_line

    words = split_line(os.environ.get("COMP_LINE", ""), int(os.environ.get("COMP_POINT", "0")))[3]
    argcomplete.autocomplete(build_parser(words[int(os.environ["_ARGCOMPLETE"]) :]))


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit cannot fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is no file (tests capture it): nothing is flushed to a pipe at exit


if __name__ == "__main__":
    sys.exit(main())
