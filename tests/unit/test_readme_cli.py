"""Every ``gennaker ...`` line in the README's shell blocks is a command line the CLI accepts.

A line may list alternatives (``list | show ID``, ``bash|zsh|fish``) and optional parts
(``[--json]``): the first alternative, without the optional parts, is parsed (not run).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gennaker import cli

README = Path(__file__).resolve().parents[2] / "README.md"
COMMAND = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:\.venv/bin/)?gennaker\s+(?P<words>.*)$")


def readme_command_lines() -> list[str]:
    lines: list[str] = []
    in_shell = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_shell = line.strip() in ("```sh", "```bash", "```shell") and not in_shell
            continue
        found = COMMAND.match(line.strip()) if in_shell else None
        if found:
            lines.append(found["words"])
    return lines


def first_alternative(words: str) -> list[str]:
    words = re.split(r"\s+#", words, maxsplit=1)[0]  # a trailing comment
    words = re.split(r"\s*\|", words, maxsplit=1)[0]  # alternatives: the first
    words = words.rstrip("\\").strip()
    return [word for word in shlex.split(re.sub(r"\[[^\]]*\]", "", words)) if word not in ("&",)]


def test_the_readme_shows_the_cli() -> None:
    assert len(readme_command_lines()) >= 10


@pytest.mark.parametrize("words", readme_command_lines())
def test_each_readme_command_line_parses(words: str) -> None:
    argv = first_alternative(words)
    try:
        cli.build_parser(argv).parse_args(argv)
    except SystemExit as error:
        pytest.fail(f"README's `gennaker {words}` is not a valid command line (exit {error.code})")
