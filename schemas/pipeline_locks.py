"""Spinnaker's pipeline lock: ``locked: {ui, allowUnlockUi, description}`` on a pipeline config.

In Spinnaker only Deck honours the lock (it shows the pipeline read-only); here Front50 enforces it
where the write happens, so the API refuses what the UI refuses. A pipeline is locked when its
``locked.ui`` is true. While it is locked, Front50 refuses to save, rename or delete it (409,
naming ``locked.description``) unless

* the command's authority is a *lock owner*: a service account (``Authority.service_account``)
  whose name is listed in the ``pipeline_lock_owners`` setting — the service that keeps the
  pipeline as code (Dinghy, :data:`DEFAULT_LOCK_OWNERS`) —, or
* the save explicitly unlocks (``locked`` absent or ``locked.ui`` false) and the stored lock
  allows it (``allowUnlockUi`` true), as Deck's "Unlock" button does.

Anyone with WRITE may lock a pipeline; only a lock owner may lock it with ``allowUnlockUi`` false,
since nobody else could ever unlock it. Reordering only moves a locked pipeline and is allowed.

A service that manages pipelines as code saves them with :func:`managed_lock` and acts as
:func:`lock_owner`::

    pipeline["locked"] = managed_lock("Managed by Dinghy: acme/shop/dinghyfile")
    SavePipeline(pipeline=pipeline, authority=lock_owner("dinghy"))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.authority import Authority

DEFAULT_LOCK_OWNERS = ("dinghy",)
"""The ``pipeline_lock_owners`` setting's default: Dinghy's service account."""
MAX_DESCRIPTION = 1024
"""Longest ``locked.description`` a save may carry, in characters."""


@dataclass(frozen=True)
class PipelineLock:
    """A pipeline's lock as stored (Deck's ``IPipelineLock``)."""

    ui: bool
    allow_unlock_ui: bool
    description: str | None

    def what(self) -> str:
        """How a refusal names what locked the pipeline."""
        return self.description or "locked in the UI (no description)"


def lock_of(pipeline: dict[str, Any] | None) -> PipelineLock | None:
    """The lock ``pipeline`` is under, or ``None`` when it is not locked (``locked.ui`` not true)."""
    locked = (pipeline or {}).get("locked")
    if not isinstance(locked, dict) or locked.get("ui") is not True:
        return None
    description = locked.get("description")
    return PipelineLock(
        ui=True,
        allow_unlock_ui=locked.get("allowUnlockUi") is True,
        description=description.strip() or None if isinstance(description, str) else None,
    )


def lock_problem(pipeline: dict[str, Any]) -> tuple[str, str] | None:
    """The (field, message) of the first thing wrong with ``pipeline``'s ``locked``, or ``None``."""
    locked = pipeline.get("locked")
    if locked is None:
        return None
    if not isinstance(locked, dict):
        return "locked", "must be an object {ui, allowUnlockUi, description}"
    for flag in ("ui", "allowUnlockUi"):
        if locked.get(flag) is not None and not isinstance(locked.get(flag), bool):
            return f"locked.{flag}", "must be true or false"
    description = locked.get("description")
    if description is not None and not isinstance(description, str):
        return "locked.description", "must be a string"
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION:
        return "locked.description", f"is {len(description)} characters; the limit is {MAX_DESCRIPTION}"
    unknown = sorted(set(locked) - {"ui", "allowUnlockUi", "description"})
    if unknown:
        return f"locked.{unknown[0]}", "is not a field of a lock (ui, allowUnlockUi, description)"
    return None


def managed_lock(description: str, *, allow_unlock_ui: bool = False) -> dict[str, Any]:
    """The ``locked`` value a pipelines-as-code service saves: locked in the UI, naming its source."""
    return {"ui": True, "allowUnlockUi": allow_unlock_ui, "description": description[:MAX_DESCRIPTION]}


def lock_owner(name: str = DEFAULT_LOCK_OWNERS[0], roles: tuple[str, ...] = ()) -> Authority:
    """The authority of lock owner ``name``: a service account, as ``pipeline_lock_owners`` requires.

    It still needs WRITE on the application like anyone else: give it the ``roles`` that hold it.
    """
    return Authority(user=name, roles=roles, service_account=True)


def is_lock_owner(authority: Authority, owners: tuple[str, ...] | list[str]) -> bool:
    """Whether ``authority`` passes locks: a service account listed in ``owners`` (case-insensitive)."""
    named = authority.user.strip().lower()
    return authority.service_account and any(named == owner.strip().lower() for owner in owners)
