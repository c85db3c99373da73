"""Artifact accounts: the credentials Clouddriver fetches ``http/file``, ``github/file`` and ``gitlab/file``
artifacts with, and git clones ``git/repo`` ones with (Spinnaker's ``artifacts.http|github|gitlab|gitrepo.accounts``).

An artifact names its account in ``artifactAccount``; one that names none is fetched without
credentials. Using an account needs READ on it, like reading a cloud account (empty permissions:
anyone); the secrets are write-only, as every secret in the settings.

Example (TOML)::

    [[artifacts.accounts]]
    name = "github-acme"
    type = "github"
    token = "<a personal access token>"
    permissions = { READ = ["deployers"] }

    [[artifacts.accounts]]
    name = "infra-repos"
    type = "gitrepo"                  # username/password, or token, over https; or an SSH key
    sshPrivateKeyFilePath = "/etc/gennaker/deploy-key"
    sshPrivateKeyPassphrase = "<the key's passphrase, if it has one>"
    sshKnownHostsFilePath = "/etc/gennaker/known_hosts"   # or sshTrustUnknownHosts = true
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

from schemas.authority import Actor, Permission, can

ArtifactAccountType = Literal["http", "github", "gitlab", "gitrepo"]
FETCHED_TYPES = {"http/file": "http", "github/file": "github", "gitlab/file": "gitlab"}
"""The artifact types fetched over HTTP, and the account type each takes."""
ACCOUNT_TYPES = {**FETCHED_TYPES, "git/repo": "gitrepo"}
"""Every artifact type an account serves, and the account type it takes."""
ACCOUNT_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ArtifactAccountRefused(ValueError):
    """The account an artifact's ``artifactAccount`` names cannot serve it: not configured, or of another type."""


class ArtifactAccount(BaseModel):
    """One artifact account: ``http`` (basic auth), ``github`` (a token sent as ``Authorization: token``),
    ``gitlab`` (a token sent as ``PRIVATE-TOKEN``) or ``gitrepo`` (what ``git clone`` authenticates
    with: ``username``/``password`` or a ``token`` over https, or an SSH key; see
    :mod:`gennaker.outbound.git_auth`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=128, pattern=ACCOUNT_NAME)
    type: ArtifactAccountType
    username: str | None = Field(None, max_length=256, description="http / gitrepo: the basic-auth user")
    password: SecretStr | None = Field(None, max_length=4096, description="http / gitrepo: the basic-auth password")
    token: SecretStr | None = Field(
        None, max_length=4096, description="github / gitlab: the API token; gitrepo: the password of https clones"
    )
    ssh_private_key_file_path: str | None = Field(
        None,
        max_length=4096,
        validation_alias=AliasChoices("sshPrivateKeyFilePath", "ssh_private_key_file_path"),
        description="gitrepo: the SSH private key ssh:// and scp-style clones use",
    )
    ssh_private_key_passphrase: SecretStr | None = Field(
        None,
        max_length=1024,
        validation_alias=AliasChoices("sshPrivateKeyPassphrase", "ssh_private_key_passphrase"),
        description="gitrepo: the passphrase of sshPrivateKeyFilePath's key, given to ssh by an askpass helper",
    )
    ssh_known_hosts_file_path: str | None = Field(
        None,
        max_length=4096,
        validation_alias=AliasChoices("sshKnownHostsFilePath", "ssh_known_hosts_file_path"),
        description="gitrepo: the known_hosts file the SSH server's key must be in",
    )
    ssh_trust_unknown_hosts: bool = Field(
        False,
        validation_alias=AliasChoices("sshTrustUnknownHosts", "ssh_trust_unknown_hosts"),
        description="gitrepo: accept any SSH host key (StrictHostKeyChecking=no); else it must be known",
    )
    permissions: dict[Permission, tuple[str, ...]] = Field(
        default_factory=dict, description="roles holding READ (use the account); empty: anyone"
    )

    def may_read(self, actor: Actor) -> bool:
        """Whether ``actor`` may use this account (READ on its permissions; empty: anyone)."""
        return can(actor, {key.value: roles for key, roles in self.permissions.items()}, Permission.READ)

    @model_validator(mode="after")
    def _credentials_fit_the_type(self) -> ArtifactAccount:
        ssh = self.ssh_private_key_file_path, self.ssh_known_hosts_file_path, self.ssh_private_key_passphrase
        if self.type != "gitrepo" and (any(ssh) or self.ssh_trust_unknown_hosts):
            raise ValueError(f"artifact account {self.name!r}: only a gitrepo account takes SSH settings")
        if self.ssh_private_key_passphrase is not None:
            if not self.ssh_private_key_file_path:
                raise ValueError(
                    f"artifact account {self.name!r}: sshPrivateKeyPassphrase is the passphrase of a key: "
                    "set sshPrivateKeyFilePath too"
                )
            if any(char in self.ssh_private_key_passphrase.get_secret_value() for char in "\r\n\0"):
                raise ValueError(f"artifact account {self.name!r}: sshPrivateKeyPassphrase must be one line")
        if self.type == "http" and self.token is not None:
            raise ValueError(f"artifact account {self.name!r}: an http account takes username/password, not token")
        if self.type in ("github", "gitlab") and (self.username is not None or self.password is not None):
            raise ValueError(f"artifact account {self.name!r}: a {self.type} account takes a token, not username")
        if self.type == "gitrepo" and self.password is not None and self.token is not None:
            raise ValueError(f"artifact account {self.name!r}: a gitrepo account takes a password or a token, not both")
        return self


class ArtifactSettings(BaseModel):
    """``[artifacts]``: the artifact accounts (``[[artifacts.accounts]]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: list[ArtifactAccount] = Field(default_factory=list, max_length=256)

    @model_validator(mode="after")
    def _names_are_unique(self) -> ArtifactSettings:
        seen: set[str] = set()
        for account in self.accounts:
            if account.name.lower() in seen:
                raise ValueError(f"artifact account {account.name!r} is listed twice")
            seen.add(account.name.lower())
        return self

    def account(self, name: str) -> ArtifactAccount | None:
        """The account ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((account for account in self.accounts if account.name.lower() == wanted), None)

    def named_by(
        self, artifact: Mapping[str, object], *, kind: ArtifactAccountType | None = None
    ) -> ArtifactAccount | None:
        """The account ``artifact``'s ``artifactAccount`` names (``None``: it names none), which must be
        configured and, with ``kind``, of that type; else :class:`ArtifactAccountRefused` saying which."""
        name = artifact.get("artifactAccount")
        if not isinstance(name, str) or not name:
            return None
        account = self.account(name)
        if account is None:
            raise ArtifactAccountRefused(f"artifact account {name!r} is not configured")
        if kind is not None and account.type != kind:
            raise ArtifactAccountRefused(f"artifact account {name!r} is a {account.type} account, not a {kind} one")
        return account
