"""What each forge's push webhook says, in each forge's documented payload, and its signature check.

* GitHub (``X-GitHub-Event: push``): ``ref``, ``before``, ``after``, ``repository.full_name``,
  ``pusher.name``; signed with ``X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)``.
* GitLab (``object_kind: push``): ``ref``, ``before``, ``after``, ``project.path_with_namespace``,
  ``user_username``; ``X-Gitlab-Token`` is the secret itself.
* Bitbucket Server (``repo:refs_changed``, on ``/bitbucket``): ``changes[].ref.id``,
  ``fromHash``, ``toHash``, ``repository.project.key``/``slug``, ``actor.name``; Bitbucket Cloud
  (``repo:push``, on ``/bitbucket`` or ``/bitbucket-cloud``): ``push.changes[].new.name``,
  ``old.target.hash``, ``new.target.hash``, ``repository.full_name``, ``actor``; both signed with
  ``X-Hub-Signature: sha256=...``.
* Stash (``/stash``): ``refChanges[].refId``, ``fromHash``, ``toHash``, ``repository.project.key``/``slug``.

A push that is not to a branch (a tag, a ping) is ``None``: nothing to do. Where the payload says
where the repository lives on the web (GitHub's ``head_commit.url`` or ``repository.html_url``,
GitLab's ``project.web_url``, Bitbucket Cloud's ``repository.links.html.href``; an http(s) URL
only), the push carries its commit's page, which the history links to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from typing import Any

ZERO = "0" * 40


class PushRefused(Exception):
    """A webhook Dinghy will not act on: unsigned or badly signed, or not the forge's payload."""


@dataclass(frozen=True)
class Push:
    repository: str
    branch: str
    before: str | None  # None: a new branch
    after: str
    pusher: str
    deleted: bool = False
    commit_url: str | None = None  # the pushed commit's page on the forge, where its payload says where


def _branch(ref: str) -> str | None:
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


def _commit(value: Any) -> str | None:
    text = str(value or "")
    return None if not text or set(text) == {"0"} else text


def verify(forge: str, body: str, headers: dict[str, str], secret: str | None) -> None:
    """Raise :class:`PushRefused` unless the webhook is signed with ``secret`` (no secret: accept)."""
    if secret is None:
        return
    if forge == "gitlab":
        if not hmac.compare_digest(headers.get("x-gitlab-token", "").encode(), secret.encode()):
            raise PushRefused("X-Gitlab-Token does not match the repository's secret")
        return
    header = "x-hub-signature-256" if forge == "github" else "x-hub-signature"
    given = headers.get(header) or headers.get("x-hub-signature-256", "")
    expected = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not given:
        raise PushRefused(f"the webhook is not signed ({header} missing) but the repository has a secret")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise PushRefused(f"{header} does not verify with the repository's secret")


def repository_of(forge: str, payload: dict[str, Any]) -> str | None:
    """The ``org/repo`` a payload is about, before its signature is checked (to find the secret)."""
    if forge == "github":
        return _text(_get(payload, "repository", "full_name"))
    if forge == "gitlab":
        return _text(_get(payload, "project", "path_with_namespace"))
    if forge in ("bitbucket", "bitbucket-cloud") and _get(payload, "repository", "full_name"):
        return _text(_get(payload, "repository", "full_name"))
    key, slug = _get(payload, "repository", "project", "key"), _get(payload, "repository", "slug")
    return f"{key}/{slug}" if key and slug else None


def read_push(forge: str, body: str, headers: dict[str, str]) -> Push | None:
    """The branch push the webhook reports, or ``None`` when it reports none."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise PushRefused("the webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise PushRefused("the webhook body is not a JSON object")
    repository = repository_of(forge, payload)
    if not repository:
        raise PushRefused(f"not a {forge} push payload: it names no repository")
    if forge == "github":
        if headers.get("x-github-event", "push") != "push":
            return None
        push = _push(
            repository, payload.get("ref"), payload.get("before"), payload.get("after"), _get(payload, "pusher", "name")
        )
        head = payload.get("head_commit")
        if isinstance(head, dict) and push is not None and head.get("id") == push.after:
            return _with_url(push, head.get("url"), "")
        return _with_url(push, _get(payload, "repository", "html_url"), "/commit/")
    if forge == "gitlab":
        if payload.get("object_kind") not in ("push", None):
            return None
        user = payload.get("user_username") or payload.get("user_name")
        push = _push(repository, payload.get("ref"), payload.get("before"), payload.get("after"), user)
        return _with_url(push, _get(payload, "project", "web_url"), "/-/commit/")
    if forge in ("bitbucket", "bitbucket-cloud") and isinstance(payload.get("push"), dict):
        for change in payload["push"].get("changes") or []:
            new = change.get("new") or {}
            if new.get("type") not in ("branch", None):
                continue
            old = change.get("old") or {}
            actor = _get(payload, "actor", "nickname") or _get(payload, "actor", "display_name")
            push = _push(
                repository,
                "refs/heads/" + str(new.get("name")),
                _get(old, "target", "hash"),
                _get(new, "target", "hash"),
                actor,
            )
            return _with_url(push, _get(payload, "repository", "links", "html", "href"), "/commits/")
        return None
    changes = payload.get("changes") if forge == "bitbucket" else payload.get("refChanges")
    for change in changes or []:
        ref = _get(change, "ref", "id") if forge == "bitbucket" else change.get("refId")
        actor = _get(payload, "actor", "name") or _get(payload, "actor", "slug")
        push = _push(repository, ref, change.get("fromHash"), change.get("toHash"), actor)
        if push is not None:
            return push
    return None


def _push(repository: str, ref: Any, before: Any, after: Any, pusher: Any) -> Push | None:
    branch = _branch(str(ref or ""))
    if branch is None:
        return None
    after_commit = _commit(after)
    if after_commit is None:
        return Push(repository, branch, _commit(before), "", str(pusher or "unknown"), deleted=True)
    return Push(repository, branch, _commit(before), after_commit, str(pusher or "unknown"))


MAX_URL = 2048


def _with_url(push: Push | None, base: Any, path: str) -> Push | None:
    """``push`` with its commit's page: ``base`` (an http(s) URL from the payload) + ``path`` + the commit."""
    if push is None or push.deleted or not isinstance(base, str) or not base.startswith(("https://", "http://")):
        return push
    url = base.rstrip("/") + path + push.after if path else base
    return replace(push, commit_url=url) if len(url) <= MAX_URL else push


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
