"""``fetchManifestArtifact``: the text of a manifest artifact, for Orca to evaluate its ``${…}``.

Spinnaker's Orca asks Clouddriver's ``/artifacts/fetch`` for a ``deployManifest``'s artifact, as the
execution's user, and evaluates the expressions in what it gets. Here Orca's
``resolveDeploySourceManifest`` task sends this operation: Clouddriver fetches the ``manifestArtifact``
of the context (an ``http/file``, ``github/file`` or ``gitlab/file``) with the artifact account it
names, which the command's authority must READ (:class:`~workers.clouddriver.artifacts.ArtifactFetcher`),
at most :data:`~workers.clouddriver.kubernetes.manifests.MAX_BYTES` of UTF-8 text (what a deploy
takes), and answers it in the stage's context (:data:`~schemas.clouddriver_operations.FETCHED_MANIFEST_TEXT`,
hidden from every reader). Orca never holds an artifact account's credentials.
"""

from __future__ import annotations

from gennaker.outbound.artifacts import shown
from schemas.clouddriver_operations import FETCHED_MANIFEST, FETCHED_MANIFEST_TEXT
from workers.clouddriver.artifacts import ArtifactFetcher
from workers.clouddriver.kubernetes.manifests import MAX_BYTES
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.provider import OperationFailed

IDENTITY = ("type", "reference", "version", "artifactAccount")
"""The fields naming the artifact fetched, answered beside its text."""


async def fetch_manifest_artifact(op: OperationRun) -> Outcome:
    """The text of the context's ``manifestArtifact`` (see the module)."""
    artifact = op.context.get("manifestArtifact")
    if not isinstance(artifact, dict) or not ArtifactFetcher.fetches(artifact):
        raise OperationFailed(
            "fetchManifestArtifact needs a 'manifestArtifact': an http/file, github/file or gitlab/file"
        )
    if op.artifacts is None:
        raise OperationFailed("this Clouddriver fetches no artifacts: manifestArtifact must be embedded/base64")
    body = await op.artifacts.fetch(artifact, op.command.authority, asked_by=op.command.task_id, max_bytes=MAX_BYTES)
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        raise OperationFailed(f"manifestArtifact {shown(artifact)}: not UTF-8 text ({error})") from None
    identity = {key: artifact[key] for key in IDENTITY if artifact.get(key) is not None}
    return Outcome(context={FETCHED_MANIFEST: identity, FETCHED_MANIFEST_TEXT: text})
