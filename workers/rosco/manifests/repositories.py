"""``git/repo`` input artifacts of a kustomize or Helm bake: cloned at ``version`` as Spinnaker's
artifact download fetches them, with the ``gitrepo`` artifact account ``artifactAccount`` names
(``[[artifacts.accounts]]``), which the stage's user must be allowed to READ — judged before
anything is cloned. ``metadata.subPath`` narrows the sources to a directory of the repository;
as in Spinnaker's download (an archive of the tree), the sources hold no ``.git`` directory.
The clone itself (URL rules, credentials kept out of URLs and command lines) is
:mod:`gennaker.outbound.git_clone`'s.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path, PurePosixPath

from gennaker.outbound.git_clone import GitRefused, clone
from gennaker.outbound.policy import OutboundPolicy
from schemas.artifact_accounts import ArtifactAccount, ArtifactAccountRefused, ArtifactSettings
from schemas.authority import Authority
from schemas.json_types import Json
from schemas.outbound import OutboundSettings
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.inputs import label

GIT_SECONDS = 60.0


class GitRepositories:
    """Clones ``git/repo`` artifacts with the artifact accounts, through the outbound rules."""

    def __init__(self, artifacts: ArtifactSettings | None = None, policy: OutboundPolicy | None = None) -> None:
        self.artifacts = artifacts or ArtifactSettings()
        self.policy = policy or OutboundPolicy(OutboundSettings())

    def account(self, artifact: Json, authority: Authority) -> ArtifactAccount | None:
        """The ``gitrepo`` account ``artifact`` names, once ``authority`` may READ it (``None``: it names none)."""
        try:
            account = self.artifacts.named_by(artifact, kind="gitrepo")
        except ArtifactAccountRefused as refused:
            raise BakeFailed(f"input artifact {label(artifact)}: {refused}") from None
        if account is None:
            return None
        if not account.may_read(authority):
            raise BakeFailed(
                f"access denied: {authority.described()} lacks READ permission on artifact account {account.name!r}"
            )
        return account

    async def checkout(self, artifact: Json, authority: Authority, into: Path) -> Path:
        """Clone ``artifact`` under ``into``; the directory its ``metadata.subPath`` names (else the clone)."""
        account = self.account(artifact, authority)
        metadata = artifact.get("metadata") if isinstance(artifact.get("metadata"), dict) else {}
        sub = str((metadata or {}).get("subPath") or "")
        pure = PurePosixPath(sub.strip() or ".")
        if pure.is_absolute() or ".." in pure.parts or len(sub) > 1024:
            raise BakeFailed(f"input artifact {label(artifact)}: metadata.subPath {sub!r} must stay inside it")
        target = into / "repository"
        try:
            await clone(
                str(artifact.get("reference") or ""),
                str(artifact.get("version") or ""),
                target,
                account=account,
                policy=self.policy,
                roots_setting="any local root (Rosco clones no repository on its own machine)",
                timeout=GIT_SECONDS,
            )
        except GitRefused as refused:
            part = f" {refused.part}" if refused.part else ""
            raise BakeFailed(f"input artifact {label(artifact)}{part}: {refused}") from None
        await asyncio.to_thread(shutil.rmtree, target / ".git", ignore_errors=True)
        directory = target / pure
        if not directory.is_dir():
            raise BakeFailed(f"input artifact {label(artifact)}: metadata.subPath {sub!r} is no directory in it")
        return directory
