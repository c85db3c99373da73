"""``templateRenderer: KUSTOMIZE`` (and ``KUSTOMIZE4``): Rosco's ``kustomize build``, through
kubectl's built-in kustomize (``kubectl kustomize``; Debian's ``kubernetes-client`` has it).

As Rosco: the one input artifact holds the sources: a tarball (an ``embedded/base64`` artifact)
or a ``git/repo`` one, cloned by the caller (:mod:`workers.rosco.manifests.bake`); and
``kustomizeFilePath`` names the kustomization file inside it. The directory holding that file
is built, with kustomize's default rule that files outside it may not be loaded. The output is
kustomize's, unchanged; its error, when it fails, is the stage's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from schemas.json_types import Json
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.inputs import unpack

TIMEOUT_SECONDS = 60.0
MAX_OUTPUT_BYTES = 1024 * 1024
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _root(workdir: Path, file_path: str) -> Path:
    target = (workdir / file_path).resolve()
    if not target.is_relative_to(workdir.resolve()):
        raise BakeFailed(f"kustomizeFilePath {file_path!r} leaves the input artifact")
    directory = target if target.is_dir() else target.parent
    if not any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        raise BakeFailed(f"kustomizeFilePath {file_path!r}: no kustomization file there in the input artifact")
    return directory


def file_path(context: Json) -> str:
    """The stage's ``kustomizeFilePath``; :class:`BakeFailed` when it has none."""
    given = context.get("kustomizeFilePath")
    if not isinstance(given, str) or not given:
        raise BakeFailed("kustomizeFilePath is required: the path of the kustomization file in the input artifact")
    return given


async def render(context: Json, sources: bytes | Path, kubectl: str) -> str:
    """``kubectl kustomize`` of the kustomization ``context['kustomizeFilePath']`` names in ``sources``
    (a tarball, or the directory a repository was cloned to)."""
    path = file_path(context)
    if isinstance(sources, Path):
        return await _build(_root(sources, path), sources, kubectl)
    with tempfile.TemporaryDirectory(prefix="rosco-kustomize-") as workdir:
        unpack(sources, Path(workdir), "the kustomization's input artifact")
        return await _build(_root(Path(workdir), path), Path(workdir), kubectl)


async def _build(root: Path, workdir: Path, kubectl: str) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "KUBECONFIG": os.devnull}
    try:
        process = await asyncio.create_subprocess_exec(
            kubectl,
            "kustomize",
            str(root),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workdir,
            env=env,
        )
    except OSError as error:
        raise BakeFailed(
            f"cannot run {kubectl!r} for kustomize ({error}); install kubectl (Debian: kubernetes-client)"
        ) from None
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise BakeFailed(f"kustomize build took longer than {TIMEOUT_SECONDS:g} s") from None
    if process.returncode != 0:
        reason = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise BakeFailed(f"kustomize build failed: {reason}")
    if len(out) > MAX_OUTPUT_BYTES:
        raise BakeFailed(f"kustomize built more than {MAX_OUTPUT_BYTES} bytes of manifests")
    return out.decode()
