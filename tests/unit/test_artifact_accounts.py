"""Artifact accounts are checked when the settings load: credentials that fit the type, names once."""

from __future__ import annotations

import shlex

import pytest
from pydantic import SecretStr, ValidationError

from gennaker.outbound.git_auth import PASSWORD_VARIABLE, USER_VARIABLE, git_auth, is_ssh
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


def test_a_gitrepo_account_takes_basic_auth_a_token_or_ssh_settings_and_only_it_takes_ssh() -> None:
    ssh = ArtifactAccount.model_validate(
        {"name": "infra", "type": "gitrepo", "sshPrivateKeyFilePath": "/k", "sshTrustUnknownHosts": True}
    )
    assert ssh.ssh_private_key_file_path == "/k" and ssh.ssh_trust_unknown_hosts
    with pytest.raises(ValidationError, match="only a gitrepo account takes SSH settings"):
        ArtifactAccount.model_validate({"name": "gh", "type": "github", "sshPrivateKeyFilePath": "/k"})
    with pytest.raises(ValidationError, match="a password or a token, not both"):
        ArtifactAccount(name="g", type="gitrepo", password=SecretStr("a"), token=SecretStr("b"))


def test_git_is_given_credentials_only_through_its_environment() -> None:
    account = ArtifactAccount(name="g", type="gitrepo", username="bob", password=SecretStr("pw-9a8b7c"))
    auth = git_auth(account, ssh=False)
    assert "pw-9a8b7c" not in " ".join(auth.config), "never on the command line"
    assert auth.config[:2] == ("-c", "credential.helper="), "no other helper is asked or told"
    assert auth.env == {USER_VARIABLE: "bob", PASSWORD_VARIABLE: "pw-9a8b7c"}
    assert auth.scrubbed("fatal: pw-9a8b7c rejected") == "fatal: *** rejected"
    token = git_auth(ArtifactAccount(name="t", type="gitrepo", token=SecretStr("tk")), ssh=False)
    assert token.env == {USER_VARIABLE: "token", PASSWORD_VARIABLE: "tk"}
    assert git_auth(None, ssh=False).env == {}


def test_ssh_uses_the_key_file_alone_and_checks_the_host_key_unless_told_not_to() -> None:
    known = ArtifactAccount.model_validate(
        {"name": "k", "type": "gitrepo", "sshPrivateKeyFilePath": "/keys/deploy key", "sshKnownHostsFilePath": "/kh"}
    )
    command = shlex.split(git_auth(known, ssh=True).env["GIT_SSH_COMMAND"])
    assert command[0] == "ssh" and command[command.index("-i") + 1] == "/keys/deploy key"
    assert {"BatchMode=yes", "IdentitiesOnly=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/kh"} <= set(
        command
    )
    trusting = known.model_copy(update={"ssh_trust_unknown_hosts": True})
    assert "StrictHostKeyChecking=no" in git_auth(trusting, ssh=True).env["GIT_SSH_COMMAND"]
    assert is_ssh("git@github.com:acme/infra.git") and is_ssh("ssh://git@host:22/x.git")
    assert not is_ssh("https://user@host/x.git") and not is_ssh("/srv/git/x.git")
