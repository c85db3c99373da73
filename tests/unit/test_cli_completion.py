"""Shell completion: ``gennaker completion SHELL`` and the answers argcomplete's protocol gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GENNAKER_", "_ARGCOMPLETE"))}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra}


def completions(line: str, tmp_path: Path) -> set[str]:
    """What the shell would offer with the cursor at the end of ``line``, asked as argcomplete's shell code asks."""
    answer = tmp_path / "completions"
    env = environment(
        _ARGCOMPLETE="1",
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
        GENNAKER_SETTINGS_FILE=str(tmp_path / "missing.toml"),  # completing reads no settings
    )
    subprocess.run([sys.executable, "-m", "gennaker.cli"], env=env, timeout=60, check=True)
    return {word.strip() for word in answer.read_text().split("\013") if word.strip()}


def test_a_command_name_completes(tmp_path: Path) -> None:
    assert completions("gennaker pip", tmp_path) == {"pipeline"}
    assert {"up", "config", "completion", "auth", "pipeline", "dlq"} <= completions("gennaker ", tmp_path)


def test_a_sub_command_of_the_named_command_completes(tmp_path: Path) -> None:
    assert completions("gennaker pipeline l", tmp_path) == {"list", "ls"}
    assert completions("gennaker --settings x.toml auth token c", tmp_path) == {"create"}
    assert completions("gennaker completion ", tmp_path) >= {"bash", "zsh", "fish"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shell_code_without_reading_settings(shell: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gennaker.cli", "completion", shell],
        env=environment(GENNAKER_SETTINGS_FILE=str(tmp_path / "missing.toml")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "_ARGCOMPLETE" in done.stdout and "gennaker" in done.stdout


def test_bash_completes_through_the_printed_code() -> None:
    script = (
        'eval "$(gennaker completion bash)"\n'
        'COMP_LINE="gennaker pipeline l"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(gennaker pipeline l); COMP_CWORD=2\n'
        "_python_argcomplete gennaker\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", script], env=environment(), capture_output=True, text=True, timeout=60)
    assert set(done.stdout.split()) == {"list", "ls"}, done.stderr
