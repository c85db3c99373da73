"""Rosco's side of Orca's ``bakeManifest`` stage: render, then answer with one ``embedded/base64`` artifact.

Orca sends ``orca.RunExternalTask`` with the stage's context in Spinnaker's shape, its
``inputArtifacts`` already bound (``[{id, account, artifact}]``): ``templateRenderer``
(``HELM3``/``HELM2``: :mod:`.helm`; ``KUSTOMIZE``/``KUSTOMIZE4``: :mod:`.kustomize`; for either the
first input may be a ``git/repo`` artifact cloned with its ``gitrepo`` account: :mod:`.repositories`),
``outputName``, ``namespace``, ``overrides``, ``rawOverrides``, ``includeCRDs``,
``helmChartFilePath``, ``kustomizeFilePath``, and ``expectedArtifacts``, which must hold exactly
one artifact: the one the stage produces, named after its ``matchArtifact.name``, as Orca requires.

The answer (``rosco.task.completed``) is SUCCEEDED with outputs ``artifacts``
(``[{type: embedded/base64, name, reference}]``, the manifests as base64 text) and
``cloudProvider: kubernetes``, or TERMINAL with what was wrong; Orca then binds the artifact to the
stage's expected artifact, so a ``deployManifest`` downstream reads it by ``manifestArtifactId``.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from pathlib import Path

from bus.context import MessageContext
from schemas.authority import Authority
from schemas.json_types import Json
from schemas.orca_engine import RunExternalTask, TaskOutcome
from schemas.rosco import RoscoTaskCompleted
from workers.rosco.manifests import helm, kustomize
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.helm_repositories import HelmRepositories
from workers.rosco.manifests.inputs import embedded, label
from workers.rosco.manifests.repositories import GitRepositories

STAGE_TYPE = "bakeManifest"
MAX_OUTPUT_BYTES = 1024 * 1024
HELM = ("HELM3", "HELM2")
KUSTOMIZE = ("KUSTOMIZE", "KUSTOMIZE4")


def output_artifact_name(context: Json) -> str:
    """The name of the artifact the stage produces: its one expected artifact's ``matchArtifact.name``."""
    expected = context.get("expectedArtifacts")
    if not isinstance(expected, list) or len(expected) != 1 or not isinstance(expected[0], dict):
        raise BakeFailed(
            "The Bake (Manifest) stage produces one embedded base64 artifact: its `Produces Artifacts` "
            "(`expectedArtifacts`) must hold exactly one artifact"
        )
    match = expected[0].get("matchArtifact") if isinstance(expected[0].get("matchArtifact"), dict) else {}
    return str((match or {}).get("name") or context.get("outputName") or "")


class BakeManifestTask:
    """Runs ``bakeManifest`` with ``kubectl`` (for kustomize) and ``charts`` (``helm/chart`` artifacts)."""

    def __init__(
        self,
        *,
        kubectl: str = "kubectl",
        charts: HelmRepositories | None = None,
        repositories: GitRepositories | None = None,
    ) -> None:
        self.kubectl = kubectl
        self.charts = charts or HelmRepositories([])
        self.repositories = repositories or GitRepositories()

    async def _bytes(self, artifact: Json) -> bytes:
        kind = artifact.get("type")
        if kind == "embedded/base64":
            return embedded(artifact)
        if kind == "helm/chart":
            return await self.charts.fetch(artifact)
        raise BakeFailed(
            f"input artifact {label(artifact)}: this Rosco reads embedded/base64 and helm/chart artifacts "
            f"(and git/repo as the first), not {kind!r}"
        )

    async def bake(self, context: Json, authority: Authority | None = None) -> Json:
        """The artifact the stage ``context`` bakes for ``authority`` (default: an anonymous caller
        without rights); :class:`BakeFailed` saying why not."""
        renderer = str(context.get("templateRenderer") or "").upper()
        if renderer not in (*HELM, *KUSTOMIZE):
            raise BakeFailed(f"Invalid template renderer {context.get('templateRenderer')!r}: HELM3 or KUSTOMIZE")
        name = output_artifact_name(context)
        inputs = context.get("inputArtifacts")
        listed = inputs if isinstance(inputs, list) else []
        artifacts: list[Json] = [
            item["artifact"] for item in listed if isinstance(item, dict) and isinstance(item.get("artifact"), dict)
        ]
        if not artifacts or len(artifacts) != len(listed):
            raise BakeFailed("At least one input artifact to bake must be supplied (inputArtifacts, each bound)")
        if artifacts[0].get("type") == "git/repo":
            # what the stage itself gets wrong is refused before anything is cloned
            values = []
            if renderer in HELM:
                helm.check(context)
                values = [await self._bytes(artifact) for artifact in artifacts[1:]]
            else:
                kustomize.file_path(context)
            with tempfile.TemporaryDirectory(prefix="rosco-git-") as workdir:
                sources = await self.repositories.checkout(artifacts[0], authority or Authority.nobody(), Path(workdir))
                if renderer in HELM:
                    text = await asyncio.to_thread(helm.render, context, sources, values)
                else:
                    text = await kustomize.render(context, sources, self.kubectl)
        else:
            contents = [await self._bytes(artifact) for artifact in artifacts]
            if renderer in HELM:
                text = await asyncio.to_thread(helm.render, context, contents[0], contents[1:])
            else:
                text = await kustomize.render(context, contents[0], self.kubectl)
        if len(text.encode()) > MAX_OUTPUT_BYTES:
            raise BakeFailed(f"the bake rendered more than {MAX_OUTPUT_BYTES} bytes of manifests")
        if not text.strip():
            raise BakeFailed(f"the {renderer} bake rendered no manifests")
        return {"type": "embedded/base64", "name": name, "reference": base64.b64encode(text.encode()).decode()}

    async def run(self, task: RunExternalTask, context: MessageContext) -> None:
        """Bake and answer Orca."""
        if task.stage_type != STAGE_TYPE:
            await self._answer(task, context, "TERMINAL", f"Rosco provides no stage type {task.stage_type!r}", {})
            return
        try:
            artifact = await self.bake(task.context, task.authority)
        except BakeFailed as failed:
            await self._answer(task, context, "TERMINAL", str(failed), {})
            return
        await self._answer(task, context, "SUCCEEDED", None, {"artifacts": [artifact], "cloudProvider": "kubernetes"})

    async def _answer(
        self, task: RunExternalTask, context: MessageContext, status: TaskOutcome, error: str | None, outputs: Json
    ) -> None:
        answer = RoscoTaskCompleted(
            execution_id=task.execution_id,
            stage_id=task.stage_id,
            task_id=task.task_id,
            attempt=task.attempt,
            application=task.application,
            status=status,
            outputs=outputs,
            error=error,
        )
        await context.publish(answer, subject=task.execution_id)
