"""Regexes pipeline authors write into triggers and expected artifacts cannot stall the service
matching them: a pattern that could backtrack without end matches nothing, at once, and the
refusal says why where Echo reports one."""

from __future__ import annotations

import time

import pytest

from schemas import safe_regex
from schemas.artifacts import matches
from schemas.trigger_artifacts import DockerPush
from workers.echo.triggers.constraints import constraint_mismatch
from workers.echo.triggers.docker import push_matches
from workers.echo.triggers.git import GitPush
from workers.echo.triggers.git import push_matches as git_push_matches

RUNAWAY = "(v+)+$"
"""Exponential on ``vvv…x`` with Python's ``re``: 30 characters take minutes."""
TEXT = "v" * 120 + "x"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (RUNAWAY, "repeats a group that itself repeats or alternates"),
        ("(a|aa)*b", "repeats a group that itself repeats or alternates"),
        (r"(a)\1", "back-references are not allowed"),
        ("x" * (safe_regex.MAX_PATTERN + 1), "exceeds the limit"),
        ("(", "invalid regular expression"),
    ],
)
def test_an_unsafe_pattern_is_refused_saying_why(pattern: str, why: str) -> None:
    with pytest.raises(safe_regex.UnsafePattern, match=why):
        safe_regex.fullmatch(pattern, "aa")


def test_safe_patterns_match_as_java_matches_does() -> None:
    assert safe_regex.fullmatch("^v[0-9.]+$", "v9.3")
    assert safe_regex.fullmatch("main|release-.*", "release-7")
    assert not safe_regex.fullmatch("main", "main-2")  # the whole text, as String.matches
    with pytest.raises(safe_regex.UnsafePattern, match="too long"):
        safe_regex.fullmatch(".*", "a" * (safe_regex.MAX_TEXT + 1))


def test_runaway_patterns_in_triggers_and_expected_artifacts_match_nothing_at_once() -> None:
    started = time.monotonic()
    docker = {"type": "docker", "account": "hub", "repository": "acme/shop", "tag": RUNAWAY}
    assert not push_matches(docker, DockerPush("index.docker.io", "acme/shop", TEXT[:128], account="hub"))
    git = {"source": "github", "project": "acme", "slug": "shop", "branch": RUNAWAY}
    assert not git_push_matches(git, GitPush("github", "acme", "shop", TEXT, "abc"))
    refusal = constraint_mismatch({"branch": RUNAWAY}, {"branch": TEXT})
    assert refusal is not None and "exponential time" in refusal
    assert not matches({"matchArtifact": {"name": RUNAWAY}}, {"name": TEXT})
    assert time.monotonic() - started < 1.0
