"""docker/image artifacts replace the images they name, as Clouddriver binds them."""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver.kubernetes.artifact_binding import bind_images, unbound

IMAGE = {"type": "docker/image", "name": "acme/shop", "reference": "acme/shop:v9"}
SIDECAR = {"type": "docker/image", "name": "acme/proxy", "reference": "acme/proxy@sha256:abc"}


def deployment(*images: str, init: str | None = None) -> Json:
    pod: Json = {"containers": [{"name": f"c{n}", "image": image} for n, image in enumerate(images)]}
    if init:
        pod["initContainers"] = [{"name": "init", "image": init}]
    return {"kind": "Deployment", "spec": {"template": {"spec": pod}}}


def images(manifest: Json) -> list[str]:
    pod = manifest["spec"]["template"]["spec"]
    return [c["image"] for c in [*pod.get("initContainers", []), *pod["containers"]]]


def test_an_image_equal_to_an_artifacts_name_runs_its_reference() -> None:
    manifest = deployment("acme/shop", "acme/shop:old", init="acme/proxy")
    replaced, bound = bind_images(manifest, [IMAGE, SIDECAR, {**IMAGE, "reference": "acme/shop:v10"}])
    assert images(replaced) == ["acme/proxy@sha256:abc", "acme/shop:v9", "acme/shop:old"]  # a tagged image is kept
    assert bound == [SIDECAR, IMAGE]
    assert images(manifest) == ["acme/proxy", "acme/shop", "acme/shop:old"]  # the input is not changed


def test_cron_jobs_and_pods_are_bound_and_other_artifact_types_ignored() -> None:
    cron = {
        "kind": "CronJob",
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "acme/shop"}]}}}}},
    }
    pod = {"kind": "Pod", "spec": {"containers": [{"image": "acme/shop"}]}}
    chart = {"type": "helm/chart", "name": "acme/shop", "reference": "x"}
    assert (
        bind_images(cron, [chart, IMAGE])[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        == "acme/shop:v9"
    )
    assert bind_images(pod, [IMAGE])[0]["spec"]["containers"][0]["image"] == "acme/shop:v9"
    assert bind_images(pod, [chart]) == (pod, [])


def test_required_artifacts_no_image_took_are_named() -> None:
    assert unbound([IMAGE, SIDECAR], [IMAGE]) == [SIDECAR]
