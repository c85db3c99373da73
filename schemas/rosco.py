"""Rosco's answers to the stages Orca asks of it: ``bakeManifest``.

Orca sends ``orca.RunExternalTask`` to service ``rosco`` for the stage types in
:data:`STAGE_TYPES`; Rosco answers each ``(task_id, attempt)`` with ``rosco.task.completed``. A
bake is a pure function of its inputs, so a redelivered command is answered again alike.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat
from schemas.registry import message

STAGE_TYPES = ("bakeManifest",)
"""The stage types whose ``orca.RunExternalTask`` Rosco answers."""


class HelmAccount(BaseModel):
    """A ``helm/chart`` artifact account (Spinnaker's ``artifacts.helm.accounts``): a chart repository
    whose ``index.yaml`` lists the charts, by name and version."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=128, description="The artifactAccount artifacts name")
    repository: str = Field(description="The chart repository's URL (http or https), where its index.yaml is")

    @field_validator("repository")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"repository {value!r} must be an http:// or https:// URL")
        return value.rstrip("/")


class RoscoSettings(BaseModel):
    """Rosco's settings: the ``kubectl`` it runs kustomize with and its ``helm/chart`` accounts."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kubectl: str = Field(
        "kubectl", min_length=1, description="kubectl (for `kubectl kustomize`): a path or a name on PATH"
    )
    helm_accounts: list[HelmAccount] = Field(
        default_factory=list,
        validation_alias=AliasChoices("helm_accounts", "helmAccounts"),
        description="Chart repositories helm/chart artifacts are read from: [[rosco.helm_accounts]]",
    )


@message
class RoscoTaskCompleted(ExternalTaskCompleted):
    """A bake finished: ``SUCCEEDED`` with ``artifacts`` (the one ``embedded/base64`` manifest
    artifact a ``bakeManifest`` produces), or ``TERMINAL`` with ``error`` (the renderer's own words)."""

    message_type: ClassVar[str] = "rosco.task.completed"


@message
class RoscoTaskHeartbeat(ExternalTaskHeartbeat):
    """Rosco still renders."""

    message_type: ClassVar[str] = "rosco.task.heartbeat"
