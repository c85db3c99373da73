"""Each forge's documented push payload read, and its signature checked."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from workers.dinghy.forges import Push, PushRefused, read_push, repository_of, verify

AFTER, BEFORE = "b" * 40, "a" * 40

PAYLOADS: list[tuple[str, dict[str, Any], dict[str, str], Push | None]] = [
    (
        "github",
        {
            "ref": "refs/heads/main",
            "before": BEFORE,
            "after": AFTER,
            "repository": {"full_name": "acme/shop"},
            "pusher": {"name": "ada"},
        },
        {"x-github-event": "push"},
        Push("acme/shop", "main", BEFORE, AFTER, "ada"),
    ),
    ("github", {"zen": "hi", "repository": {"full_name": "acme/shop"}}, {"x-github-event": "ping"}, None),
    (
        "github",
        {"ref": "refs/tags/v1", "before": BEFORE, "after": AFTER, "repository": {"full_name": "acme/shop"}},
        {"x-github-event": "push"},
        None,
    ),
    (
        "gitlab",
        {
            "object_kind": "push",
            "ref": "refs/heads/dev",
            "before": "0" * 40,
            "after": AFTER,
            "project": {"path_with_namespace": "group/shop"},
            "user_username": "bob",
        },
        {},
        Push("group/shop", "dev", None, AFTER, "bob"),
    ),
    (
        "bitbucket",
        {
            "eventKey": "repo:refs_changed",
            "actor": {"name": "cy"},
            "repository": {"slug": "shop", "project": {"key": "ACME"}},
            "changes": [{"ref": {"id": "refs/heads/main", "type": "BRANCH"}, "fromHash": BEFORE, "toHash": AFTER}],
        },
        {"x-event-key": "repo:refs_changed"},
        Push("ACME/shop", "main", BEFORE, AFTER, "cy"),
    ),
    (
        "bitbucket-cloud",
        {
            "actor": {"nickname": "dee"},
            "repository": {"full_name": "acme/shop"},
            "push": {
                "changes": [
                    {
                        "old": {"target": {"hash": BEFORE}},
                        "new": {"type": "branch", "name": "main", "target": {"hash": AFTER}},
                    }
                ]
            },
        },
        {"x-event-key": "repo:push"},
        Push("acme/shop", "main", BEFORE, AFTER, "dee"),
    ),
    (
        "stash",
        {
            "repository": {"slug": "shop", "project": {"key": "ACME"}},
            "refChanges": [{"refId": "refs/heads/main", "fromHash": BEFORE, "toHash": "0" * 40}],
        },
        {},
        Push("ACME/shop", "main", BEFORE, "", "unknown", deleted=True),
    ),
]


@pytest.mark.parametrize(("forge", "payload", "headers", "expected"), PAYLOADS)
def test_pushes_are_read_from_each_forges_payload(
    forge: str, payload: dict[str, Any], headers: dict[str, str], expected: Push | None
) -> None:
    assert read_push(forge, json.dumps(payload), headers) == expected


@pytest.mark.parametrize(
    ("forge", "payload", "url"),
    [
        (
            "github",
            {"repository": {"full_name": "acme/shop", "html_url": "https://github.com/acme/shop"}},
            f"https://github.com/acme/shop/commit/{AFTER}",
        ),
        (
            "github",
            {"repository": {"full_name": "acme/shop"}, "head_commit": {"id": AFTER, "url": "https://ghe.example/c/1"}},
            "https://ghe.example/c/1",
        ),
        ("github", {"repository": {"full_name": "acme/shop", "html_url": "javascript:alert(1)"}}, None),
        (
            "gitlab",
            {"project": {"path_with_namespace": "g/shop", "web_url": "https://gitlab.example/g/shop/"}},
            f"https://gitlab.example/g/shop/-/commit/{AFTER}",
        ),
        (
            "bitbucket-cloud",
            {"repository": {"full_name": "acme/shop", "links": {"html": {"href": "https://bitbucket.org/acme/shop"}}}},
            f"https://bitbucket.org/acme/shop/commits/{AFTER}",
        ),
    ],
)
def test_a_push_links_its_commit_where_the_payload_says_where_the_repository_lives(
    forge: str, payload: dict[str, Any], url: str | None
) -> None:
    if forge == "bitbucket-cloud":
        payload["push"] = {"changes": [{"new": {"type": "branch", "name": "main", "target": {"hash": AFTER}}}]}
    else:
        payload.update(ref="refs/heads/main", before=BEFORE, after=AFTER)
    push = read_push(forge, json.dumps(payload), {})
    assert push is not None and push.commit_url == url


def test_a_payload_naming_no_repository_is_refused() -> None:
    with pytest.raises(PushRefused, match="names no repository"):
        read_push("github", "{}", {})
    assert repository_of("gitlab", {"project": {"path_with_namespace": 3}}) is None


def test_signatures() -> None:
    body = '{"ref": "refs/heads/main"}'
    signed = "sha256=" + hmac.new(b"k", body.encode(), hashlib.sha256).hexdigest()
    verify("github", body, {"x-hub-signature-256": signed}, "k")
    verify("bitbucket", body, {"x-hub-signature": signed}, "k")
    verify("gitlab", body, {"x-gitlab-token": "k"}, "k")
    verify("github", body, {}, None)  # no secret configured: unsigned pushes accepted
    for forge, headers in [
        ("github", {"x-hub-signature-256": signed.replace("a", "b", 1) if "a" in signed else "sha256=0"}),
        ("github", {}),
        ("bitbucket", {"x-hub-signature": "sha256=00"}),
        ("gitlab", {"x-gitlab-token": "other"}),
    ]:
        with pytest.raises(PushRefused):
            verify(forge, body, headers, "k")
    with pytest.raises(PushRefused):
        verify("github", body + " ", {"x-hub-signature-256": signed}, "k")  # the signature is over the exact bytes
