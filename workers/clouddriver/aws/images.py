"""Machine images (AMIs): resolving the one a server group runs, and finding them by name and tags.

A deploy names its image by id (``ami-…``) or by name (Spinnaker's ``amiName``); a name resolves
to the newest image of that name the account can launch. ``findImage`` searches the account's own
images by a name fragment and tags, newest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from workers.clouddriver.aws import tags
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.errors import is_not_found
from workers.clouddriver.model import Image, epoch_millis
from workers.clouddriver.provider import OperationFailed

if TYPE_CHECKING:
    from types_aiobotocore_ec2.type_defs import FilterTypeDef, ImageTypeDef


def creation_millis(image: ImageTypeDef) -> int:
    """The image's ``CreationDate`` in epoch milliseconds (0 when absent or unreadable)."""
    return epoch_millis(image.get("CreationDate"))


def to_model(image: ImageTypeDef, *, account: str, region: str) -> Image:
    """The provider-neutral :class:`Image` of an EC2 image."""
    image_id = image.get("ImageId", "")
    return Image(
        image_id=image_id,
        name=image.get("Name") or image_id,
        region=region,
        account=account,
        tags=tags.as_dict(image.get("Tags")),
        created_time=creation_millis(image),
        extra={
            "architecture": image.get("Architecture"),
            "virtualizationType": image.get("VirtualizationType"),
            "ownerId": image.get("OwnerId"),
            "state": image.get("State"),
        },
    )


async def resolve(clients: RegionClients, image: str) -> ImageTypeDef:
    """The image ``image`` names (an id, or a name: the newest of that name); :class:`OperationFailed` if none."""
    try:
        if image.startswith("ami-"):
            found = (await clients.ec2.describe_images(ImageIds=[image])).get("Images", [])
        else:
            found = (await clients.ec2.describe_images(Filters=[{"Name": "name", "Values": [image]}])).get("Images", [])
    except ClientError as error:
        if not is_not_found(error):
            raise
        found = []
    if not found:
        raise OperationFailed(f"image: no image {image!r} in {clients.region}")
    return max(found, key=creation_millis)


async def own_images(
    clients: RegionClients, query: str | None = None, wanted: dict[str, str] | None = None
) -> list[ImageTypeDef]:
    """The account's own images whose name contains ``query`` and that carry every tag in ``wanted``."""
    filters: list[FilterTypeDef] = [{"Name": f"tag:{key}", "Values": [value]} for key, value in (wanted or {}).items()]
    if query:
        filters.append({"Name": "name", "Values": [f"*{query}*"]})
    answer = await clients.ec2.describe_images(Owners=["self"], Filters=filters)
    lowered = (query or "").lower()
    return sorted(
        (image for image in answer.get("Images", []) if lowered in (image.get("Name") or "").lower()),
        key=creation_millis,
        reverse=True,
    )
