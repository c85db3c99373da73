"""A cluster config as Spinnaker's deploy stages write it, read the way strategies need it.

Spinnaker spells the account ``account`` or ``credentials`` and the region ``region``, ``regions``
or the keys of ``availabilityZones``; the cluster's name is Frigga's ``app-stack-detail`` (``app--detail``
without a stack). After the create, Clouddriver's outputs name the new server group
(``serverGroupName``, ``deploy.server.groups``) and the one it replaces (``source``).
"""

from __future__ import annotations

from typing import Any

from schemas.json_types import Json
from workers.orca.engine.model import Stage


def account(config: Json) -> str | None:
    """``credentials`` or ``account``."""
    value = config.get("credentials") or config.get("account")
    return str(value) if value else None


def regions(config: Json) -> list[str]:
    """``region``, ``regions`` or the keys of ``availabilityZones`` (may be empty: the account's default)."""
    found: list[str] = []
    if isinstance(config.get("region"), str) and config["region"]:
        found.append(config["region"])
    for key in ("regions", "availabilityZones"):
        value: Any = config.get(key)
        if isinstance(value, list | dict):
            found.extend(str(region) for region in value if str(region) not in found)
    return found


def cluster_name(config: Json, application: str) -> str:
    """Frigga's cluster name: ``app``, ``app-stack``, ``app-stack-detail`` or ``app--detail``."""
    app = str(config.get("application") or application)
    stack = str(config.get("stack") or "")
    detail = str(config.get("freeFormDetails") or "")
    if detail:
        return f"{app}-{stack}-{detail}"
    return f"{app}-{stack}" if stack else app


def location(stage: Stage, application: str) -> Json:
    """The keys every cluster or server group operation of this deploy carries."""
    config = stage.context
    found: Json = {"cluster": cluster_name(config, application), "cloudProvider": config.get("cloudProvider")}
    if account(config):
        found["credentials"] = account(config)
    region = str(stage.outputs.get("region") or stage.context.get("region") or "") or next(iter(regions(config)), "")
    if region:
        found["region"] = region
        found["regions"] = [region]
    return {key: value for key, value in found.items() if value is not None}


def new_server_group(stage: Stage) -> str | None:
    """The server group this create made (from Clouddriver's outputs or progress), if known yet."""
    for source in (stage.outputs, stage.context):
        name = source.get("serverGroupName")
        if isinstance(name, str) and name:
            return name
    return None


def replaced_server_group(stage: Stage) -> str | None:
    """The enabled server group the create found in the cluster (``source``), if any."""
    for holder in (stage.outputs, stage.context):
        source = holder.get("source")
        if isinstance(source, dict):
            name = source.get("serverGroupName") or source.get("asgName")
            if isinstance(name, str) and name:
                return name
    return None
