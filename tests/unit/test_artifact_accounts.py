"""Artifact accounts are checked when the settings load: credentials that fit the type, names once."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from schemas.artifact_accounts import ArtifactAccount, ArtifactSettings


def test_an_http_account_takes_basic_auth_and_a_forge_account_a_token() -> None:
    with pytest.raises(ValidationError, match="an http account takes username/password, not token"):
        ArtifactAccount(name="files", type="http", token=SecretStr("tok-secret-1"))
    with pytest.raises(ValidationError, match="a github account takes a token, not username"):
        ArtifactAccount(name="gh", type="github", username="bob")


def test_an_account_listed_twice_is_refused_and_names_are_found_whatever_their_case() -> None:
    one = ArtifactAccount(name="GitHub-Acme", type="github", token=SecretStr("tok-secret-1"))
    with pytest.raises(ValidationError, match="'github-acme' is listed twice"):
        ArtifactSettings(accounts=[one, ArtifactAccount(name="github-acme", type="github")])
    assert ArtifactSettings(accounts=[one]).account("github-ACME") == one
    assert ArtifactSettings(accounts=[one]).account("other") is None
    assert "tok-secret-1" not in repr(one), "the token is write-only"
