"""``findImage``: the image a cluster runs (Orca's ``findImage``) or the newest one with given tags
(Orca's ``findImageFromTags``).

* With ``cluster``: per region, the image of the cluster's server group picked by
  ``selectionStrategy`` (``NEWEST`` default, ``OLDEST``, ``LARGEST``, ``FAIL`` when several
  differ), among enabled ones unless ``onlyEnabled`` is false.
* Otherwise: ``packageName`` (a name fragment) and ``tags``; the newest matching image per region.

Outputs: ``deploymentDetails`` (``[{imageId, ami, imageName, region, cloudProvider, ...}]``, what a
deploy stage reads) and ``amiDetails`` (the same list).
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.clouddriver import stage_context
from workers.clouddriver.model import ServerGroup
from workers.clouddriver.operations.base import OperationRun, Outcome
from workers.clouddriver.operations.targets import newest_first
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed


async def find_image(op: OperationRun) -> Outcome:
    """Spinnaker's ``findImage`` / ``findImageFromTags``."""
    account, provider = op.account()
    if stage_context.text(op.context, "cluster", required=False) is not None:
        details = await _from_cluster(op, account, provider)
    else:
        details = await _from_tags(op, account, provider)
    outputs: Json = {"deploymentDetails": details, "amiDetails": details}
    return Outcome(outputs=outputs, context=dict(outputs))


def _detail(group: ServerGroup, provider: str) -> Json:
    image = group.image
    image_id = image.get("imageId") or image.get("id") or image.get("name") or group.name
    return {
        **image,
        "imageId": image_id,
        "ami": image_id,
        "imageName": image.get("name") or image.get("imageName") or image_id,
        "region": group.region,
        "cloudProvider": provider,
        "sourceServerGroup": group.name,
    }


async def _from_cluster(op: OperationRun, account: Account, provider: CloudProvider) -> list[Json]:
    cluster = stage_context.text(op.context, "cluster")
    assert cluster is not None
    await op.look_at("cluster", cluster)
    only_enabled = stage_context.flag(op.context, "onlyEnabled", True)
    strategy = (stage_context.text(op.context, "selectionStrategy", required=False) or "NEWEST").upper()
    snapshot = await op.snapshot(account, provider)
    details: list[Json] = []
    for region in op.regions(provider, account):
        groups = [g for g in snapshot.cluster(cluster or "", region) if not (only_enabled and g.disabled)]
        if not groups:
            raise OperationFailed(
                f"no {'enabled ' if only_enabled else ''}server group in cluster {cluster!r} in {region}"
            )
        if strategy == "FAIL" and len({str(g.image) for g in groups}) > 1:
            raise OperationFailed(f"cluster {cluster!r} in {region} runs several images (selectionStrategy FAIL)")
        ordered = newest_first(groups, prefer_larger=strategy == "LARGEST")
        chosen = ordered[-1] if strategy == "OLDEST" else ordered[0]
        details.append(_detail(chosen, provider.cloud_provider))
    return details


async def _from_tags(op: OperationRun, account: Account, provider: CloudProvider) -> list[Json]:
    package = stage_context.text(op.context, "packageName", required=False)
    tags = op.context.get("tags") or {}
    if not isinstance(tags, dict):
        raise OperationFailed(f"'tags' must be an object of tag names to values, got {tags!r}")
    images = await provider.find_images(account, package, {str(k): str(v) for k, v in tags.items()})
    details: list[Json] = []
    for region in op.regions(provider, account):
        found = sorted((image for image in images if image.region == region), key=lambda image: image.created_time)
        if not found:
            raise OperationFailed(f"no image matches packageName {package!r} and tags {tags} in {region}")
        image = found[-1]
        details.append(
            {
                "imageId": image.image_id,
                "ami": image.image_id,
                "imageName": image.name,
                "region": region,
                "cloudProvider": provider.cloud_provider,
                "tags": image.tags,
            }
        )
    return details
