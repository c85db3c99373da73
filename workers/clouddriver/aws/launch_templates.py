"""One launch template per server group, named after it: what its instances run and how.

The template carries the image, instance type, security groups, user data, key pair and instance
profile, and tags its instances as Spinnaker does. A redelivered create finds the template it made
the first time (by name) instead of making a second; the create itself carries the operation's
``ClientToken``, so a call repeated before the first one's answer came back (a lost connection)
is the same call to EC2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from workers.clouddriver.aws import tags
from workers.clouddriver.aws.clients import RegionClients
from workers.clouddriver.aws.errors import is_already_exists, is_not_found
from workers.clouddriver.provider import OperationFailed

if TYPE_CHECKING:
    from types_aiobotocore_ec2.type_defs import (
        LaunchTemplateTypeDef,
        RequestLaunchTemplateDataTypeDef,
        ResponseLaunchTemplateDataTypeDef,
    )

DEFAULT_INSTANCE_TYPE = "t3.micro"


def user_data(config: dict[str, Any]) -> str | None:
    """Base64 user data from ``base64UserData`` (as given) or ``userData`` (plain text, encoded here)."""
    encoded = config.get("base64UserData")
    if encoded:
        try:
            base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            raise OperationFailed("base64UserData: not valid base64") from None
        return str(encoded)
    plain = config.get("userData")
    return base64.b64encode(str(plain).encode()).decode() if plain else None


def template_data(
    server_group: str, image_id: str, security_group_ids: list[str], config: dict[str, Any]
) -> RequestLaunchTemplateDataTypeDef:
    """The launch template data of ``server_group`` from the deploy's cluster ``config``."""
    data: RequestLaunchTemplateDataTypeDef = {
        "ImageId": image_id,
        "InstanceType": str(config.get("instanceType") or DEFAULT_INSTANCE_TYPE),  # type: ignore[typeddict-item]
        "TagSpecifications": [tags.specification("instance", tags.resource_tags(server_group))],
    }
    if security_group_ids:
        data["SecurityGroupIds"] = security_group_ids
    if (encoded := user_data(config)) is not None:
        data["UserData"] = encoded
    if config.get("keyPair"):
        data["KeyName"] = str(config["keyPair"])
    if config.get("iamRole"):
        data["IamInstanceProfile"] = {"Name": str(config["iamRole"])}
    if config.get("instanceMonitoring") is not None:
        data["Monitoring"] = {"Enabled": bool(config["instanceMonitoring"])}
    return data


async def find(clients: RegionClients, name: str) -> LaunchTemplateTypeDef | None:
    """The launch template called ``name``, or ``None``."""
    try:
        found = (await clients.ec2.describe_launch_templates(LaunchTemplateNames=[name])).get("LaunchTemplates", [])
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    return found[0] if found else None


async def ensure(
    clients: RegionClients, name: str, data: RequestLaunchTemplateDataTypeDef, *, client_token: str | None
) -> LaunchTemplateTypeDef:
    """The launch template ``name`` with ``data`` as version 1: made now, or the one a first attempt made.

    ``client_token`` is the operation's (the name's own, derived, when it has none)."""
    if (existing := await find(clients, name)) is not None:
        return existing
    token = client_token or hashlib.sha256(f"launch-template:{name}".encode()).hexdigest()[:64]
    try:
        answer = await clients.ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData=data,
            ClientToken=token,
            TagSpecifications=[tags.specification("launch-template", tags.resource_tags(name))],
        )
    except ClientError as error:
        if not is_already_exists(error) or (existing := await find(clients, name)) is None:
            raise
        return existing
    return answer["LaunchTemplate"]


async def version_data(clients: RegionClients, template_id: str, version: str) -> ResponseLaunchTemplateDataTypeDef:
    """The data of one version of a launch template (``{}`` when the template is gone)."""
    try:
        answer = await clients.ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[version])
    except ClientError as error:
        if is_not_found(error):
            return {}
        raise
    versions = answer.get("LaunchTemplateVersions", [])
    return versions[0].get("LaunchTemplateData", {}) if versions else {}


async def delete(clients: RegionClients, name: str) -> None:
    """Delete launch template ``name``; a missing one is already deleted."""
    template = await find(clients, name)
    if template is None:
        return
    try:
        await clients.ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
    except ClientError as error:
        if not is_not_found(error):
            raise
