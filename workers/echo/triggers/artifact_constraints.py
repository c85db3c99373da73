"""A trigger's ``expectedArtifactIds`` as a constraint, as Echo's ``ArtifactMatcher.anyArtifactsMatchExpected``.

A webhook, git or docker trigger that names expected artifacts fires only when at least one of
the artifacts the event brought matches one of them (:func:`schemas.artifacts.matches`); one that
names none fires on any event. Orca then binds the pipeline's expected artifacts to what came.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.artifacts import matches
from schemas.json_types import Json


def artifact_refusal(config: Json, trigger: Json, artifacts: Sequence[Json]) -> str | None:
    """Why ``trigger`` (of pipeline ``config``) does not fire for ``artifacts``; None when it does."""
    named = [item for item in trigger.get("expectedArtifactIds") or [] if isinstance(item, str)]
    if not named:
        return None
    expected = [
        item for item in config.get("expectedArtifacts") or [] if isinstance(item, dict) and item.get("id") in named
    ]
    if any(matches(item, artifact) for item in expected for artifact in artifacts):
        return None
    return (
        f"expectedArtifactIds: none of the {len(artifacts)} artifact(s) the event brought matches "
        f"the trigger's expected artifacts {named}"
    )
