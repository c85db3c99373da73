"""The tags Spinnaker puts on what it creates in AWS, so Clouddriver and people can tell whose it is.

Clouddriver tags an Auto Scaling group with ``spinnaker:application``, ``spinnaker:stack`` and
``spinnaker:details`` (``deployDefaults.addAppStackDetailTags``), propagated to its instances,
and tags launch templates and instances with ``spinnaker:application`` and ``spinnaker:cluster``
(its ``DefaultAmazonResourceTagger``). Load balancers and target groups get the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.clouddriver import names

if TYPE_CHECKING:
    from types_aiobotocore_ec2.literals import ResourceTypeType
    from types_aiobotocore_ec2.type_defs import TagSpecificationTypeDef

APPLICATION = "spinnaker:application"
STACK = "spinnaker:stack"
DETAILS = "spinnaker:details"
CLUSTER = "spinnaker:cluster"


def server_group_tags(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The tags of server group ``name``: application, stack and details from its Frigga name."""
    parsed = names.parse(name)
    tags = dict(extra or {})
    tags[APPLICATION] = parsed.app
    if parsed.stack:
        tags[STACK] = parsed.stack
    if parsed.detail:
        tags[DETAILS] = parsed.detail
    return tags


def resource_tags(name: str) -> dict[str, str]:
    """The tags of a launch template or an instance of server group (or load balancer) ``name``."""
    parsed = names.parse(name)
    return {APPLICATION: parsed.app, CLUSTER: parsed.cluster}


def specification(resource_type: ResourceTypeType, tags: dict[str, str]) -> TagSpecificationTypeDef:
    """An EC2 ``TagSpecification``: ``tags`` (sorted by key) for a resource of ``resource_type``."""
    return {
        "ResourceType": resource_type,
        "Tags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())],
    }


def as_dict(tags: object) -> dict[str, str]:
    """``{key: value}`` from a ``Tags`` list in an AWS answer (absent or malformed entries ignored)."""
    found: dict[str, str] = {}
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and "Key" in tag:
                found[str(tag["Key"])] = str(tag.get("Value", ""))
    return found
