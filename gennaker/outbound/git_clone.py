"""``git clone`` of a ``git/repo`` artifact, for every worker that reads one (Terraformer's
configurations, Rosco's kustomizations), with the ``gitrepo`` artifact account it names.

What a user names is bounded: the URL is ``http(s)`` (judged by the ``[outbound]`` rules as a
request to it would be, its host's addresses included), ``ssh://`` or ``user@host:path`` with an
account holding an SSH key (its host judged as an https URL to it would be), or a local path under
one of ``local_roots``; ``version`` is a branch, tag or commit (a commit is checked out after a
full clone, anything else is cloned at depth 1); git runs without a terminal, system config or
submodules, for at most ``timeout`` seconds. Credentials: :mod:`gennaker.outbound.git_auth`; an
SSH key is opened first (``ssh-keygen -y``, with the account's passphrase if it has one, as ssh
would), so a key that is missing, or whose passphrase is wrong or not given, is refused naming the
account before anything is sent.
READ on the account is the caller's to check, before calling :func:`clone`.

Example::

    await clone(artifact["reference"], artifact.get("version"), into, account=account, policy=policy)
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from gennaker.outbound.git_auth import GitAuth, git_auth, is_ssh
from gennaker.outbound.policy import OutboundPolicy, OutboundRefused, Route
from schemas.artifact_accounts import ArtifactAccount

GIT_SECONDS = 120.0
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")

type Part = Literal["reference", "version", ""]


class GitRefused(Exception):
    """A clone refused or failed; ``part`` names the artifact's field at fault (``""``: the clone)."""

    def __init__(self, part: Part, reason: str) -> None:
        super().__init__(reason)
        self.part = part


async def clone(
    reference: str,
    version: str | None,
    into: Path,
    *,
    account: ArtifactAccount | None,
    policy: OutboundPolicy,
    local_roots: Sequence[Path] = (),
    roots_setting: str = "local_git_roots",
    timeout: float = GIT_SECONDS,
) -> None:
    """Clone ``reference`` at ``version`` into ``into`` (which must not exist yet; its parent must)."""
    ssh = is_ssh(reference)
    url = (
        await _ssh_url(reference, account, policy) if ssh else await _url(reference, policy, local_roots, roots_setting)
    )
    version = (version or "").strip()
    if version.startswith("-") or len(version) > 255:
        raise GitRefused("version", f"{version[:50]!r} is not a branch, tag or commit")
    commit = bool(_COMMIT.match(version))
    command = ["clone", "--quiet", "--no-recurse-submodules"]
    if version and not commit:
        command += ["--depth", "1", "--branch", version]
    with tempfile.TemporaryDirectory(prefix="gennaker-git-") as helpers:
        auth = git_auth(account, ssh=ssh, helpers=Path(helpers))
        if ssh and account is not None:
            await _open_key(account, auth, timeout)
        await _git(*command, "--", url, str(into), cwd=into.parent, auth=auth, account=account, timeout=timeout)
    if commit:
        await _git("checkout", "--quiet", "--detach", version, cwd=into, part="version", timeout=timeout)


async def _url(reference: str, policy: OutboundPolicy, local_roots: Sequence[Path], roots_setting: str) -> str:
    parts = urlsplit(reference)
    if parts.scheme in ("http", "https"):
        try:
            policy.route("GET", reference)
        except OutboundRefused as refused:
            raise GitRefused("reference", str(refused)) from None
        await _check_public(reference, policy)
        return reference
    if parts.scheme in ("", "file"):
        return _local_url(parts.path if parts.scheme else reference, local_roots, roots_setting)
    raise GitRefused("reference", f"git/repo reference {reference[:200]!r} is neither an http(s) URL nor a local path")


def _local_url(given: str, local_roots: Sequence[Path], roots_setting: str) -> str:
    path = Path(given).resolve()
    if not any(path.is_relative_to(root.resolve()) for root in local_roots):
        raise GitRefused("reference", f"git repository {path} is on this machine but under none of {roots_setting}")
    return f"file://{path}"


async def _ssh_url(reference: str, account: ArtifactAccount | None, policy: OutboundPolicy) -> str:
    """An SSH URL, allowed with a ``gitrepo`` account's key only, its host judged by the outbound
    rules as an https URL to it would be."""
    if account is None or not account.ssh_private_key_file_path:
        raise GitRefused(
            "reference", "an ssh git URL needs an artifactAccount of type gitrepo with sshPrivateKeyFilePath"
        )
    if reference.startswith("ssh://"):
        host = urlsplit(reference).hostname or ""
    else:
        host = reference.split(":", 1)[0].rsplit("@", 1)[-1]
    if not host or host.startswith("-") or any(char in host for char in " '\"\\/"):
        raise GitRefused("reference", f"{reference[:200]!r} names no host")
    probe = f"https://{host}/"
    try:
        policy.route("GET", probe)
    except OutboundRefused as refused:
        raise GitRefused("reference", str(refused)) from None
    await _check_public(probe, policy)
    return reference


async def _open_key(account: ArtifactAccount, auth: GitAuth, timeout: float) -> None:
    """Refuse ``account``'s SSH key unless it opens as ssh would open it (with ``auth``'s askpass)."""
    key = account.ssh_private_key_file_path or ""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SSH_ASKPASS_REQUIRE": "never"}
    try:
        process = await asyncio.create_subprocess_exec(
            "ssh-keygen",
            "-y",
            "-f",
            key,
            env={**env, **{name: value for name, value in auth.env.items() if name != "GIT_SSH_COMMAND"}},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as error:
        reason = f"cannot run ssh-keygen to open the SSH key of artifact account {account.name!r}: {error}"
        raise GitRefused("", reason) from None
    try:
        async with asyncio.timeout(timeout):
            _, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitRefused("", f"opening the SSH key of artifact account {account.name!r} took too long") from None
    if process.returncode == 0:
        return
    said = " ".join(auth.scrubbed(err.decode(errors="replace")).split())[:300]
    if "passphrase" not in said:
        reason = f"sshPrivateKeyFilePath {key!r} is not an SSH private key it can read ({said})"
    elif account.ssh_private_key_passphrase is None:
        reason = f"the key at sshPrivateKeyFilePath {key!r} has a passphrase: set sshPrivateKeyPassphrase"
    else:
        reason = f"sshPrivateKeyPassphrase does not open the key at sshPrivateKeyFilePath {key!r}"
    raise GitRefused("", f"artifact account {account.name!r}: {reason}")


async def _check_public(url: str, policy: OutboundPolicy) -> None:
    """Refuse a URL whose host resolves to an address the rules keep out (unless a rule allows the URL)."""
    if policy.route("GET", url) is Route.ANYWHERE:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if (reason := policy.refusal(address)) is not None:
            raise GitRefused("reference", str(policy.refused("GET", url, reason)))


async def _git(
    *args: str,
    cwd: Path,
    timeout: float,
    auth: GitAuth | None = None,
    account: ArtifactAccount | None = None,
    part: Part = "",
) -> None:
    auth = auth or GitAuth()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "http:https:file:ssh",
        **auth.env,
    }
    process = await asyncio.create_subprocess_exec(
        "git", *auth.config, *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with asyncio.timeout(timeout):
            out, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitRefused(part, f"git {args[0]} took longer than {timeout:g} s") from None
    if process.returncode != 0:
        said = auth.scrubbed(out.decode(errors="replace")).strip().splitlines()[-3:]
        using = f" with artifact account {account.name!r}" if account is not None else ""
        raise GitRefused(part, f"git {args[0]}{using} failed: {' '.join(said)[:500]}")
