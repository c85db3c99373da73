"""The pure parts of trigger matching: payload constraints, git push parsing and signatures, the config index."""

from __future__ import annotations

import hashlib
import hmac

from workers.echo.triggers.constraints import constraint_mismatch, matches_constraints
from workers.echo.triggers.git import GitPush, parse_push, push_matches, secret_refusal
from workers.echo.triggers.pipelines import PipelineIndex


def test_constraints_are_whole_value_regexes_on_present_fields() -> None:
    payload = {"branch": "release-7", "count": 3, "ok": True, "repo": {"name": "shop"}, "none": None}
    assert matches_constraints(None, payload)
    assert matches_constraints({}, payload)
    assert matches_constraints({"branch": "release-.*", "count": r"\d", "ok": "true", "repo.name": "shop"}, payload)
    assert not matches_constraints({"branch": "release"}, payload)  # whole value, as Java's String.matches
    assert not matches_constraints({"missing": ".*"}, payload)
    assert not matches_constraints({"none": ".*"}, payload)
    assert not matches_constraints({"branch": "("}, payload)  # an invalid regex matches nothing
    assert not matches_constraints(["branch"], payload)


def test_a_constraint_that_does_not_hold_is_named_with_what_the_payload_had() -> None:
    payload = {"branch": "develop", "repo": {"name": "shop"}, "none": None}
    assert constraint_mismatch({"repo.name": "shop", "branch": "main|release-.*"}, payload) == (
        "payloadConstraints.branch: 'develop' does not match 'main|release-.*'"
    )
    assert constraint_mismatch({"tag": "v.*"}, payload) == "payloadConstraints.tag: the payload has no 'tag'"
    assert constraint_mismatch({"none": ".*"}, payload) == "payloadConstraints.none: the payload has no 'none'"
    assert "is not a valid regex" in str(constraint_mismatch({"branch": "("}, payload))
    assert constraint_mismatch({"repo.name": "shop"}, payload) is None


def test_github_push_and_signatures() -> None:
    payload = {"ref": "refs/tags/v1.0", "after": "abc", "repository": {"name": "api", "owner": {"login": "acme"}}}
    push = parse_push("github", payload, {})
    assert push == GitPush("github", "acme", "api", "v1.0", "abc")
    assert parse_push("github", payload, {"x-github-event": "ping"}) is None
    assert parse_push("gitea", payload, {}) is None

    body = b'{"a": 1}'
    sha256 = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(b"s", body, hashlib.sha1).hexdigest()
    assert secret_refusal("github", "s", body, {"x-hub-signature-256": sha256}) is None
    assert secret_refusal("github", "s", body, {"x-hub-signature": sha1}) is None
    assert secret_refusal("bitbucket", "s", body, {"x-hub-signature": sha256}) is None
    assert secret_refusal("github", "s", body + b" ", {"x-hub-signature-256": sha256}) is not None
    assert secret_refusal("github", "s", body, {"x-hub-signature-256": "md5=00"}) is not None


def test_push_matching_ignores_case_of_project_and_slug_and_matches_the_whole_branch() -> None:
    push = GitPush("github", "Acme", "API", "feature/login", "abc")
    trigger = {"source": "github", "project": "acme", "slug": "api"}
    assert push_matches(trigger, push)
    assert push_matches({**trigger, "branch": "feature/.*"}, push)
    assert not push_matches({**trigger, "branch": "feature"}, push)
    assert not push_matches({**trigger, "branch": "["}, push)
    assert not push_matches({**trigger, "source": "gitlab"}, push)


def test_the_index_keeps_the_newest_save_and_a_late_old_save_does_not_revive_a_deleted_config() -> None:
    index = PipelineIndex()
    index.replace_all([{"id": "p", "application": "shop", "updateTs": "200", "triggers": []}])
    index.saved({"id": "p", "application": "shop", "updateTs": "100", "name": "old"})
    assert [config.get("name") for config in index._configs.values()] == [None]
    index.deleted("p")
    index.saved({"id": "p", "application": "shop", "updateTs": "200", "name": "late copy"})
    assert index._configs == {}
    index.saved({"id": "p", "application": "shop", "updateTs": "300", "name": "saved again"})
    assert index._configs["p"]["name"] == "saved again"
    index.application_deleted("SHOP")
    assert index._configs == {}
