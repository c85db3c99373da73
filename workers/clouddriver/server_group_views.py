"""The two ways Clouddriver lists an application's server groups: summaries and expanded.

``GET /applications/{app}/serverGroups`` answers summaries unless asked ``expand=true``: each
server group reduced to what a listing shows (where it runs, its capacity, health and instances
each as id, name, health and zone), leaving out what only its own page needs (launch
configuration, image, zones, provider extras such as a manifest's kind). Expanded, each is the
whole server group JSON plus its cluster's coordinates (``accountName``, ``stack``,
``freeFormDetail``). Both are computed once per cached resource (:class:`Entry
<workers.clouddriver.cache_view.Entry>`), never per read.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from schemas.json_types import Json

SUMMARY_KEYS = (
    "name",
    "account",
    "region",
    "cluster",
    "vpcId",
    "type",
    "cloudProvider",
    "instanceType",
    "application",
    "isDisabled",
    "moniker",
    "buildInfo",
    "createdTime",
    "capacity",
    "loadBalancers",
    "targetGroups",
    "securityGroups",
    "instanceCounts",
    "providerMetadata",
    "serverGroupManagers",
)
"""The fields a summary keeps, when the server group has them (``tags``/``labels`` only when not empty)."""


def summary(group: Json) -> Json:
    """The summary of a server group's JSON (see the module)."""
    found: Json = {key: group[key] for key in SUMMARY_KEYS if group.get(key) is not None}
    for key in ("tags", "labels"):
        if group.get(key):
            found[key] = group[key]
    instances = group.get("instances") or ()
    found["instances"] = [_instance(instance) for instance in instances if isinstance(instance, dict)]
    return found


def _instance(instance: dict[str, Any]) -> Json:
    health = [
        {key: check[key] for key in ("type", "state", "status") if check.get(key) is not None}
        for check in instance.get("health") or ()
        if isinstance(check, dict)
    ]
    shown: Json = {
        "id": instance.get("id") or instance.get("instanceId") or instance.get("name"),
        "name": instance.get("name") or instance.get("id"),
        "health": health,
        "healthState": instance.get("healthState"),
        "launchTime": instance.get("launchTime"),
        "availabilityZone": instance.get("availabilityZone") or instance.get("zone"),
    }
    return {key: value for key, value in shown.items() if value is not None}


def expansion(group: Json) -> bytes:
    """What ``expand=true`` adds to a server group's JSON, as JSON members to splice before its closing
    brace (``b',"accountName":"prod",...'``); only keys the JSON lacks, so no key appears twice."""
    moniker = group.get("moniker")
    if not isinstance(moniker, dict):
        moniker = {}
    added = {
        "accountName": group.get("account"),
        "stack": moniker.get("stack"),
        "freeFormDetail": moniker.get("detail"),
    }
    members = {key: value for key, value in added.items() if key not in group and value is not None}
    if not members:
        return b""
    return b"," + pydantic_core.to_json(members)[1:-1]


def expanded(json: bytes, addition: bytes) -> bytes:
    """A server group's JSON (an object) with :func:`expansion`'s members spliced in."""
    return json[:-1] + addition + b"}" if addition else json
