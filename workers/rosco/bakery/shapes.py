"""A stored bake in Rosco's JSON shapes: ``BakeStatus``, ``Bake``, and what Orca's bake stage keeps.

``BakeStatus``: ``id``, ``resource_id`` (the bake), ``state``, ``result``, ``createdTimestamp`` /
``updatedTimestamp``. ``Bake``: ``id``, ``ami``, ``image_name``, ``base_ami``, ``base_os``,
``artifact`` (``<provider>/image``, its reference the ami or image name, its location the
region). The stage keeps Orca's ``CompletedBakeTask`` keys: ``ami``, ``imageId``, ``imageName``,
``artifacts``, ``baseAmiId``.
"""

from __future__ import annotations

from schemas.json_types import Json
from workers.rosco.bakery.store import Document


def bake_status(bake: Document) -> Json:
    """Rosco's ``BakeStatus``."""
    status: Json = {
        "id": bake["_id"],
        "resource_id": bake["_id"],
        "state": bake.get("state"),
        "result": bake.get("result"),
        "createdTimestamp": bake.get("created"),
        "updatedTimestamp": bake.get("updated"),
    }
    if bake.get("state") == "PENDING" and bake.get("queued") is not None:
        status["queuePosition"] = bake["queued"]
    return status


def bake_details(bake: Document, region: str) -> Json:
    """Rosco's ``Bake`` (only a successful bake has one)."""
    made = bake.get("made") or {}
    provider = str((bake.get("recipe") or {}).get("cloud_provider") or "")
    request = bake.get("request") or {}
    image_name = made.get("image_name") or (bake.get("recipe") or {}).get("name")
    ami = made.get("ami")
    details: Json = {"id": bake["_id"], "image_name": image_name, "base_os": request.get("base_os")}
    if ami:
        details["ami"] = ami
    if request.get("base_ami"):
        details["base_ami"] = request["base_ami"]
    details["artifact"] = {
        "type": f"{provider}/image",
        "name": (bake.get("recipe") or {}).get("name"),
        "reference": ami or image_name,
        "location": region,
        "uuid": bake["_id"],
        "metadata": {
            "build_info_url": request.get("build_info_url"),
            "build_number": request.get("build_number"),
            **({"path": made["location"]} if made.get("location") else {}),
        },
    }
    return details


def stage_context(bake: Document) -> Json:
    """What Orca's ``CompletedBakeTask`` puts in the ``Bake in <region>`` stage."""
    details = bake_details(bake, str(bake.get("region")))
    image = details.get("ami") or details.get("image_name")
    found: Json = {"ami": image, "imageId": image, "artifacts": [details["artifact"]]}
    if details.get("image_name"):
        found["imageName"] = details["image_name"]
    if details.get("base_ami"):
        found["baseAmiId"] = details["base_ami"]
    return found
