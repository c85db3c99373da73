"""Spinnaker's naming convention (Netflix Frigga): ``app-stack-detail-v001``.

Every provider names its server groups this way, so clusters, strategies and the cache all agree
on what belongs together. A cluster is the name without the ``-vNNN`` push sequence; a server
group name with no stack but a detail keeps the empty stack (``app--detail-v002``).

Example::

    >>> parse("hello-prod-canary-v003")
    Names(app='hello', stack='prod', detail='canary', cluster='hello-prod-canary', sequence=3)
    >>> server_group_name("hello", "prod", None, next_sequence(["hello-prod-v999"]))
    'hello-prod-v000'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PUSH = re.compile(r"^(?P<cluster>.+?)(?:-v(?P<sequence>\d{3,}))?$")
_NAME_PART = re.compile(r"^[A-Za-z0-9._~^]*$")
MAX_SEQUENCE = 1000


@dataclass(frozen=True)
class Names:
    """The parts of a Frigga name; ``sequence`` is ``None`` for a cluster name."""

    app: str
    stack: str | None
    detail: str | None
    cluster: str
    sequence: int | None

    def moniker(self) -> dict[str, object]:
        """Spinnaker's ``moniker`` JSON for the name."""
        moniker: dict[str, object] = {"app": self.app, "cluster": self.cluster}
        if self.stack:
            moniker["stack"] = self.stack
        if self.detail:
            moniker["detail"] = self.detail
        if self.sequence is not None:
            moniker["sequence"] = self.sequence
        return moniker


def parse(name: str) -> Names:
    """The parts of a server group or cluster name (Frigga's ``Names.parseName``)."""
    match = _PUSH.match(name)
    if match is None:  # only the empty string; the pattern matches anything else
        raise ValueError("a Frigga name must not be empty")
    cluster = match["cluster"]
    sequence = int(match["sequence"]) if match["sequence"] is not None else None
    app, _, rest = cluster.partition("-")
    stack, _, detail = rest.partition("-")
    return Names(app=app, stack=stack or None, detail=detail or None, cluster=cluster, sequence=sequence)


def cluster_name(app: str, stack: str | None = None, detail: str | None = None) -> str:
    """``app``, ``app-stack``, ``app-stack-detail`` or ``app--detail`` (Frigga's ``AutoScalingGroupNameBuilder``)."""
    for part, label in ((app, "application"), (stack or "", "stack"), (detail or "", "freeFormDetails")):
        if not _NAME_PART.match(part):
            raise ValueError(f"{label} {part!r} may hold only letters, digits, '.', '_', '~' and '^'")
    if "-" in app or not app:
        raise ValueError(f"application {app!r} must be non-empty and hold no '-'")
    if stack and detail:
        return f"{app}-{stack}-{detail}"
    if stack:
        return f"{app}-{stack}"
    if detail:
        return f"{app}--{detail}"
    return app


def server_group_name(app: str, stack: str | None, detail: str | None, sequence: int) -> str:
    """The server group called ``sequence`` in the cluster: ``app-stack-detail-v001``."""
    return f"{cluster_name(app, stack, detail)}-v{sequence % MAX_SEQUENCE:03d}"


def next_sequence(existing: Iterable[str]) -> int:
    """The sequence after the newest of ``existing`` server group names in one cluster (wraps at 999).

    Like Clouddriver, "newest" is the highest number, so v999 is followed by v000.
    """
    sequences = [names.sequence for names in map(parse, existing) if names.sequence is not None]
    return (max(sequences) + 1) % MAX_SEQUENCE if sequences else 0
