"""Images Rosco baked for the ``local`` provider: directories an account's ``imageDirs`` hold.

Rosco's ``local`` template makes ``<imagesDir>/<region>/<imageName>/`` with the packages' files in
``app/`` and ``image.json`` (``name``, ``command``, ``appVersion``, ``createdTime``…). An account
whose ``local`` settings list that ``imagesDir`` in ``imageDirs`` sees its ``local`` region's
images in ``findImage`` and ``/images/find``, may run what is inside them (they count as artifact
directories for :mod:`~workers.clouddriver.local.fence`), and deploys one by name: a cluster config
with ``amiName`` / ``imageId`` and no ``command`` runs the image's command in its ``app/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from schemas.json_types import Json
from workers.clouddriver.local.store import REGION
from workers.clouddriver.model import Image
from workers.clouddriver.provider import Account, OperationFailed

MANIFEST = "image.json"


def image_dirs(account: Account) -> list[Path]:
    """The account's ``local.imageDirs``, resolved."""
    settings = account.settings.get("local")
    listed = settings.get("imageDirs") if isinstance(settings, Mapping) else None
    return [Path(str(path)).expanduser().resolve() for path in listed or ()]


def _manifests(account: Account) -> list[tuple[Path, Json]]:
    found: list[tuple[Path, Json]] = []
    for root in image_dirs(account):
        for manifest in sorted((root / REGION).glob(f"*/{MANIFEST}")):
            try:
                loaded = json.loads(manifest.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(loaded, dict) and loaded.get("name") == manifest.parent.name:
                found.append((manifest.parent, loaded))
    return found


def _tags(manifest: Json) -> dict[str, str]:
    tags = {"appversion": manifest.get("appVersion"), "build_info_url": manifest.get("buildInfoUrl")}
    return {key: str(value) for key, value in tags.items() if value}


def baked(account: Account) -> list[Image]:
    """The images in the account's image directories."""
    return [
        Image(
            image_id=str(manifest["name"]),
            name=str(manifest["name"]),
            region=REGION,
            account=account.name,
            tags=_tags(manifest),
            created_time=int(float(manifest.get("createdTime") or 0) * 1000),
            extra={"command": manifest.get("command"), "path": str(directory)},
        )
        for directory, manifest in _manifests(account)
    ]


def with_image(account: Account, config: Json, image: str | None) -> Json:
    """``config`` to run: as it is when it has a ``command``, else the baked ``image``'s command in its ``app/``."""
    if config.get("command") is not None or not image:
        return config
    for directory, manifest in _manifests(account):
        if manifest["name"] == image:
            return {
                **config,
                "command": manifest.get("command"),
                "workingDir": str(directory / "app"),
                "imageName": image,
                "tags": {**_tags(manifest), **(config.get("tags") or {})},
            }
    where = [str(path / REGION) for path in image_dirs(account)] or "no imageDirs in its local settings"
    raise OperationFailed(f"account {account.name!r} has no local image {image!r} (looked in {where})")
