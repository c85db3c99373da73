"""Igor's messages and settings: Jenkins masters, their jobs and builds, and build events.

Igor talks to the Jenkins masters of ``[[igor.jenkins]]`` (:class:`JenkinsMasterConfig`). Reads
are queries that carry the caller's authority, which Igor checks against the master's
``permissions`` (READ to see jobs and builds; WRITE to trigger, as Igor's ``BUILD_SERVICE``
permissions). Orca's ``jenkins`` stage sends ``orca.RunExternalTask`` and gets
``igor.task.completed`` back (``igor.task.heartbeat`` while a build is queued or running). Igor's
poller publishes ``igor.build.completed`` once per finished build, which starts the pipelines
whose ``jenkins`` trigger names that master and job (Echo).

Igor also watches the docker registries of ``[[igor.docker_registries]]``
(:class:`DockerRegistryConfig`, Spinnaker's ``dockerRegistry`` accounts): a tag that appears in
one of their repositories is published once as ``igor.docker.image.pushed``, which starts the
pipelines whose ``docker`` trigger names that account and repository (Echo), as Igor's docker
monitor does.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator

from schemas.authority import ACTS_FOR, Authority
from schemas.base import Event, Query, Reply
from schemas.json_types import Json
from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat
from schemas.registry import message
from schemas.trigger_artifacts import REPOSITORY

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
JOB_PATTERN = r"^[^/\s][^\s]*$"
MAX_JOB = 1024
MAX_CONSOLE_BYTES = 1024 * 1024
"""The most of a build's console text one read returns (its first bytes; the rest is cut)."""
STAGE_TYPES = ("jenkins",)
"""The stage types Igor provides to Orca."""

BuildPermission = Literal["READ", "WRITE"]


class JenkinsMasterConfig(BaseModel):
    """One Jenkins master (``[[igor.jenkins]]``).

    Example (TOML)::

        [[igor.jenkins]]
        name = "ci"
        address = "https://jenkins.example.com"
        username = "spinnaker"
        password = "<API token>"
        csrf = true
        permissions = { READ = ["dev"], WRITE = ["ops"] }
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    address: str = Field(min_length=1, max_length=2048, pattern=r"^https?://", description="Jenkins' root URL")
    username: str | None = Field(None, max_length=256)
    password: SecretStr | None = Field(None, description="the user's password or, better, an API token")
    csrf: bool = Field(False, description="ask Jenkins' crumb issuer for a crumb before every POST")
    permissions: dict[BuildPermission, tuple[str, ...]] = Field(
        default_factory=dict, description="roles holding READ (see jobs and builds) and WRITE (trigger builds)"
    )
    timeout: float = Field(10.0, gt=0, le=300, description="seconds one request to Jenkins may take")
    item_depth: int = Field(3, ge=1, le=10, description="folder levels the poller reads in one request")


class DockerRegistryConfig(BaseModel):
    """One docker registry account Igor polls for new tags (``[[igor.docker_registries]]``).

    Its ``name`` is the ``account`` a ``docker`` trigger names; the registry a trigger or a
    ``docker/image`` artifact names is ``address``'s host (``index.docker.io`` for Docker Hub).
    Registries answer the Docker Registry HTTP API V2 (``GET /v2/<repository>/tags/list``); a
    registry that asks for a bearer token (Docker Hub, most hosted ones) gets one from the realm
    it names, with ``username`` and ``password`` when given.

    Example (TOML)::

        [[igor.docker_registries]]
        name = "dockerhub"
        address = "https://index.docker.io"
        repositories = ["acme/shop"]
        username = "acme-ci"
        password = "<access token>"
        trackDigests = true    # a tag pushed again (a new digest) triggers again
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    address: str = Field(
        min_length=1, max_length=2048, pattern=r"^https?://[^/]+/?$", description="the registry's root"
    )
    repositories: tuple[str, ...] = Field(
        min_length=1, max_length=500, description="the repositories watched (a registry may not list its catalog)"
    )
    username: str | None = Field(None, max_length=256)
    password: SecretStr | None = Field(None, description="the user's password or access token")
    timeout: float = Field(10.0, gt=0, le=300, description="seconds one request to the registry may take")
    max_tags: int = Field(10_000, ge=1, le=100_000, description="tags read per repository and poll, at most")
    track_digests: bool = Field(
        False,
        validation_alias=AliasChoices("trackDigests", "track_digests"),
        description="also announce a tag seen before when its digest changes (a tag pushed again)",
    )

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for repository in value:
            if len(repository) > 255 or REPOSITORY.fullmatch(repository) is None:
                raise ValueError(f"{repository!r} is not a docker repository (lower-case path such as 'acme/shop')")
        return value

    @property
    def registry(self) -> str:
        """The host (and port) of ``address``: what triggers and artifacts name."""
        return self.address.split("://", 1)[1].rstrip("/")


class IgorSettings(BaseModel):
    """Igor's settings: the Jenkins masters and docker registries, and how often they are polled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jenkins: list[JenkinsMasterConfig] = Field(default_factory=list)
    docker_registries: list[DockerRegistryConfig] = Field(default_factory=list)
    poll_interval: float = Field(
        60.0, gt=0, description="seconds between two polls of a master's jobs (and of a registry's tags)"
    )
    build_poll_interval: float = Field(
        10.0, gt=0, description="seconds between two looks at a stage's queued or running build (Orca's 10 s)"
    )
    start_retries: int = Field(
        5,
        ge=0,
        le=100,
        description="retries reaching a master before a jenkins task fails naming it (30 s doubling: about "
        "Orca's 15 minutes)",
    )
    start_backoff: float = Field(30.0, gt=0, description="seconds before the first retry; doubles (Orca's 30 s)")
    base_url: str | None = Field(
        None, max_length=2048, description="Deck's address: a triggered build's description links back to it"
    )


# --- queries --------------------------------------------------------------------------------------


@message
class BuildReply(Reply):
    """What Igor answers a build query: ``value`` (a list or an object), or an error with its HTTP status."""

    message_type: ClassVar[str] = "igor.BuildReply"
    value: Json | list[Json] | list[str] | None = None
    status: int = 200
    error: str | None = None


class _BuildQuery(Query):
    reply_model: ClassVar[type[Reply]] = BuildReply
    authority: Authority = Field(description=ACTS_FOR)


@message
class ListBuildMasters(_BuildQuery):
    """The names of the masters the authority may READ (``type`` ``jenkins`` or empty)."""

    message_type: ClassVar[str] = "igor.ListBuildMasters"
    type: str = Field("", max_length=64)


@message
class ListJobs(_BuildQuery):
    """A master's jobs by full name (``folder/job/name`` as Igor names them)."""

    message_type: ClassVar[str] = "igor.ListJobs"
    master: str = Field(min_length=1, max_length=128)


@message
class GetJobConfig(_BuildQuery):
    """A job's configuration: name, url, buildable, parameter definitions."""

    message_type: ClassVar[str] = "igor.GetJobConfig"
    master: str = Field(min_length=1, max_length=128)
    job: str = Field(min_length=1, max_length=MAX_JOB)


@message
class ListBuilds(_BuildQuery):
    """A job's builds, newest first, as Igor's ``GenericBuild``."""

    message_type: ClassVar[str] = "igor.ListBuilds"
    master: str = Field(min_length=1, max_length=128)
    job: str = Field(min_length=1, max_length=MAX_JOB)


@message
class GetBuild(_BuildQuery):
    """One build as Igor's ``GenericBuild``."""

    message_type: ClassVar[str] = "igor.GetBuild"
    master: str = Field(min_length=1, max_length=128)
    job: str = Field(min_length=1, max_length=MAX_JOB)
    number: int = Field(ge=1)


@message
class GetBuildConsole(_BuildQuery):
    """A build's console text (Jenkins' ``consoleText``), at most ``max_bytes`` of it from the start:
    ``value`` is ``{text, truncated, bytes}``."""

    message_type: ClassVar[str] = "igor.GetBuildConsole"
    master: str = Field(min_length=1, max_length=128)
    job: str = Field(min_length=1, max_length=MAX_JOB)
    number: int = Field(ge=1)
    max_bytes: int = Field(MAX_CONSOLE_BYTES, ge=1, le=MAX_CONSOLE_BYTES)


@message
class GetBuildProperties(_BuildQuery):
    """A build's properties file (``.properties``, YAML or JSON) read as a map."""

    message_type: ClassVar[str] = "igor.GetBuildProperties"
    master: str = Field(min_length=1, max_length=128)
    job: str = Field(min_length=1, max_length=MAX_JOB)
    number: int = Field(ge=1)
    file_name: str = Field(min_length=1, max_length=1024)


# --- events ---------------------------------------------------------------------------------------


@message
class BuildCompleted(Event):
    """A build of a polled job finished (announced once, whichever Igor saw it)."""

    message_type: ClassVar[str] = "igor.build.completed"
    master: str
    job: str
    build: Json = Field(description="Igor's GenericBuild: number, result, url, timestamp, artifacts…")


@message
class DockerImagePushed(Event):
    """A new tag appeared in a watched repository, or (an account that tracks digests) a tag seen
    before now has another ``digest``; announced once, whichever Igor saw it: the content of
    Spinnaker's docker event."""

    message_type: ClassVar[str] = "igor.docker.image.pushed"
    account: str = Field(min_length=1, max_length=128)
    registry: str = Field(min_length=1, max_length=255)
    repository: str = Field(min_length=1, max_length=255)
    tag: str = Field(min_length=1, max_length=128)
    digest: str | None = Field(None, max_length=255)


@message
class IgorTaskCompleted(ExternalTaskCompleted):
    """Igor's answer to a task of Orca's ``jenkins`` stage."""

    message_type: ClassVar[str] = "igor.task.completed"


@message
class IgorTaskHeartbeat(ExternalTaskHeartbeat):
    """Igor still waits for a stage's build (queued or running)."""

    message_type: ClassVar[str] = "igor.task.heartbeat"
