"""Clouddriver's artifact credentials: fetching the ``http/file``, ``github/file`` and ``gitlab/file``
artifacts a stage names (a ``deployManifest`` whose ``manifestArtifact`` is one), with the account
its ``artifactAccount`` names, checked against the command's authority (READ on the account).

An artifact naming no account is fetched without credentials; one naming an account that is not
configured fails the operation saying so.
"""

from __future__ import annotations

import hashlib

from gennaker.outbound import OutboundClient
from gennaker.outbound.artifacts import MAX_ARTIFACT_BYTES, ArtifactUnavailable, fetch_artifact, shown
from schemas.artifact_accounts import FETCHED_TYPES, ArtifactAccountRefused, ArtifactSettings
from schemas.authority import Authority
from schemas.json_types import Json
from workers.clouddriver.access import AccessDenied
from workers.clouddriver.provider import OperationFailed


class ArtifactFetcher:
    """The artifact accounts and the outbound client they are fetched through."""

    def __init__(self, client: OutboundClient, settings: ArtifactSettings) -> None:
        self.client = client
        self.settings = settings

    @staticmethod
    def fetches(artifact: object) -> bool:
        """Whether ``artifact`` is one fetched over HTTP (rather than carrying its bytes)."""
        return isinstance(artifact, dict) and artifact.get("type") in FETCHED_TYPES

    async def fetch(
        self, artifact: Json, authority: Authority, *, asked_by: str, max_bytes: int = MAX_ARTIFACT_BYTES
    ) -> bytes:
        """The bytes of ``artifact`` for ``authority``; ``asked_by`` (the task id) keys the request;
        an artifact larger than ``max_bytes`` fails saying so."""
        try:
            account = self.settings.named_by(artifact)
        except ArtifactAccountRefused as refused:
            raise OperationFailed(f"{shown(artifact)}: {refused}") from None
        if account is not None and not account.may_read(authority):
            raise AccessDenied(
                f"access denied: {authority.described()} lacks READ permission on artifact account {account.name!r}"
            )
        reference = str(artifact.get("reference") or "")
        key = hashlib.sha256(f"{asked_by}\n{reference}\n{artifact.get('version') or ''}".encode()).hexdigest()[:32]
        try:
            return await fetch_artifact(
                self.client, artifact, account, idempotency_key=f"artifact-{key}", max_bytes=max_bytes
            )
        except ArtifactUnavailable as unavailable:
            raise OperationFailed(str(unavailable)) from None

    async def close(self) -> None:
        """Close the outbound client."""
        await self.client.close()
