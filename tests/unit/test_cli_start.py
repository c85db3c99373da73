"""The CLI starts fast: ``--help`` imports no sub-command, a sub-command imports only its own module."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from gennaker import cli

HEAVY = ("bus", "pymongo", "aiohttp", "structlog", "pydantic", "pydantic_settings", "rich", "gateway", "workers")

LOADED = """
import json, sys
from gennaker import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_modules(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded in a fresh interpreter after ``gennaker ARGV``."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *argv], capture_output=True, text=True, timeout=60, check=True, env=env
    )
    return set(json.loads(done.stderr.splitlines()[-1]))


def _no_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("GENNAKER_")}


def test_each_lazy_summary_is_the_help_its_module_registers() -> None:
    for command in cli.COMMANDS:
        commands = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(command.module).register(commands, argparse.ArgumentParser(add_help=False))
        (action,) = commands._choices_actions
        assert (action.dest, action.help) == (command.name, command.summary)
        assert set(commands.choices) == {command.name, *command.aliases}
    assert cli.build_parser([]).format_help() == cli.build_parser(None).format_help()


def test_help_loads_no_heavy_module() -> None:
    loaded = loaded_modules("--help")
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}
    assert not {name for name in loaded if name.startswith("gennaker.commands.")}


@pytest.mark.parametrize("command", ["application", "pipeline", "execution", "dlq", "auth", "config", "completion"])
def test_a_sub_commands_help_loads_no_heavy_module(command: str) -> None:
    assert not {name for name in loaded_modules(command, "--help") if name.split(".")[0] in HEAVY}


def test_a_sub_command_loads_only_its_own_module() -> None:
    loaded = loaded_modules("--settings", "x.toml", "store", "--help")
    assert {
        name for name in loaded if name.startswith("gennaker.commands.") and not name.split(".")[2].startswith("_")
    } == {"gennaker.commands.store"}


def test_a_command_that_calls_no_bus_loads_none() -> None:
    loaded = loaded_modules("config", "--output", "json")
    assert "gennaker.settings" in loaded
    heavy = ("bus", "pymongo", "aiohttp", "aio_pika", "workers", "structlog")  # config logs nothing
    assert not {name for name in loaded if name.split(".")[0] in heavy}


class Applications(BaseHTTPRequestHandler):
    """A gateway answering every GET with one application, and remembering the token it was sent."""

    tokens: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.tokens.append(self.headers.get("Authorization"))
        body = json.dumps([{"name": "shop", "email": "shop@example.com"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_command_calling_the_gateway_loads_no_pydantic_logging_or_aiohttp() -> None:
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), Applications)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        env = {**_no_settings(), "GENNAKER_TOKEN": "gk_start", "GENNAKER_GATEWAY_PORT": str(gateway.server_address[1])}
        loaded = loaded_modules("application", "list", env=env)
    finally:
        gateway.shutdown()
        gateway.server_close()
    assert Applications.tokens == ["Bearer gk_start"]  # it did call the gateway, with the token
    heavy = ("bus", "pymongo", "aiohttp", "structlog", "pydantic", "pydantic_core", "pydantic_settings", "schemas")
    assert not {name for name in loaded if name.split(".")[0] in heavy}
    assert "gennaker.settings" not in loaded


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["pipeline", "list"], "pipeline"),
        (["pi", "ls"], "pipeline"),
        (["--settings", "up.toml", "dlq", "list"], "dlq"),
        (["--set", "up.toml", "dlq"], "dlq"),
        (["--settings=up.toml", "ex", "get"], "execution"),
        (["-h"], None),
        (["nothing", "up"], None),
    ],
)
def test_the_chosen_command_is_read_as_argparse_reads_it(words: list[str], expected: str | None) -> None:
    chosen = cli.chosen_command(words)
    assert (chosen.name if chosen else None) == expected


def test_a_closed_pipe_ends_quietly_with_status_0(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # like `| head` that has already exited
    command = [sys.executable, "-m", "gennaker.cli", "schemas", "export", str(tmp_path)]
    try:
        done = subprocess.run(command, stdout=write, stderr=subprocess.PIPE, timeout=60, env=_no_settings())
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")


def test_help_shows_no_docstring_markup(capsys: pytest.CaptureFixture[str]) -> None:
    for words in (["--help"], ["pipeline", "--help"], ["dlq", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(words)
        out = capsys.readouterr().out
        assert "``" not in out and ":func:" not in out and "::\n" not in out, out


def test_gennaker_alone_prints_the_commands_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "pipeline (pi)" in err and "Exit status" in err
