"""A run's files from the stage's artifacts: the configuration directory, var-files, backend config, planfile.

The configuration comes from a ``git/repo`` artifact (a real ``git clone`` of ``reference`` at
``version``, a branch, tag or commit; ``metadata.subPath`` picks a directory in it), an
``embedded/base64`` one (a tar archive of the directory, or one file), an ``http/file``, ``github/file``
or ``gitlab/file`` one (fetched through the outbound client, so the ``[outbound]`` rules hold, with the
credentials of the artifact account its ``artifactAccount`` names: :mod:`gennaker.outbound.artifacts`), or an
``inline`` one (its ``reference`` is the file's text). A ``git/repo`` artifact naming a ``gitrepo`` artifact
account is cloned with its credentials (:mod:`gennaker.outbound.git_auth`: https username/password or
token, or an SSH key for ``ssh://`` and ``user@host:path`` URLs, which need one). The stage's ``dir`` is a
directory under it.
Every other file (a ``-var-file``, a ``-backend-config``, a planfile) comes from the same types
but git.

What a user names is bounded: no path leaves the run's directory, no archive unpacks links out of
it or more than :data:`MAX_UNPACKED_BYTES`, no artifact is larger than :data:`MAX_ARTIFACT_BYTES`,
a git URL is ``http(s)`` (judged by the outbound rules as a request would be), ssh with a gitrepo
account's key, or a local repository under ``[terraformer] local_git_roots``
(:mod:`gennaker.outbound.git_clone`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import tarfile
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from gennaker.outbound import OutboundClient, OutboundPolicy
from gennaker.outbound.artifacts import ArtifactUnavailable, fetch_artifact
from gennaker.outbound.git_clone import GitRefused, clone
from schemas.artifact_accounts import FETCHED_TYPES, ArtifactAccount, ArtifactAccountRefused, ArtifactSettings
from schemas.json_types import Json

MAX_ARTIFACT_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
GIT_SECONDS = 120.0
FILE_TYPES = ("embedded/base64", *FETCHED_TYPES, "inline")
CONFIG_TYPES = ("git/repo", *FILE_TYPES)
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


class SourceRefused(Exception):
    """An artifact that cannot be used; ``field`` names it in the stage's context."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def label(artifact: Json) -> str:
    """An artifact as a message names it (never its embedded bytes)."""
    kind = str(artifact.get("type") or "?")
    where = artifact.get("name") if kind in ("embedded/base64", "inline") else artifact.get("reference")
    return f"{kind} {where or artifact.get('name') or ''}".strip()


def relative(path: str, field: str) -> PurePosixPath:
    """``path`` as a path under a directory: never absolute, never through ``..``."""
    pure = PurePosixPath(path.strip() or ".")
    if pure.is_absolute() or ".." in pure.parts or len(path) > 1024:
        raise SourceRefused(field, f"{path!r} must be a relative path inside the configuration, without '..'")
    return pure


def _file_name(artifact: Json, default: str) -> str:
    name = str(artifact.get("name") or "") or urlsplit(str(artifact.get("reference") or "")).path
    base = PurePosixPath(name).name
    return base if base and base not in (".", "..") and re.match(r"^[\w.@+-]{1,200}$", base) else default


@dataclass
class Sources:
    """Fetches artifacts into a run's directory."""

    outbound: OutboundClient
    policy: OutboundPolicy
    local_git_roots: tuple[Path, ...] = ()
    artifacts: ArtifactSettings = dataclass_field(default_factory=ArtifactSettings)
    """The artifact accounts whose credentials ``http/file``, ``github/file`` and ``gitlab/file`` are fetched with."""

    async def content(self, artifact: Json, field: str) -> bytes:
        """The bytes of a file artifact."""
        kind = artifact.get("type")
        reference = str(artifact.get("reference") or "")
        if kind == "embedded/base64":
            if len(reference) > MAX_ARTIFACT_BYTES * 4 // 3 + 4:
                raise SourceRefused(field, f"{label(artifact)} is larger than {MAX_ARTIFACT_BYTES} bytes")
            try:
                return base64.b64decode(reference, validate=True)
            except (binascii.Error, ValueError) as error:
                raise SourceRefused(field, f"{label(artifact)}: the reference is not base64 ({error})") from None
        if kind == "inline":
            if len(reference) > MAX_ARTIFACT_BYTES:
                raise SourceRefused(field, f"{label(artifact)} is larger than {MAX_ARTIFACT_BYTES} bytes")
            return reference.encode()
        if kind in FETCHED_TYPES:
            return await self._download(artifact, field)
        raise SourceRefused(field, f"artifact type {kind!r} is not one Terraformer reads ({', '.join(FILE_TYPES)})")

    def account(self, artifact: Json, field: str) -> ArtifactAccount | None:
        """The artifact account ``artifact`` names (``None``: it names none); one not configured is refused."""
        try:
            return self.artifacts.named_by(artifact)
        except ArtifactAccountRefused as refused:
            raise SourceRefused(field, f"{label(artifact)}: {refused}") from None

    async def _download(self, artifact: Json, field: str) -> bytes:
        account = self.account(artifact, field)
        identity = f"{artifact.get('reference')}\n{artifact.get('version') or ''}"
        key = hashlib.sha256(identity.encode()).hexdigest()[:32]
        try:
            return await fetch_artifact(
                self.outbound, artifact, account, idempotency_key=f"artifact-{key}", max_bytes=MAX_ARTIFACT_BYTES
            )
        except ArtifactUnavailable as unavailable:
            raise SourceRefused(field, str(unavailable)) from None

    async def file(self, artifact: Json, into: Path, field: str, default_name: str) -> Path:
        """Write a file artifact under ``into``; its path."""
        return write_file(into, _file_name(artifact, default_name), await self.content(artifact, field))

    async def configuration(self, artifact: Json, into: Path, field: str) -> Path:
        """Fetch the configuration under ``into``; the directory Terraform runs in (before ``dir``)."""
        sub = relative(str((artifact.get("metadata") or {}).get("subPath") or ""), f"{field}.metadata.subPath")
        if artifact.get("type") == "git/repo":
            await self._clone(artifact, into, field)
        else:
            data = await self.content(artifact, field)
            if not _unpacked(data, into, field):
                write_file(into, _file_name(artifact, "main.tf"), data)
        return directory(into / sub, f"{field}.metadata.subPath", f"{sub} is not a directory of {label(artifact)}")

    def git_account(self, artifact: Json, field: str) -> ArtifactAccount | None:
        """The ``gitrepo`` account a ``git/repo`` artifact names (``None``: it names none)."""
        try:
            return self.artifacts.named_by(artifact, kind="gitrepo")
        except ArtifactAccountRefused as refused:
            raise SourceRefused(field, f"{label(artifact)}: {refused}") from None

    async def _clone(self, artifact: Json, into: Path, field: str) -> None:
        account = self.git_account(artifact, field)
        try:
            await clone(
                str(artifact.get("reference") or ""),
                str(artifact.get("version") or ""),
                into,
                account=account,
                policy=self.policy,
                local_roots=self.local_git_roots,
                roots_setting="[terraformer] local_git_roots",
            )
        except GitRefused as refused:
            raise SourceRefused(f"{field}.{refused.part}" if refused.part else field, str(refused)) from None


def write_file(into: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``name`` under ``into`` (made if missing), never over another file; its path."""
    into.mkdir(parents=True, exist_ok=True)
    path, n = into / name, 1
    while path.exists():
        path, n = into / f"{n}-{name}", n + 1
    path.write_bytes(data)
    return path


def directory(path: Path, field: str, reason: str) -> Path:
    """``path``, when it is a directory; else :class:`SourceRefused` naming ``field``."""
    if not path.is_dir():
        raise SourceRefused(field, reason)
    return path


def read_bytes(path: Path) -> bytes:
    """The bytes of a file the run wrote."""
    return path.read_bytes()


def _unpacked(data: bytes, into: Path, field: str) -> bool:
    """Unpack ``data`` under ``into`` when it is a tar archive; whether it was one."""
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 - closed by the with below
    except tarfile.TarError:
        return False
    with archive:
        members = archive.getmembers()
        if sum(member.size for member in members) > MAX_UNPACKED_BYTES:
            raise SourceRefused(field, f"the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        try:
            archive.extractall(into, members=members, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise SourceRefused(field, f"the archive cannot be unpacked safely: {error}") from None
    return True
