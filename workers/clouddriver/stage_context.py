"""Reading an Orca stage context the way Spinnaker's stages write it.

Spinnaker spells the same thing several ways (``account`` / ``credentials``, ``serverGroupName`` /
``asgName``, ``region`` / ``regions`` / the keys of ``availabilityZones``); these helpers accept
every spelling and raise :class:`~workers.clouddriver.provider.OperationFailed` naming the key
that is missing or wrong, so the stage fails with a message a person can act on.
"""

from __future__ import annotations

from pydantic import ValidationError

from schemas.json_types import Json
from workers.clouddriver.model import Capacity
from workers.clouddriver.provider import OperationFailed


def text(context: Json, *keys: str, required: bool = True) -> str | None:
    """The first non-empty string among ``keys``; :class:`OperationFailed` naming them when required."""
    for key in keys:
        value = context.get(key)
        if isinstance(value, str) and value:
            return value
    if required:
        raise OperationFailed(f"the stage context needs {' or '.join(repr(key) for key in keys)}")
    return None


def account_name(context: Json) -> str:
    """``credentials`` or ``account``."""
    name = text(context, "credentials", "account")
    assert name is not None
    return name


def server_group_name(context: Json) -> str:
    """``serverGroupName`` or ``asgName``."""
    name = text(context, "serverGroupName", "asgName")
    assert name is not None
    return name


def regions(context: Json, default: str | None = None) -> list[str]:
    """``region``, ``regions``, or the keys of ``availabilityZones``; ``default`` when none is given."""
    found: list[str] = []
    if isinstance(context.get("region"), str) and context["region"]:
        found.append(context["region"])
    for key in ("regions", "availabilityZones"):
        value = context.get(key)
        if isinstance(value, list | dict):
            found.extend(region for region in value if isinstance(region, str) and region not in found)
    if found:
        return found
    if default is not None:
        return [default]
    raise OperationFailed("the stage context needs 'region', 'regions' or 'availabilityZones'")


def zones(context: Json, region: str) -> tuple[str, ...]:
    """The zones ``availabilityZones`` lists for ``region`` (none when not given)."""
    value = context.get("availabilityZones")
    if isinstance(value, dict) and isinstance(value.get(region), list):
        return tuple(str(zone) for zone in value[region])
    return ()


def capacity(context: Json, key: str = "capacity", *, default: Capacity | None = None) -> Capacity:
    """``capacity`` ``{min, max, desired}`` (numbers or numeric strings; missing parts from ``default``)."""
    value = context.get(key)
    if value is None:
        if default is None:
            raise OperationFailed(f"the stage context needs {key!r} {{min, max, desired}}")
        return default
    if not isinstance(value, dict):
        raise OperationFailed(f"{key!r} must be an object {{min, max, desired}}, got {value!r}")
    base = (default or Capacity()).model_dump()
    merged = {**base, **{part: value[part] for part in ("min", "max", "desired") if value.get(part) is not None}}
    try:
        return Capacity.model_validate(merged).checked()
    except (ValidationError, ValueError) as error:
        raise OperationFailed(f"{key!r} is not a valid capacity: {error}") from None


def names_list(context: Json, key: str) -> tuple[str, ...]:
    """A list of names (``loadBalancers``, ``targetGroups``…), empty when absent."""
    value = context.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OperationFailed(f"{key!r} must be a list of names, got {value!r}")
    return tuple(value)


def integer(context: Json, key: str, default: int) -> int:
    """A whole number at ``key`` (a numeric string too), ``default`` when absent."""
    value = context.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OperationFailed(f"{key!r} must be a whole number, got {value!r}") from None


def flag(context: Json, key: str, default: bool) -> bool:
    """A boolean at ``key`` (``"true"`` / ``"false"`` too), ``default`` when absent."""
    value = context.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def percentage(context: Json, *keys: str) -> int | None:
    """The first percentage (0 to 100) among ``keys`` (``targetPercentage``, ``desiredPercentage``, ``scalePct``)."""
    for key in keys:
        if context.get(key) is not None:
            value = integer(context, key, 100)
            if not 0 <= value <= 100:
                raise OperationFailed(f"{key!r} must be between 0 and 100, got {value}")
            return value
    return None
