"""What ``git`` authenticates a clone with for a ``gitrepo`` artifact account (Spinnaker's
``artifacts.gitrepo.accounts``), without a secret ever reaching a command line, a URL or a file.

* https: ``username`` and ``password`` (or ``token``, with ``username`` or else ``token`` as the user)
  are given to git by a credential helper that reads them from the git process's environment
  (``-c credential.helper=`` empties the helpers first, so no stored credential is used and none
  is stored). ``ps`` shows the helper's text, never the values; the URL stays as the user wrote it.
* ssh (``ssh://`` and ``user@host:path``): ``GIT_SSH_COMMAND`` runs ``ssh`` with the account's key
  file only (``IdentitiesOnly``, no agent), never asking anything (``BatchMode``), and the server's
  key checked against ``sshKnownHostsFilePath`` (``StrictHostKeyChecking=yes``) unless the account
  says ``sshTrustUnknownHosts`` (``no``, the host's key kept nowhere).

Example::

    auth = git_auth(account)
    await asyncio.create_subprocess_exec("git", *auth.config, "clone", "--", url, into, env={**base, **auth.env})
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from schemas.artifact_accounts import ArtifactAccount

USER_VARIABLE = "GENNAKER_GIT_USERNAME"
PASSWORD_VARIABLE = "GENNAKER_GIT_PASSWORD"
_HELPER = (
    f'!f() {{ test "$1" = get || exit 0; echo "username=${{{USER_VARIABLE}}}"; '
    f'echo "password=${{{PASSWORD_VARIABLE}}}"; }}; f'
)


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


def git_auth(account: ArtifactAccount | None, *, ssh: bool) -> GitAuth:
    """How git authenticates to a repository of ``account`` (none: anonymously), over SSH or https."""
    if account is None:
        return GitAuth(config=("-c", "credential.helper="))
    if ssh:
        return GitAuth(env={"GIT_SSH_COMMAND": _ssh_command(account)})
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


def _ssh_command(account: ArtifactAccount) -> str:
    options = ["ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
    if account.ssh_private_key_file_path:
        options += ["-i", account.ssh_private_key_file_path]
    if account.ssh_trust_unknown_hosts:
        options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    else:
        known = account.ssh_known_hosts_file_path or "/dev/null"
        options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
    return shlex.join(options)
