"""What an AWS error means to an operation: gone already, there already, or a real failure.

Idempotent operations depend on telling these apart: destroying an Auto Scaling group that is gone,
or creating a launch template that exists, is the expected outcome of a redelivered operation.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

NOT_FOUND = frozenset(
    {
        "InvalidLaunchTemplateName.NotFoundException",
        "InvalidLaunchTemplateId.NotFound",
        "InvalidLaunchTemplateId.NotFoundException",
        "InvalidInstanceID.NotFound",
        "InvalidAMIID.NotFound",
        "InvalidGroup.NotFound",
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
        "ListenerNotFound",
    }
)
ALREADY_EXISTS = frozenset(
    {
        "AlreadyExists",
        "AlreadyExistsFault",
        "InvalidLaunchTemplateName.AlreadyExistsException",
        "DuplicateLoadBalancerName",
        "DuplicateTargetGroupName",
        "DuplicateListener",
        "InvalidGroup.Duplicate",
    }
)


def error_code(error: ClientError) -> str:
    """The AWS error code (``LoadBalancerNotFound``…), or ``""``."""
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    """The resource the call named does not exist (Auto Scaling says so in a ``ValidationError``)."""
    code = error_code(error)
    if code in NOT_FOUND:
        return True
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return code == "ValidationError" and ("not found" in message or "does not exist" in message)


def is_already_exists(error: ClientError) -> bool:
    """The call created something that exists already (a redelivered create)."""
    return error_code(error) in ALREADY_EXISTS
