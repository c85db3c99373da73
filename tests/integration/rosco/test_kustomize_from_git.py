"""A kustomize bake reads its sources from a private git repository, as Spinnaker's kustomize bakes
of a ``git/repo`` artifact do: cloned over HTTP (``git http-backend`` behind basic auth) with the
``gitrepo`` artifact account the artifact names, only for a user who may READ that account."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from gennaker.outbound import OutboundPolicy
from schemas.artifact_accounts import ArtifactAccount, ArtifactSettings
from schemas.authority import Authority
from schemas.json_types import Json
from tests.git_http_server import GitHttpServer
from tests.outbound import LOOPBACK_TEST_SERVERS
from tests.unit.rosco.charts import KUSTOMIZE_FILES
from workers.rosco.manifests.bake import BakeManifestTask
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.repositories import GitRepositories

KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"
PASSWORD = "kustomize-git-pw"
ACCOUNTS = ArtifactSettings(
    accounts=[
        ArtifactAccount(
            name="shop-git",
            type="gitrepo",
            username="rosco",
            password=SecretStr(PASSWORD),
            permissions={"READ": ("ops",)},
        ),
        ArtifactAccount(name="old-git", type="gitrepo", username="rosco", password=SecretStr("an-old-pw-77")),
    ]
)

OPS = Authority(user="olga", roles=("ops",))


def _repository(root: Path) -> Path:
    work, bare = root / "work", root / "shop.git"
    for path, text in KUSTOMIZE_FILES.items():
        (work / "app" / path).parent.mkdir(parents=True, exist_ok=True)
        (work / "app" / path).write_text(text)

    def git(*args: str, cwd: Path) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)

    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=root)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "sources", cwd=work)
    git("push", "--quiet", str(bare), "main", cwd=work)
    return bare


def _context(url: str, account: str) -> Json:
    artifact = {
        "type": "git/repo",
        "reference": url,
        "version": "main",
        "artifactAccount": account,
        "metadata": {"subPath": "app"},
    }
    return {
        "templateRenderer": "KUSTOMIZE",
        "kustomizeFilePath": "deploy/base/kustomization.yaml",
        "inputArtifacts": [{"id": "repo", "artifact": artifact}],
        "expectedArtifacts": [{"id": "out", "matchArtifact": {"type": "embedded/base64", "name": "shop"}}],
    }


async def test_a_kustomization_is_cloned_with_its_gitrepo_account_for_who_may_read_it(tmp_path: Path) -> None:
    bare = _repository(tmp_path)
    task = BakeManifestTask(
        kubectl=KUBECTL, repositories=GitRepositories(ACCOUNTS, OutboundPolicy(LOOPBACK_TEST_SERVERS))
    )
    async with GitHttpServer(bare.parent, "rosco", PASSWORD) as server:
        url = f"{server.url}/{bare.name}"
        with pytest.raises(BakeFailed, match="user 'mallory' lacks READ permission on artifact account 'shop-git'"):
            await task.bake(_context(url, "shop-git"), Authority(user="mallory", roles=("nobody",)))
        assert server.requests == [], "nothing was cloned for the refused bake"

        with pytest.raises(BakeFailed, match="git clone with artifact account 'old-git' failed") as failed:
            await task.bake(_context(url, "old-git"), OPS)
        assert "an-old-pw-77" not in str(failed.value)

        baked = await task.bake(_context(url, "shop-git"), OPS)
    (deployment,) = [doc for doc in yaml.safe_load_all(base64.b64decode(baked["reference"])) if doc]
    assert deployment["metadata"]["name"] == "prod-web"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "acme/shop:v7"
