"""A Helm bake reads its chart from a private git repository, as Spinnaker's Rosco does with a
``git/repo`` first input artifact and ``helmChartFilePath``: cloned over HTTP (``git http-backend``
behind basic auth) with the ``gitrepo`` artifact account the artifact names, only for a user who
may READ that account, the chart rendered by Helm's own engine."""

from __future__ import annotations

import base64
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
from tests.unit.rosco.charts import CHART_FILES, embedded
from workers.rosco.manifests.bake import BakeManifestTask
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.repositories import GitRepositories

PASSWORD = "helm-git-pw"
ACCOUNTS = ArtifactSettings(
    accounts=[
        ArtifactAccount(
            name="charts-git",
            type="gitrepo",
            username="rosco",
            password=SecretStr(PASSWORD),
            permissions={"READ": ("ops",)},
        )
    ]
)
OPS = Authority(user="olga", roles=("ops",))
REPOSITORY_FILES = {
    **CHART_FILES,
    # how many files of the clone's .git the chart could read (Spinnaker's download has none)
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-files\n"
        'data:\n  git: {{ len (.Files.Glob ".git/**") | quote }}\n'
    ),
}


def _repository(root: Path) -> Path:
    """``charts.git``: the chart at the root of branch ``main``; branch ``linked`` adds a link out of it."""
    work, bare = root / "work", root / "charts.git"
    for path, text in REPOSITORY_FILES.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)

    def git(*args: str, cwd: Path = work) -> None:
        identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True)

    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=root)
    git("init", "--quiet", "--initial-branch=main")
    git("add", ".")
    git("commit", "--quiet", "-m", "chart")
    git("checkout", "--quiet", "-b", "linked")
    (work / "files").mkdir()
    (work / "files" / "hostname").symlink_to("/etc/hostname")
    git("add", ".")
    git("commit", "--quiet", "-m", "a link out")
    git("push", "--quiet", str(bare), "main", "linked")
    return bare


def _context(url: str, *, version: str = "main", chart_path: str = "Chart.yaml", **changes: object) -> Json:
    repo = {"type": "git/repo", "reference": url, "version": version, "artifactAccount": "charts-git"}
    values = embedded(b"replicas: 3\n", name="values")
    return {
        "templateRenderer": "HELM3",
        "outputName": "shop",
        "namespace": "prod",
        "helmChartFilePath": chart_path,
        "overrides": {"image.tag": "v9"},
        "inputArtifacts": [{"id": "chart", "artifact": repo}, {"id": "values", "artifact": values}],
        "expectedArtifacts": [{"id": "out", "matchArtifact": {"type": "embedded/base64", "name": "shop"}}],
        **changes,
    }


async def test_a_chart_is_cloned_with_its_gitrepo_account_for_who_may_read_it(tmp_path: Path) -> None:
    bare = _repository(tmp_path)
    task = BakeManifestTask(repositories=GitRepositories(ACCOUNTS, OutboundPolicy(LOOPBACK_TEST_SERVERS)))
    async with GitHttpServer(bare.parent, "rosco", PASSWORD) as server:
        url = f"{server.url}/{bare.name}"
        with pytest.raises(BakeFailed, match="user 'mallory' lacks READ permission on artifact account 'charts-git'"):
            await task.bake(_context(url), Authority(user="mallory", roles=("nobody",)))
        with pytest.raises(BakeFailed, match="outputName 'Shop!' is not a Helm release name"):
            await task.bake(_context(url, outputName="Shop!"), OPS)
        assert server.requests == [], "nothing was cloned for the refused bakes"

        with pytest.raises(BakeFailed, match="helmChartFilePath 'charts/none' names no chart"):
            await task.bake(_context(url, chart_path="charts/none"), OPS)
        with pytest.raises(BakeFailed, match="files/hostname links outside it"):
            await task.bake(_context(url, version="linked", chart_path=""), OPS)

        baked = await task.bake(_context(url), OPS)
    documents = [doc for doc in yaml.safe_load_all(base64.b64decode(baked["reference"])) if doc]
    assert [doc["kind"] for doc in documents] == ["ConfigMap", "Service", "Deployment"]
    files, _, deployment = documents
    assert files["data"] == {"git": "0"}, "the chart sees the repository's tree, not its .git"
    assert deployment["metadata"] == {"name": "shop-web", "namespace": "prod"}
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "acme/shop:v9"
