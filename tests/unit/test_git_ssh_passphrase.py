"""A ``gitrepo`` account's SSH key with a passphrase (Spinnaker's ``sshPrivateKeyPassphrase``): ssh
reads the passphrase from an askpass helper, never from a command line, and a key the account's
passphrase does not open is refused naming the account, without the passphrase, before git
connects anywhere. No SSH server is installed here: the key is opened by the same OpenSSH code
(``ssh-keygen -y``) and askpass helper ssh is given; the clone then reaches a TCP listener that
is no SSH server, which only shows that it got that far."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from gennaker.outbound import OutboundPolicy
from gennaker.outbound.git_auth import ASKPASS, PASSPHRASE_VARIABLE, git_auth
from gennaker.outbound.git_clone import GitRefused, clone
from schemas.artifact_accounts import ArtifactAccount
from schemas.outbound import AllowedRequest, OutboundSettings

PASSPHRASE = "right horse battery"
PROBE = AllowedRequest(url_prefix="https://127.0.0.1/", http_methods=("GET",))
"""An ssh host is judged as an https URL to it would be."""
POLICY = OutboundPolicy(OutboundSettings(allowed_requests=(PROBE,)))


def _account(key: Path, passphrase: str | None) -> ArtifactAccount:
    return ArtifactAccount.model_validate(
        {
            "name": "deploy-keys",
            "type": "gitrepo",
            "sshPrivateKeyFilePath": str(key),
            "sshTrustUnknownHosts": True,
            **({"sshPrivateKeyPassphrase": passphrase} if passphrase is not None else {}),
        }
    )


async def test_a_key_opens_with_its_passphrase_and_a_wrong_one_is_refused_naming_the_account(tmp_path: Path) -> None:
    key = tmp_path / "deploy key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-a", "1", "-N", PASSPHRASE, "-f", str(key)], check=True)
    connections: list[str] = []

    async def refuse(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("ssh")
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    url = f"ssh://git@127.0.0.1:{server.sockets[0].getsockname()[1]}/shop.git"

    async def cloned(passphrase: str | None, into: str) -> str:
        with pytest.raises(GitRefused) as refused:
            await clone(url, "main", tmp_path / into, account=_account(key, passphrase), policy=POLICY, timeout=20)
        return str(refused.value)

    async with server:
        wrong = await cloned("wrong horse", "a")
        missing = await cloned(None, "b")
        assert connections == [], "nothing was sent anywhere with a key that does not open"
        opened = await cloned(PASSPHRASE, "c")
    assert wrong.startswith("artifact account 'deploy-keys': sshPrivateKeyPassphrase does not open the key")
    assert "wrong horse" not in wrong
    assert missing == (
        f"artifact account 'deploy-keys': the key at sshPrivateKeyFilePath {str(key)!r} has a passphrase: "
        "set sshPrivateKeyPassphrase"
    )
    assert connections == ["ssh"], "with the passphrase the key opened and ssh went on to the server"
    assert opened.startswith("git clone with artifact account 'deploy-keys' failed")
    assert PASSPHRASE not in opened


def test_ssh_asks_the_askpass_helper_which_answers_only_a_passphrase_prompt(tmp_path: Path) -> None:
    account = _account(Path("/keys/deploy"), PASSPHRASE)
    auth = git_auth(account, ssh=True, helpers=tmp_path)
    command = shlex.split(auth.env["GIT_SSH_COMMAND"])
    assert PASSPHRASE not in " ".join([*command, *auth.config]), "never on a command line"
    assert "BatchMode=yes" not in command, "BatchMode would not ask for the passphrase"
    assert {"PasswordAuthentication=no", "KbdInteractiveAuthentication=no", "IdentitiesOnly=yes"} <= set(command)
    assert auth.env["SSH_ASKPASS_REQUIRE"] == "force" and auth.env[PASSPHRASE_VARIABLE] == PASSPHRASE
    helper = Path(auth.env["SSH_ASKPASS"])
    assert helper.read_text() == ASKPASS and helper.stat().st_mode & 0o077 == 0
    assert auth.scrubbed(f"bad {PASSPHRASE}") == "bad ***"

    def ask(prompt: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], PASSPHRASE_VARIABLE: PASSPHRASE}
        return subprocess.run([str(helper), prompt], env=env, capture_output=True, text=True)

    assert ask("Enter passphrase for key '/keys/deploy': ").stdout == f"{PASSPHRASE}\n"
    for other in ("git@host's password: ", "Password for 'https://host': ", "Confirm user presence for key"):
        answer = ask(other)
        assert (answer.returncode, answer.stdout) == (1, ""), other


def test_a_passphrase_belongs_to_a_key_file_and_is_never_shown() -> None:
    with pytest.raises(ValidationError, match="sshPrivateKeyPassphrase is the passphrase of a key"):
        ArtifactAccount.model_validate({"name": "g", "type": "gitrepo", "sshPrivateKeyPassphrase": "p"})
    with pytest.raises(ValidationError, match="sshPrivateKeyPassphrase must be one line"):
        _account(Path("/k"), "two\nlines")
    account = _account(Path("/k"), PASSPHRASE)
    assert account.ssh_private_key_passphrase == SecretStr(PASSPHRASE)
    assert PASSPHRASE not in repr(account) and PASSPHRASE not in account.model_dump_json()
