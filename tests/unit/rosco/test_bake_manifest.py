"""Rosco bakes manifests as Spinnaker's Rosco does: ``helm template`` of a chart with values files
and overrides, ``kustomize build`` of a kustomization, one ``embedded/base64`` artifact out."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from schemas.json_types import Json
from schemas.rosco import HelmAccount
from tests.unit.rosco.charts import KUSTOMIZE_FILES, chart_archive, embedded, tarball
from workers.rosco.manifests.bake import BakeManifestTask
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.helm_repositories import HelmRepositories

KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"
PRODUCES = [{"id": "bake-output", "matchArtifact": {"type": "embedded/base64", "name": "shop-manifests"}}]


def helm_context(*inputs: Json, **extra: Any) -> Json:
    return {
        "templateRenderer": "HELM3",
        "outputName": "shop",
        "namespace": "shop",
        "inputArtifacts": [
            {"id": f"in{n}", "account": "embedded-artifact", "artifact": a} for n, a in enumerate(inputs)
        ],
        "expectedArtifacts": PRODUCES,
        **extra,
    }


def documents(artifact: Json) -> list[Json]:
    return [doc for doc in yaml.safe_load_all(base64.b64decode(artifact["reference"])) if doc]


async def test_helm_renders_the_chart_with_values_files_then_overrides_in_install_order() -> None:
    values = embedded(b"replicas: 2\nimage:\n  tag: from-values\n", "values")
    artifact = await BakeManifestTask().bake(
        helm_context(embedded(chart_archive(), "chart"), values, overrides={"image.tag": "v2", "replicas": 3})
    )
    assert artifact["type"] == "embedded/base64" and artifact["name"] == "shop-manifests"
    text = base64.b64decode(artifact["reference"]).decode()
    assert text.startswith("---\n# Source: shop/templates/service.yaml\n")  # Services before Deployments
    assert "NOTES" not in text
    service, deployment = documents(artifact)
    assert (service["kind"], service["metadata"]["name"]) == ("Service", "shop")
    assert deployment["metadata"] == {"name": "shop-web", "namespace": "shop"}  # partials and .Release
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "acme/shop:v2"  # the override wins over the values file
    assert deployment["spec"]["replicas"] == 3
    assert container["env"][0]["value"] == "string"  # --set-string: overrides stay strings


async def test_raw_overrides_keep_their_types() -> None:
    artifact = await BakeManifestTask().bake(
        helm_context(embedded(chart_archive()), overrides={"replicas": 4}, rawOverrides=True)
    )
    deployment = documents(artifact)[1]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] != "string"
    assert deployment["spec"]["replicas"] == 4


async def test_a_template_that_fails_fails_the_bake_with_helms_words() -> None:
    broken = {"Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n", "templates/x.yaml": "{{ .Values.a.b }}\n"}
    with pytest.raises(BakeFailed, match=r"(?s)helm template failed: .*x\.yaml.*nil pointer"):
        await BakeManifestTask().bake(helm_context(embedded(chart_archive(broken))))


async def test_kustomize_builds_the_kustomization_the_file_path_names() -> None:
    context = {
        "templateRenderer": "KUSTOMIZE",
        "kustomizeFilePath": "deploy/base/kustomization.yaml",
        "inputArtifacts": [{"id": "repo", "artifact": embedded(tarball(KUSTOMIZE_FILES), "repo")}],
        "expectedArtifacts": PRODUCES,
    }
    (deployment,) = documents(await BakeManifestTask(kubectl=KUBECTL).bake(context))
    assert deployment["metadata"]["name"] == "prod-web"
    assert deployment["metadata"]["labels"] == {"team": "shop"}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "acme/shop:v7"


async def test_kustomize_errors_and_paths_outside_the_sources_are_refused() -> None:
    sources = embedded(tarball({**KUSTOMIZE_FILES, "deploy/base/kustomization.yaml": "resources:\n- missing.yaml\n"}))
    context: Json = {
        "templateRenderer": "KUSTOMIZE",
        "kustomizeFilePath": "deploy/base/kustomization.yaml",
        "inputArtifacts": [{"artifact": sources}],
        "expectedArtifacts": PRODUCES,
    }
    with pytest.raises(BakeFailed, match=r"kustomize build failed: .*missing\.yaml"):
        await BakeManifestTask(kubectl=KUBECTL).bake(context)
    with pytest.raises(BakeFailed, match="leaves the input artifact"):
        await BakeManifestTask(kubectl=KUBECTL).bake({**context, "kustomizeFilePath": "../../etc/kustomization.yaml"})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"expectedArtifacts": []}, "must hold exactly one artifact"),
        ({"templateRenderer": "JSONNET"}, "Invalid template renderer 'JSONNET'"),
        ({"inputArtifacts": []}, "At least one input artifact"),
        ({"inputArtifacts": [{"artifact": {"type": "s3/object", "name": "x"}}]}, "not 's3/object'"),
        ({"kubeVersion": "1.30"}, "kubeVersion is not supported"),
        ({"outputName": "Not_A_Release"}, "is not a Helm release name"),
    ],
)
async def test_a_stage_rosco_cannot_bake_fails_saying_why(change: Json, reason: str) -> None:
    with pytest.raises(BakeFailed, match=reason):
        await BakeManifestTask().bake({**helm_context(embedded(chart_archive())), **change})


@pytest.fixture
async def chart_repository() -> AsyncIterator[str]:
    archive = chart_archive()

    async def index(_: web.Request) -> web.Response:
        entries = {
            "shop": [{"version": "1.1.0", "urls": ["old.tgz"]}, {"version": "1.2.0", "urls": ["shop-1.2.0.tgz"]}]
        }
        return web.Response(text=yaml.safe_dump({"apiVersion": "v1", "entries": entries}))

    async def chart(_: web.Request) -> web.Response:
        return web.Response(body=archive)

    app = web.Application()
    app.router.add_get("/charts/index.yaml", index)
    app.router.add_get("/charts/shop-1.2.0.tgz", chart)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/charts"))
    finally:
        await server.close()


async def test_a_helm_chart_artifact_is_read_from_its_accounts_repository(chart_repository: str) -> None:
    charts = HelmRepositories([HelmAccount(name="helm-charts", repository=chart_repository)])
    chart = {"type": "helm/chart", "name": "shop", "artifactAccount": "helm-charts"}  # no version: the newest
    artifact = await BakeManifestTask(charts=charts).bake(helm_context(chart))
    assert [doc["kind"] for doc in documents(artifact)] == ["Service", "Deployment"]
    with pytest.raises(BakeFailed, match=r"chart 'shop' version 9\.9\.9 is not in 'helm-charts'"):
        await BakeManifestTask(charts=charts).bake(helm_context({**chart, "version": "9.9.9"}))
    with pytest.raises(BakeFailed, match=r"account 'elsewhere' is not one of Rosco's"):
        await BakeManifestTask(charts=charts).bake(helm_context({**chart, "artifactAccount": "elsewhere"}))
