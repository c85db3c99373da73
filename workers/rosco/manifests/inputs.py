"""The bytes of a bake's input artifacts, and archives unpacked safely.

An ``embedded/base64`` artifact carries its bytes in ``reference``; other types are fetched by
:class:`~workers.rosco.manifests.helm_repositories.HelmRepositories` (``helm/chart``) or refused
naming the type. Archives (a chart ``.tgz``, a ``git/repo``-style tarball of a kustomization) are
unpacked with tarfile's ``data`` filter: no absolute paths, no ``..``, no links out, no devices.
"""

from __future__ import annotations

import base64
import binascii
import io
import tarfile
from pathlib import Path

from schemas.json_types import Json
from workers.rosco.manifests.errors import BakeFailed

MAX_INPUT_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


def label(artifact: Json) -> str:
    """An artifact as an error names it."""
    parts = [str(artifact.get("type") or "?"), str(artifact.get("name") or "")]
    if artifact.get("version"):
        parts.append(str(artifact["version"]))
    return " ".join(part for part in parts if part)


def embedded(artifact: Json) -> bytes:
    """The bytes of an ``embedded/base64`` artifact."""
    reference = str(artifact.get("reference") or "")
    if len(reference) > MAX_INPUT_BYTES * 4 // 3 + 4:
        raise BakeFailed(f"input artifact {label(artifact)} is larger than {MAX_INPUT_BYTES} bytes")
    try:
        return base64.b64decode(reference, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BakeFailed(f"input artifact {label(artifact)}: the reference is not base64: {error}") from None


def unpack(data: bytes, into: Path, what: str) -> None:
    """Unpack the tar (optionally gzipped) ``data`` under ``into``; :class:`BakeFailed` when it is not one."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            members = archive.getmembers()
            if sum(member.size for member in members) > MAX_UNPACKED_BYTES:
                raise BakeFailed(f"{what} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            archive.extractall(into, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise BakeFailed(f"{what} is not a tar archive Rosco can unpack: {error}") from None
