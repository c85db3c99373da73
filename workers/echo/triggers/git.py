"""Git push webhooks (``/webhooks/git/{github|gitlab|bitbucket}``) as Echo's ``GitEventHandler`` reads them.

Each provider's push payload is reduced to one :class:`GitPush` (project, slug, branch, hash); a
``git`` trigger ``{source, project, slug, branch, secret}`` matches when the source is the same,
project and slug are equal ignoring case, and ``branch`` (a regex, whole-branch match; empty
matches any; one :mod:`schemas.safe_regex` refuses matches nothing) matches. A trigger with a
``secret`` also needs proof the sender knows it:

* GitHub: ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>`` (or the older
  ``X-Hub-Signature: sha1=…``), compared in constant time;
* GitLab: ``X-Gitlab-Token`` equal to the secret;
* Bitbucket Cloud: ``X-Hub-Signature`` (``sha256=…``) as GitHub's, which Bitbucket sends when the
  webhook has a secret.

A push that fails the check starts nothing for that trigger, and the refusal says why.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from schemas import safe_regex
from schemas.json_types import Json


@dataclass(frozen=True)
class GitPush:
    """What a push is about, whichever provider sent it."""

    source: str
    project: str
    slug: str
    branch: str
    hash: str
    action: str = "push"


def _branch(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _dig(payload: Json, *path: str) -> Any:
    value: Any = payload
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_push(source: str, payload: Json, headers: dict[str, str]) -> GitPush | None:
    """The push in ``payload``; None for events that are not pushes (GitHub's ``ping`` …) or unknown sources."""
    if source == "github":
        if headers.get("x-github-event", "push") != "push":
            return None
        owner = _dig(payload, "repository", "owner") or {}
        project = owner.get("name") or owner.get("login") if isinstance(owner, dict) else None
        return GitPush(
            source,
            str(project or ""),
            str(_dig(payload, "repository", "name") or ""),
            _branch(str(payload.get("ref") or "")),
            str(payload.get("after") or ""),
        )
    if source == "gitlab":
        if headers.get("x-gitlab-event", "Push Hook") not in ("Push Hook", "Tag Push Hook"):
            return None
        return GitPush(
            source,
            str(_dig(payload, "project", "namespace") or ""),
            str(_dig(payload, "project", "name") or ""),
            _branch(str(payload.get("ref") or "")),
            str(payload.get("after") or payload.get("checkout_sha") or ""),
        )
    if source == "bitbucket":
        if headers.get("x-event-key", "repo:push") != "repo:push":
            return None
        project, _, slug = str(_dig(payload, "repository", "full_name") or "").partition("/")
        changes = _dig(payload, "push", "changes") or []
        new: Json = next((c["new"] for c in changes if isinstance(c, dict) and isinstance(c.get("new"), dict)), {})
        return GitPush(source, project, slug, str(new.get("name") or ""), str(_dig(new, "target", "hash") or ""))
    return None


def _hmac_matches(header: str | None, secret: str, body: bytes) -> bool:
    if not header or "=" not in header:
        return False
    algorithm, _, signature = header.partition("=")
    digest = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}.get(algorithm)
    if digest is None:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def secret_refusal(source: str, secret: str, body: bytes, headers: dict[str, str]) -> str | None:
    """Why a push does not prove it knows ``secret``; None when it does."""
    if source == "gitlab":
        token = headers.get("x-gitlab-token")
        return None if token and hmac.compare_digest(token, secret) else "X-Gitlab-Token does not match the secret"
    signature = headers.get("x-hub-signature-256") or headers.get("x-hub-signature")
    if _hmac_matches(signature, secret, body):
        return None
    return "missing X-Hub-Signature-256" if not signature else "X-Hub-Signature-256 does not match the secret"


def push_matches(trigger: Json, push: GitPush) -> bool:
    """True when ``trigger`` asks for ``push`` (source, project, slug, branch regex)."""
    if str(trigger.get("source") or "").lower() != push.source:
        return False
    if str(trigger.get("project") or "").lower() != push.project.lower():
        return False
    if str(trigger.get("slug") or "").lower() != push.slug.lower():
        return False
    branch = str(trigger.get("branch") or "")
    if not branch:
        return True
    try:
        return safe_regex.fullmatch(branch, push.branch)
    except safe_regex.UnsafePattern:
        return False
