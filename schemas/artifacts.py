"""How an expected artifact matches an artifact, as Spinnaker's ``ExpectedArtifact.matches`` does.

Orca binds a pipeline's ``expectedArtifacts`` with it, and Echo asks it whether a trigger that
names ``expectedArtifactIds`` got at least one artifact it expects (Echo's ``ArtifactMatcher``):
both must agree on what a match is, so the rule lives here.
"""

from __future__ import annotations

from schemas import safe_regex
from schemas.json_types import Json

MATCHED_FIELDS = ("type", "name", "version", "location", "reference")


def matches(expected: Json, artifact: Json) -> bool:
    """Whether ``artifact`` is one ``expected`` (an expected artifact) accepts: each of its
    ``matchArtifact``'s ``type``, ``name``, ``version``, ``location`` and ``reference`` that is set
    matches the artifact's whole value as a regular expression (one :mod:`schemas.safe_regex`
    refuses matches nothing); ``artifactAccount`` and the rest are never compared."""
    match = expected.get("matchArtifact")
    if not isinstance(match, dict):
        return False
    for key in MATCHED_FIELDS:
        pattern = match.get(key)
        if not pattern:
            continue
        value = artifact.get(key)
        if not isinstance(value, str):
            return False
        try:
            if not safe_regex.fullmatch(str(pattern), value):
                return False
        except safe_regex.UnsafePattern:
            return False
    return True
