"""Rosco's messages and settings: the stages Orca asks of it (``bakeManifest``, ``bake``) and its bakery API.

Orca sends ``orca.RunExternalTask`` to service ``rosco`` for the stage types in
:data:`STAGE_TYPES`; Rosco answers each ``(task_id, attempt)`` with ``rosco.task.completed``
(``rosco.task.heartbeat`` meanwhile, carrying the bake's progress). A manifest bake is a pure
function of its inputs; an image bake (Packer) is stored and cached by its bake key, so a
redelivered command finds the bake it started.

The gateway's writes are commands answered by one event: ``rosco.CreateBake`` by
``rosco.bake.accepted`` (the bake's status, Rosco's ``BakeStatus``), ``rosco.CancelBake`` by
``rosco.bake.canceled``, either by ``rosco.command.rejected``. Its reads are queries carrying the
caller's authority, which Rosco checks (READ on the bake's application).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from schemas.authority import ACTS_FOR, Authority
from schemas.base import Command, Event, Query, Reply
from schemas.json_types import Json
from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat
from schemas.registry import message

STAGE_TYPES = ("bakeManifest", "bake")
"""The stage types whose ``orca.RunExternalTask`` Rosco answers (``bake`` for each ``Bake in <region>``)."""
BakeState = Literal["PENDING", "RUNNING", "COMPLETED", "SUSPENDED", "CANCELED"]
"""Rosco's ``BakeStatus.State``: a queued bake is PENDING."""
BakeResult = Literal["SUCCESS", "FAILURE"]
PackageType = Literal["deb", "rpm", "tar"]
"""How a base image's packages are named (Rosco's deb and rpm rules; ``tar`` is named as deb)."""
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


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


class BaseImage(BaseModel):
    """One base OS a provider bakes on (Rosco's ``baseImage``), as ``/bakery/options`` lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1, max_length=64, pattern=NAME, description="The baseOs a bake names, e.g. 'bionic'")
    short_description: str = Field("", max_length=256, alias="shortDescription")
    detailed_description: str = Field("", max_length=1024, alias="detailedDescription")
    display_name: str | None = Field(None, max_length=256, alias="displayName")
    package_type: PackageType = Field("deb", alias="packageType")
    template_file: str | None = Field(
        None, max_length=256, alias="templateFile", description="This base image's template (default: the provider's)"
    )
    os_type: str = Field("linux", max_length=32, alias="osType")


class VirtualizationSettings(BaseModel):
    """Where and how one base image bakes in one region (Rosco's ``virtualizationSettings``). Keys
    other than ``region`` and ``vmType`` are passed to Packer as variables (snake_case, as Rosco's
    ``source_ami``, ``instance_type``, ``ssh_user_name``)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    region: str = Field(min_length=1, max_length=64, pattern=NAME)
    vm_type: str | None = Field(None, max_length=32, alias="virtualizationType")


class BaseImageSettings(BaseModel):
    """A base image and its settings per region."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    base_image: BaseImage = Field(alias="baseImage")
    virtualization_settings: list[VirtualizationSettings] = Field(
        default_factory=list, alias="virtualizationSettings", max_length=256
    )


class ProviderBakeryDefaults(BaseModel):
    """One cloud provider's ``bakeryDefaults``: its default template and base images."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    template_file: str = Field(min_length=1, max_length=256, alias="templateFile")
    base_images: list[BaseImageSettings] = Field(default_factory=list, alias="baseImages", max_length=256)


def _standard_defaults() -> dict[str, ProviderBakeryDefaults]:
    """The templates Gennaker ships: ``local`` bakes here; aws, gce and docker need their cloud."""

    def base(id: str, description: str, regions: list[Json], package_type: PackageType = "deb") -> BaseImageSettings:
        return BaseImageSettings.model_validate(
            {
                "baseImage": {"id": id, "shortDescription": description, "packageType": package_type},
                "virtualizationSettings": regions,
            }
        )

    aws_regions = [
        {"region": region, "virtualizationType": "hvm", "instance_type": "t3.small", "ssh_user_name": "ubuntu"}
        for region in ("us-east-1", "us-west-2", "eu-west-1")
    ]
    return {
        "local": ProviderBakeryDefaults.model_validate(
            {
                "templateFile": "local.json",
                "baseImages": [
                    base(
                        "python",
                        "Runs the package's entrypoint with Python",
                        [{"region": "local", "runner": "python"}],
                        "tar",
                    ),
                    base(
                        "exec",
                        "Runs the package's entrypoint as a program",
                        [{"region": "local", "runner": "exec"}],
                        "tar",
                    ),
                ],
            }
        ),
        "aws": ProviderBakeryDefaults.model_validate(
            {"templateFile": "aws-ebs.json", "baseImages": [base("bionic", "v18.04", aws_regions)]}
        ),
        "gce": ProviderBakeryDefaults.model_validate(
            {
                "templateFile": "gce.json",
                "baseImages": [
                    base("bionic", "Ubuntu 18.04", [{"region": "global", "source_image_family": "ubuntu-1804-lts"}])
                ],
            }
        ),
        "docker": ProviderBakeryDefaults.model_validate(
            {
                "templateFile": "docker.json",
                "baseImages": [base("bionic", "Ubuntu 18.04", [{"region": "global", "source_image": "ubuntu:18.04"}])],
            }
        ),
    }


class RoscoSettings(BaseModel):
    """Rosco's settings: the ``kubectl`` it runs kustomize with, its ``helm/chart`` accounts, and
    the bakery: Packer, its templates (``configDir``), ``bakeryDefaults`` per cloud provider, at
    most ``maxConcurrentBakes`` Packer processes at once, and where ``local`` bakes put their images.

    Example (TOML)::

        [rosco]
        maxConcurrentBakes = 2
        localRepository = "/srv/packages"       # where local bakes find packages
        [rosco.bakeryDefaults.local]
        templateFile = "local.json"
        [[rosco.bakeryDefaults.local.baseImages]]
        baseImage = {id = "python", packageType = "tar"}
        virtualizationSettings = [{region = "local", runner = "python"}]
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kubectl: str = Field(
        "kubectl", min_length=1, description="kubectl (for `kubectl kustomize`): a path or a name on PATH"
    )
    helm_accounts: list[HelmAccount] = Field(
        default_factory=list,
        validation_alias=AliasChoices("helm_accounts", "helmAccounts"),
        description="Chart repositories helm/chart artifacts are read from: [[rosco.helm_accounts]]",
    )
    packer: str = Field(
        "packer", min_length=1, description="Packer: a path or a name on PATH (Debian: apt-get install packer)"
    )
    config_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("config_dir", "configDir"),
        description="Where the Packer templates are (Rosco's rosco.configDir); default: the ones Gennaker ships",
    )
    bakery_defaults: dict[str, ProviderBakeryDefaults] = Field(
        default_factory=_standard_defaults,
        validation_alias=AliasChoices("bakery_defaults", "bakeryDefaults"),
        description="Per cloud provider (local, aws, gce, docker): its templateFile and baseImages",
    )
    default_cloud_provider_type: str = Field(
        "local", validation_alias=AliasChoices("default_cloud_provider_type", "defaultCloudProviderType")
    )
    max_concurrent_bakes: int = Field(
        2,
        ge=1,
        le=64,
        validation_alias=AliasChoices("max_concurrent_bakes", "maxConcurrentBakes"),
        description="Packer processes one Rosco runs at once; further bakes wait, PENDING, in order",
    )
    images_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("images_dir", "imagesDir"),
        description="Where local bakes put their images (<imagesDir>/<region>/<imageName>); default <data_dir>/images",
    )
    local_repository: Path | None = Field(
        None,
        validation_alias=AliasChoices("local_repository", "localRepository"),
        description="Where local bakes find their packages (a directory or .tar.gz per package); "
        "default <data_dir>/packages",
    )
    bake_timeout_seconds: int = Field(
        3600, ge=1, le=86_400, validation_alias=AliasChoices("bake_timeout_seconds", "bakeTimeoutSeconds")
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


class BakeRequestBody(BaseModel):
    """Rosco's ``BakeRequest`` (snake_case, as Rosco reads it): what to bake, where from, how named."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str | None = Field(None, max_length=256)
    package_name: str = Field("", max_length=4096, description="Space-separated packages (deb or rpm names)")
    build_host: str | None = Field(None, max_length=1024)
    job: str | None = Field(None, max_length=1024)
    build_number: str | None = Field(None, max_length=64)
    commit_hash: str | None = Field(None, max_length=128)
    build_info_url: str | None = Field(None, max_length=2048)
    cloud_provider_type: str | None = Field(None, max_length=32, pattern=NAME)
    base_label: str | None = Field(None, max_length=64)
    base_os: str | None = Field(None, max_length=64)
    base_name: str | None = Field(None, max_length=256)
    base_ami: str | None = Field(None, max_length=256)
    vm_type: str | None = Field(None, max_length=32)
    store_type: str | None = Field(None, max_length=32)
    enhanced_networking: bool | None = None
    ami_name: str | None = Field(None, max_length=128, pattern=NAME)
    ami_suffix: str | None = Field(None, max_length=64, pattern=NAME)
    upgrade: bool | None = None
    instance_type: str | None = Field(None, max_length=64)
    template_file_name: str | None = Field(None, max_length=256)
    var_file_name: str | None = Field(None, max_length=256)
    extended_attributes: dict[str, str] = Field(default_factory=dict, max_length=64)
    account_name: str | None = Field(None, max_length=128)
    spinnaker_execution_id: str | None = Field(None, max_length=64)


class BakeWaiter(BaseModel):
    """An Orca task attempt waiting for a bake's answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    execution_id: str
    stage_id: str
    task_id: str
    attempt: int
    application: str | None = None


@message
class CreateBake(Command):
    """Bake ``request`` in ``region`` (Rosco's ``POST /api/v1/{region}/bake``): the earlier bake of
    the same key answers unless ``rebake``. Needs EXECUTE on ``application`` (and WRITE on
    ``request.account_name`` when it names an account)."""

    message_type: ClassVar[str] = "rosco.CreateBake"
    bake_id: str = Field(min_length=1, max_length=64, description="The id a new bake gets (derived by the caller)")
    region: str = Field(min_length=1, max_length=64, pattern=NAME)
    application: str = Field(min_length=1, max_length=256)
    request: BakeRequestBody
    rebake: bool = False
    authority: Authority = Field(description=ACTS_FOR)
    waiter: BakeWaiter | None = Field(None, description="The Orca task to answer when the bake ends")


@message
class CancelBake(Command):
    """Cancel an incomplete bake (Rosco's ``/api/v1/{region}/cancel/{statusId}``); needs EXECUTE on its application."""

    message_type: ClassVar[str] = "rosco.CancelBake"
    bake_id: str = Field(min_length=1, max_length=64)
    region: str = Field(min_length=1, max_length=64)
    authority: Authority = Field(description=ACTS_FOR)


@message
class BakeAccepted(Event):
    """A bake request was answered: ``status`` is Rosco's ``BakeStatus`` (a new bake or the cached one)."""

    message_type: ClassVar[str] = "rosco.bake.accepted"
    application: str
    status: Json
    cached: bool = False


@message
class BakeCanceled(Event):
    """A bake was canceled; its Packer process is stopped."""

    message_type: ClassVar[str] = "rosco.bake.canceled"
    application: str
    bake_id: str
    message: str


@message
class BakeCompleted(Event):
    """A bake ended (``result`` SUCCESS or FAILURE, or canceled), with Rosco's ``Bake`` on success."""

    message_type: ClassVar[str] = "rosco.bake.completed"
    application: str
    status: Json
    bake: Json | None = None


@message
class RoscoCommandRejected(Event):
    """A Rosco command was refused and changed nothing (HTTP-like status, the field at fault)."""

    message_type: ClassVar[str] = "rosco.command.rejected"
    command_type: str
    status: Literal[400, 403, 404, 409, 422]
    reason: str
    field: str | None = None


@message
class BakeFound(Reply):
    """A bake's status, details and logs, or ``error`` (HTTP-like ``status``) when the caller may not see it."""

    message_type: ClassVar[str] = "rosco.BakeFound"
    bake_status: Json | None = None
    bake: Json | None = None
    logs_content: str | None = None
    error: str | None = None
    status: int = 200


@message
class GetBake(Query):
    """One bake by id: ``what`` is ``status`` (``BakeStatus``), ``bake`` (``Bake``) or ``logs``."""

    message_type: ClassVar[str] = "rosco.GetBake"
    reply_model: ClassVar[type[Reply]] = BakeFound
    bake_id: str = Field(min_length=1, max_length=64)
    region: str = Field(min_length=1, max_length=64)
    what: Literal["status", "bake", "logs"] = "status"
    authority: Authority = Field(description=ACTS_FOR)


@message
class BakeOptionsFound(Reply):
    """Rosco's ``BakeOptions`` (one per provider, or the one asked for), or ``error``."""

    message_type: ClassVar[str] = "rosco.BakeOptionsFound"
    options: list[Json] = Field(default_factory=list)
    error: str | None = None


@message
class ListBakeOptions(Query):
    """The bake options of every cloud provider, or of ``cloud_provider``."""

    message_type: ClassVar[str] = "rosco.ListBakeOptions"
    reply_model: ClassVar[type[Reply]] = BakeOptionsFound
    cloud_provider: str | None = Field(None, max_length=32)
