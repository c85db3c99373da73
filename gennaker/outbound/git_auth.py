"""What ``git`` authenticates a clone with for a ``gitrepo`` artifact account (Spinnaker's
``artifacts.gitrepo.accounts``), without a secret ever reaching a command line, a URL or a file.

* https: ``username`` and ``password`` (or ``token``, with ``username`` or else ``token`` as the user)
  are given to git by a credential helper that reads them from the git process's environment
  (``-c credential.helper=`` empties the helpers first, so no stored credential is used and none
  is stored). ``ps`` shows the helper's text, never the values; the URL stays as the user wrote it.
* ssh (``ssh://`` and ``user@host:path``): ``GIT_SSH_COMMAND`` runs ``ssh`` with the account's key
  file only (``IdentitiesOnly``, no agent), never asking anything (``BatchMode``), and the server's
  key checked against ``sshKnownHostsFilePath`` (``StrictHostKeyChecking=yes``) unless the account
  says ``sshTrustUnknownHosts`` (``no``, the host's key kept nowhere). A key with a passphrase
  (``sshPrivateKeyPassphrase``) is opened by ``ssh`` itself: it asks an askpass helper
  (``SSH_ASKPASS``, forced; OpenSSH 8.4 or later), a shell script that answers only a passphrase
  prompt, with the value of a variable of the ssh process's environment (``printf`` is a shell
  builtin, so the value is in no process's arguments); the key stays encrypted on disk, and ssh
  offers only that key and never asks for a password, so the helper answers nothing else.

Example::

    auth = git_auth(account, ssh=False, helpers=private_directory)
    await asyncio.create_subprocess_exec("git", *auth.config, "clone", "--", url, into, env={**base, **auth.env})
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from schemas.artifact_accounts import ArtifactAccount

USER_VARIABLE = "GENNAKER_GIT_USERNAME"
PASSWORD_VARIABLE = "GENNAKER_GIT_PASSWORD"
_HELPER = (
    f'!f() {{ test "$1" = get || exit 0; echo "username=${{{USER_VARIABLE}}}"; '
    f'echo "password=${{{PASSWORD_VARIABLE}}}"; }}; f'
)
PASSPHRASE_VARIABLE = "GENNAKER_SSH_PASSPHRASE"
ASKPASS = f"""#!/bin/sh
case "$1" in
  "Enter passphrase"*) printf '%s\\n' "${{{PASSPHRASE_VARIABLE}}}" ;;
  *) exit 1 ;;
esac
"""
"""ssh's askpass helper: the passphrase for ssh's (and ssh-keygen's) passphrase prompt, nothing
for any other prompt (a password, a host key, a PIN)."""


@dataclass(frozen=True)
class GitAuth:
    """The ``-c`` options to put before git's command and the variables to add to its environment."""

    config: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    """The values that must never be shown (:meth:`scrubbed` removes them from git's output)."""

    def scrubbed(self, text: str) -> str:
        """``text`` (what git printed) with every secret of the account replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def is_ssh(url: str) -> bool:
    """Whether git reaches ``url`` over SSH: ``ssh://…`` or scp-style ``user@host:path``."""
    if url.startswith("ssh://"):
        return True
    head = url.split("/", 1)[0]
    return "://" not in url and "@" in head and ":" in head


def git_auth(account: ArtifactAccount | None, *, ssh: bool, helpers: Path | None = None) -> GitAuth:
    """How git authenticates to a repository of ``account`` (none: anonymously), over SSH or https.

    ``helpers`` is a directory only this process's user can reach, alive while git runs: an SSH key
    with a passphrase needs it, for the askpass helper written there (it holds no secret)."""
    if account is None:
        return GitAuth(config=("-c", "credential.helper="))
    if ssh:
        passphrase = account.ssh_private_key_passphrase
        if passphrase is None:
            return GitAuth(env={"GIT_SSH_COMMAND": _ssh_command(account)})
        if helpers is None:
            raise ValueError("an SSH key with a passphrase needs a directory for its askpass helper")
        value = passphrase.get_secret_value()
        return GitAuth(env={"GIT_SSH_COMMAND": _ssh_command(account), **askpass(helpers, value)}, secrets=(value,))
    secret = account.password or account.token
    if secret is None:
        return GitAuth(config=("-c", "credential.helper="))
    user = account.username or ("token" if account.token is not None else "")
    value = secret.get_secret_value()
    return GitAuth(
        config=("-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"),
        env={USER_VARIABLE: user, PASSWORD_VARIABLE: value},
        secrets=(value,),
    )


def askpass(helpers: Path, passphrase: str) -> dict[str, str]:
    """The environment that makes ssh (and ssh-keygen) read a key's passphrase from :data:`ASKPASS`,
    written under ``helpers``, never from a terminal."""
    helper = helpers / "ssh-askpass"
    if not helper.exists():
        helper.write_text(ASKPASS)
        helper.chmod(0o700)
    return {"SSH_ASKPASS": str(helper), "SSH_ASKPASS_REQUIRE": "force", PASSPHRASE_VARIABLE: passphrase}


def _ssh_command(account: ArtifactAccount) -> str:
    if account.ssh_private_key_passphrase is None:
        options = ["ssh", "-o", "BatchMode=yes"]
    else:  # BatchMode would not ask for the passphrase; nothing but the key is tried, once
        options = ["ssh", "-o", "BatchMode=no", "-o", "PreferredAuthentications=publickey"]
        options += ["-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no"]
        options += ["-o", "NumberOfPasswordPrompts=1"]
    options += ["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
    if account.ssh_private_key_file_path:
        options += ["-i", account.ssh_private_key_file_path]
    if account.ssh_trust_unknown_hosts:
        options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    else:
        known = account.ssh_known_hosts_file_path or "/dev/null"
        options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
    return shlex.join(options)
