"""Dinghy's messages and settings: pushes from git forges in, applied dinghyfiles out.

The gateway hands each webhook on Dinghy's paths (``POST /v1/webhooks/{forge}``) to Dinghy as one
:class:`HandlePush` carrying the raw body and the headers that sign it; Dinghy checks the
signature with the repository's secret from :class:`DinghySettings`, reads the files with git, and
answers with one :class:`PushProcessed` per dinghyfile it rendered (applied on the default branch,
validated on any other). :class:`GetDinghyHistory` reads an application's render/apply history.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from schemas.base import Command, Event, Query, Reply
from schemas.json_types import Json
from schemas.registry import message

Forge = Literal["github", "gitlab", "bitbucket", "bitbucket-cloud", "stash"]
FORGES: tuple[Forge, ...] = ("github", "gitlab", "bitbucket", "bitbucket-cloud", "stash")
MAX_PUSH_BYTES = 5 * 1024 * 1024


class DinghyRepository(BaseModel):
    """One repository Dinghy reads: where to clone it and how its webhooks are signed.

    ``name`` is the forge's ``org/repo`` (GitHub ``full_name``, GitLab ``path_with_namespace``,
    Bitbucket ``PROJECT/slug``); ``secret`` signs its webhooks (GitHub and Bitbucket's HMAC
    ``X-Hub-Signature-256``/``X-Hub-Signature``, GitLab's ``X-Gitlab-Token``); ``status_url`` (with
    ``token``) is where commit statuses go, e.g. ``https://api.github.com/repos/acme/shop``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=3, max_length=256, pattern=r"^[^/\s]+/[^\s]+$")
    url: str = Field(min_length=1, max_length=2048, description="git clone URL (https, ssh, file or a path)")
    forge: Forge = "github"
    default_branch: str = Field("master", min_length=1, max_length=256)
    secret: SecretStr | None = Field(None, description="the webhook secret; unset accepts unsigned pushes")
    token: SecretStr | None = Field(None, description="API token for commit statuses and comments")
    status_url: str | None = Field(None, description="the forge API's URL of this repository")


class DinghySettings(BaseModel):
    """The ``[dinghy]`` section: the template repository, the repositories and how Dinghy acts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_repo: str | None = Field(None, description="name of the repository holding the modules")
    dinghyfile_name: str = Field("dinghyfile", min_length=1, max_length=128)
    repositories: list[DinghyRepository] = Field(default_factory=list, max_length=1000)
    service_account: str = Field("dinghy", min_length=1, max_length=256, description="who Dinghy's saves act as")
    service_roles: tuple[str, ...] = Field((), description="the roles that give the service account WRITE")
    lock_pipelines: bool = Field(True, description="lock applied pipelines against edits from the UI or API")
    allow_unlock_ui: bool = Field(True, description="whether Deck's Unlock may lift a Dinghy lock")
    work_dir: Path | None = Field(None, description="where clones are kept; default <data_dir>/dinghy")
    git_timeout: float = Field(120.0, gt=0, description="seconds one git command may take")

    @model_validator(mode="after")
    def _repositories_are_known(self) -> Self:
        names = [repo.name.lower() for repo in self.repositories]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"repositories: {twice[0]!r} is listed twice")
        if self.template_repo and self.template_repo.lower() not in names:
            raise ValueError(
                f"template_repo {self.template_repo!r} is not one of the [[dinghy.repositories]]: add it there"
            )
        return self

    def repository(self, name: str) -> DinghyRepository | None:
        """The configured repository ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((repo for repo in self.repositories if repo.name.lower() == wanted), None)


@message
class HandlePush(Command):
    """A forge's webhook on ``POST /v1/webhooks/{forge}``: the body exactly as received (a signature
    is over its bytes) and the lower-cased headers that name and sign the event."""

    message_type: ClassVar[str] = "dinghy.HandlePush"
    event_id: str = Field(min_length=1, max_length=128)
    forge: Forge
    body: str = Field(max_length=MAX_PUSH_BYTES)
    headers: dict[str, str] = Field(default_factory=dict, max_length=32)
    received_at: int


@message
class PushProcessed(Event):
    """One dinghyfile of a push rendered: ``applied`` (default branch), ``validated`` (other branches,
    nothing changed) or ``failed`` with ``error``; ``changes`` lists pipeline names by action and
    ``diff`` is the dry run's pipeline-by-pipeline JSON diff."""

    message_type: ClassVar[str] = "dinghy.push.processed"
    event_id: str
    repository: str
    branch: str
    commit: str
    author: str
    path: str
    application: str | None = None
    outcome: Literal["applied", "validated", "failed", "ignored"]
    error: str | None = None
    changes: dict[str, list[str]] = Field(default_factory=dict)
    diff: str = ""


@message
class DinghyHistory(Reply):
    """Renders and applies of an application's dinghyfiles, newest first."""

    message_type: ClassVar[str] = "dinghy.History"
    entries: list[Json]


@message
class GetDinghyHistory(Query):
    """The render/apply history of ``application`` (each with its commit)."""

    message_type: ClassVar[str] = "dinghy.GetHistory"
    reply_model: ClassVar[type[Reply]] = DinghyHistory
    application: str = Field(min_length=1, max_length=256)
    limit: int = Field(50, ge=1, le=1000)
