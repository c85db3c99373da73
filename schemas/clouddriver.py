"""Clouddriver's messages about accounts: the credentials every cloud operation runs under.

Gate's ``/credentials`` reads them. An account's JSON is Clouddriver's ``AccountDetails``:
``name``, ``type`` / ``cloudProvider``, ``environment``, ``accountType``, ``primaryAccount`` and
``permissions`` (``{"READ": [roles], "WRITE": [roles]}``, as Fiat reads them). The gateway filters
what the caller may READ; Clouddriver answers with every account it knows.

:class:`AccountConfig` is how an operator declares an account (the ``accounts`` setting); its
:meth:`~AccountConfig.details` is the ``AccountDetails`` JSON Clouddriver then answers with.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

from schemas.base import Query, Reply
from schemas.json_types import Json
from schemas.kubernetes_account import KubernetesAccountSettings
from schemas.registry import message

AccountPermission = Literal["READ", "WRITE", "EXECUTE"]


class AwsAccountSettings(BaseModel):
    """How Clouddriver reaches the AWS API for one ``aws`` account (the account's ``aws`` table).

    Every key is optional: without keys botocore's own chain applies (environment, shared
    credentials file, instance profile). ``endpointUrl`` points every client (EC2, Auto Scaling,
    ELBv2) at another endpoint, such as a moto server in tests; ``vpcId`` picks the VPC for target
    groups and load balancers (default: the region's default VPC). Secrets never appear in
    :meth:`AccountConfig.details` or in logs.

    Example (TOML)::

        [[accounts]]
        name = "prod"
        cloudProvider = "aws"
        regions = ["us-east-1"]
        aws = { accessKeyId = "AKIA...", secretAccessKey = "...", vpcId = "vpc-0abc" }
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    endpoint_url: str | None = Field(None, validation_alias=AliasChoices("endpointUrl", "endpoint_url"))
    access_key_id: str | None = Field(None, validation_alias=AliasChoices("accessKeyId", "access_key_id"))
    secret_access_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("secretAccessKey", "secret_access_key")
    )
    session_token: SecretStr | None = Field(None, validation_alias=AliasChoices("sessionToken", "session_token"))
    profile: str | None = Field(None, description="a profile of the shared AWS config files")
    vpc_id: str | None = Field(None, validation_alias=AliasChoices("vpcId", "vpc_id"))


INHERITED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR")
"""The variables of Clouddriver's own environment a ``local`` process inherits by default: enough
to find programs and speak the locale; never ``GENNAKER_*``, tokens or other secrets."""


class LocalAccountSettings(BaseModel):
    """What a ``local`` account may run on this machine (the account's ``local`` table).

    The local provider runs commands, so an account runs nothing until this says what:

    * ``artifactDirs``: directories of artifacts. A command may be a program inside one of them,
      or Clouddriver's Python (``{python}``) running a script inside one of them; ``workingDir``
      must be inside one too. Paths are resolved (symlinks followed) before they are compared.
    * ``executables``: absolute paths of programs that may run with any arguments; allow only
      what cannot be made to run anything else.
    * ``unrestricted``: run any command at all, as the user Clouddriver runs as. Only for a
      machine that is yours alone.
    * ``imageDirs``: where Rosco's ``local`` bakes put their images (``rosco.imagesDir``): their
      images are listed to ``findImage`` and deployed by name (``amiName``), and what is inside
      them may run, as in ``artifactDirs``.

    On a fenced account (not ``unrestricted``) a server group's ``env`` may not set the loader's or
    an interpreter's hooks (``LD_*``, ``PYTHON*``…) nor ``GENNAKER_*``. Every process starts with
    a clean environment: only ``inheritEnv`` (default :data:`INHERITED_ENVIRONMENT`) is taken
    from Clouddriver's own, then the server group's ``env``.

    Example (TOML)::

        [[accounts]]
        name = "local"
        cloudProvider = "local"
        local = { artifactDirs = ["/srv/apps"], executables = ["/usr/bin/node"] }
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    artifact_dirs: tuple[str, ...] = Field((), validation_alias=AliasChoices("artifactDirs", "artifact_dirs"))
    executables: tuple[str, ...] = ()
    image_dirs: tuple[str, ...] = Field((), validation_alias=AliasChoices("imageDirs", "image_dirs"))
    unrestricted: bool = False
    inherit_env: tuple[str, ...] = Field(
        INHERITED_ENVIRONMENT, validation_alias=AliasChoices("inheritEnv", "inherit_env")
    )

    @model_validator(mode="after")
    def _absolute_paths(self) -> LocalAccountSettings:
        for label, paths in (
            ("artifactDirs", self.artifact_dirs),
            ("executables", self.executables),
            ("imageDirs", self.image_dirs),
        ):
            relative = [path for path in paths if not path.startswith("/")]
            if relative:
                raise ValueError(f"local.{label} must be absolute paths; got {relative}")
        secret = [name for name in self.inherit_env if name.upper().startswith("GENNAKER_")]
        if secret:
            raise ValueError(f"local.inheritEnv may not pass Gennaker's own variables to processes: {secret}")
        return self

    def settings(self) -> Json:
        """The table as Clouddriver's local provider reads it."""
        return {
            "artifactDirs": list(self.artifact_dirs),
            "executables": list(self.executables),
            "imageDirs": list(self.image_dirs),
            "unrestricted": self.unrestricted,
            "inheritEnv": list(self.inherit_env),
        }


class AccountConfig(BaseModel):
    """One account Clouddriver answers for, as the settings declare it.

    Keys are Clouddriver's (``cloudProvider``, ``primaryAccount``…) or their snake_case names;
    ``type`` is accepted for ``cloudProvider``. ``permissions`` maps READ / WRITE to the roles
    holding them, as Fiat reads them; an account without permissions is open to everyone.
    ``maxCapacity`` bounds the instances one server group may ask for (default: the provider's,
    50 for ``local``). A ``local`` account needs a ``local`` table (:class:`LocalAccountSettings`)
    saying what may run; it is never shown to clients.

    Example (TOML)::

        [[accounts]]
        name = "prod"
        cloudProvider = "aws"
        regions = ["us-east-1", "eu-west-1"]
        permissions = { READ = ["ops", "dev"], WRITE = ["ops"] }
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    cloud_provider: str = Field(
        min_length=1,
        validation_alias=AliasChoices("cloudProvider", "cloud_provider", "type"),
        description="the provider: 'aws', 'kubernetes', 'local'…",
    )
    environment: str | None = Field(None, description="defaults to the account's name")
    account_type: str | None = Field(
        None, validation_alias=AliasChoices("accountType", "account_type"), description="defaults to the name"
    )
    regions: tuple[str, ...] = ()
    primary_account: bool = Field(False, validation_alias=AliasChoices("primaryAccount", "primary_account"))
    challenge_destructive_actions: bool = Field(
        False, validation_alias=AliasChoices("challengeDestructiveActions", "challenge_destructive_actions")
    )
    required_group_membership: tuple[str, ...] = Field(
        (), validation_alias=AliasChoices("requiredGroupMembership", "required_group_membership")
    )
    permissions: dict[AccountPermission, tuple[str, ...]] = Field(default_factory=dict)
    max_capacity: int | None = Field(
        None,
        ge=0,
        le=100_000,
        validation_alias=AliasChoices("maxCapacity", "max_capacity"),
        description="the most instances one server group may ask for (min, max or desired); default: the provider's",
    )
    aws: AwsAccountSettings | None = Field(None, description="how to reach AWS; only for cloudProvider 'aws'")
    kubernetes: KubernetesAccountSettings | None = Field(
        None, description="which cluster, namespaces and kinds; only for cloudProvider 'kubernetes'"
    )
    local: LocalAccountSettings | None = Field(
        None, description="what may run; only for cloudProvider 'local', which runs nothing without it"
    )

    @model_validator(mode="after")
    def _provider_settings_match(self) -> AccountConfig:
        if self.aws is not None and self.cloud_provider != "aws":
            raise ValueError(f"aws: settings for AWS need cloudProvider 'aws', not {self.cloud_provider!r}")
        if self.kubernetes is not None and self.cloud_provider != "kubernetes":
            raise ValueError(f"kubernetes: settings need cloudProvider 'kubernetes', not {self.cloud_provider!r}")
        if self.local is not None and self.cloud_provider != "local":
            raise ValueError(f"local: settings need cloudProvider 'local', not {self.cloud_provider!r}")
        return self

    def private_settings(self) -> Json:
        """What Clouddriver's provider needs and clients never see (``local``: what may run)."""
        private: Json = {}
        if self.local is not None:
            private["local"] = self.local.settings()
        if self.kubernetes is not None:
            private["kubernetes"] = self.kubernetes.settings()
        return private

    def details(self) -> Json:
        """Clouddriver's ``AccountDetails`` JSON for this account (regions as ``[{"name": ...}]``)."""
        details: Json = {
            "name": self.name,
            "type": self.cloud_provider,
            "cloudProvider": self.cloud_provider,
            "environment": self.environment or self.name,
            "accountType": self.account_type or self.name,
            "primaryAccount": self.primary_account,
            "challengeDestructiveActions": self.challenge_destructive_actions,
            "requiredGroupMembership": list(self.required_group_membership),
            "permissions": {action: list(roles) for action, roles in self.permissions.items()},
        }
        if self.max_capacity is not None:
            details["maxCapacity"] = self.max_capacity
        if self.regions:
            details["regions"] = [{"name": region} for region in self.regions]
        return details


@message
class AccountList(Reply):
    """Every account Clouddriver knows, sorted by name."""

    message_type: ClassVar[str] = "clouddriver.AccountList"
    accounts: list[Json]


@message
class ListAccounts(Query):
    """Every configured account (the gateway filters what the caller may READ)."""

    message_type: ClassVar[str] = "clouddriver.ListAccounts"
    reply_model: ClassVar[type[Reply]] = AccountList


@message
class AccountFound(Reply):
    """One account, or ``None`` when none has that name."""

    message_type: ClassVar[str] = "clouddriver.AccountFound"
    account: Json | None


@message
class GetAccount(Query):
    """One account by name."""

    message_type: ClassVar[str] = "clouddriver.GetAccount"
    reply_model: ClassVar[type[Reply]] = AccountFound
    name: str = Field(min_length=1)
