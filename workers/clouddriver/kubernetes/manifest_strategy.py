"""How one manifest is deployed, from its ``strategy.spinnaker.io/*`` annotations, as Spinnaker reads them.

* ``versioned`` (``"true"``/``"false"``): deployed as ``name-vNNN`` or not (the kind's default otherwise:
  :func:`workers.clouddriver.kubernetes.manifests.is_versioned`).
* ``recreate: "true"``: the live object is deleted (and gone) before the manifest is applied, so it is
  created anew; ``replace: "true"``: the manifest replaces the live object whole (created if missing),
  dropping what others added, where apply keeps it. ``recreate`` wins when both are set.
* ``max-version-history: "N"``: once the new version is stable, the oldest versions of the same
  artifact beyond N (the new one counted) are deleted. A value that is not a whole number is ignored,
  as Spinnaker ignores it; one below 1 is refused (it would delete the version just deployed), and so
  is one below 2 with a red/black strategy (it would delete the version red/black keeps to roll back to).
* ``use-source-capacity: "true"``: a scalable kind (Deployment, ReplicaSet, StatefulSet) keeps the
  replicas of the version deployed now (the latest version, or the unversioned object itself)
  instead of the manifest's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.json_types import Json
from workers.clouddriver.kubernetes.manifests import STRATEGY, notes_of
from workers.clouddriver.provider import OperationFailed

MAX_VERSION_HISTORY = f"{STRATEGY}max-version-history"
SCALABLE = frozenset({"Deployment", "ReplicaSet", "StatefulSet"})
"""Kinds whose ``spec.replicas`` ``use-source-capacity`` carries over (Spinnaker's ``CanScale`` handlers)."""


@dataclass(frozen=True)
class ManifestStrategy:
    """What the annotations ask of one manifest's deploy."""

    deploy: Literal["apply", "recreate", "replace"] = "apply"
    max_version_history: int | None = None
    use_source_capacity: bool = False


def _true(notes: dict[str, str], name: str) -> bool:
    return str(notes.get(f"{STRATEGY}{name}", "")).strip().lower() == "true"


def strategy_of(manifest: Json, *, rollout: str = "none") -> ManifestStrategy:
    """The manifest's strategy; :class:`OperationFailed` for a history that would delete what the
    deploy (or its ``rollout`` strategy) needs."""
    notes = notes_of(manifest)
    deploy: Literal["apply", "recreate", "replace"] = (
        "recreate" if _true(notes, "recreate") else "replace" if _true(notes, "replace") else "apply"
    )
    history: int | None = None
    text = str(notes.get(MAX_VERSION_HISTORY, "")).strip()
    if text.lstrip("-").isdigit():
        history = int(text)
        if history < 1:
            raise OperationFailed(
                f"{MAX_VERSION_HISTORY} is {history}; it must be at least 1 (the version just deployed)"
            )
        if history < 2 and rollout in ("redblack", "bluegreen"):
            raise OperationFailed(
                f"{MAX_VERSION_HISTORY} is {history}, but the {rollout} strategy keeps the previous "
                "version to roll back to; set it to 2 or more"
            )
    return ManifestStrategy(
        deploy=deploy, max_version_history=history, use_source_capacity=_true(notes, "use-source-capacity")
    )
