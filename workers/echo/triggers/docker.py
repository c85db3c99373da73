"""Docker pushes (``/webhooks/docker/{source}``) against ``docker`` triggers, as Echo's ``DockerEventHandler``.

A trigger ``{type: docker, account, registry, repository, tag}`` matches a push
(:class:`schemas.trigger_artifacts.DockerPush`) when its ``repository`` is the push's, its
``account`` is the push's (a registry's own notification names no account: then its ``registry``
must be the push's host), and its ``tag`` — a regex on the whole tag, trimmed — matches the pushed
tag; a trigger without ``tag`` fires on every tag but ``latest``. A push that names only a digest
fires no docker trigger (Echo's rule: the event must report a tag). A trigger tag that is not a
valid regex, or one that could backtrack without end (:mod:`schemas.safe_regex`), matches nothing.

The execution's trigger gets ``tag``, ``digest`` and the push's ``docker/image`` artifact in
``artifacts``, which the pipeline's ``expectedArtifacts`` bind to and ``deployManifest`` puts in
the manifests' images.
"""

from __future__ import annotations

from schemas import safe_regex
from schemas.json_types import Json
from schemas.trigger_artifacts import DockerPush


def _tag_matches(pattern: str, tag: str) -> bool:
    try:
        return safe_regex.fullmatch(pattern, tag)
    except safe_regex.UnsafePattern:
        return False


def push_matches(trigger: Json, push: DockerPush) -> bool:
    """True when the docker ``trigger`` asks for ``push`` (see the module)."""
    if push.tag is None or not trigger.get("account") or not trigger.get("repository"):
        return False
    if str(trigger["repository"]) != push.repository:
        return False
    if push.account is not None:
        if str(trigger["account"]) != push.account:
            return False
    elif str(trigger.get("registry") or "") != push.registry:
        return False
    pattern = str(trigger.get("tag") or "").strip()
    return _tag_matches(pattern, push.tag) if pattern else push.tag != "latest"


def push_details(push: DockerPush) -> Json:
    """What the execution's trigger gets from ``push`` (Echo's ``atTag`` and the artifact)."""
    details: Json = {"tag": push.tag, "artifacts": [push.artifact()]}
    if push.digest:
        details["digest"] = push.digest
    return details
