"""``./dev env`` and ``./dev shell`` put ``gennaker`` on PATH, so the README's bare ``gennaker ...`` works."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dev_env_puts_gennaker_on_path_for_any_directory(tmp_path: Path) -> None:
    script = f'eval "$({ROOT / "dev"} env)" && cd {tmp_path} && command -v gennaker && gennaker --version'
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GENNAKER_", "VIRTUAL_ENV"))}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(ROOT / ".venv" / "bin" / "gennaker"), "gennaker 0.1.0"]


def test_dev_shell_runs_a_shell_with_gennaker_on_path() -> None:
    env = {**os.environ, "SHELL": "/bin/bash"}
    done = subprocess.run(
        [str(ROOT / "dev"), "shell", "-c", "command -v gennaker"], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(ROOT / ".venv" / "bin" / "gennaker")
