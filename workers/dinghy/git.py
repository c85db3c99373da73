"""Reading repositories with the real ``git``: a bare mirror per repository, fetched on each push.

Files are read at a commit (``git show COMMIT:PATH``), so a push is rendered exactly as it was
pushed even if the branch moved on; what a push changed is ``git diff --name-only BEFORE AFTER``
(every file for a new branch). Blocking calls: run them in a thread. Each command has a timeout,
and credentials in the URL never reach a log (errors name the repository, not the URL).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 1024 * 1024


class GitError(Exception):
    """A git command failed; the message names the repository and what git said."""


@dataclass(frozen=True)
class GitRepository:
    """The mirror of repository ``name`` (cloned from ``url``) under ``cache``."""

    name: str
    url: str
    cache: Path
    timeout: float = 120.0

    @property
    def path(self) -> Path:
        return self.cache / hashlib.sha256(self.name.encode()).hexdigest()[:24]

    def _git(self, *args: str, cwd: Path | None = None) -> bytes:
        environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd or self.path,
                capture_output=True,
                timeout=self.timeout,
                env=environment,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} of {self.name} took longer than {self.timeout:.0f} s") from None
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").replace(self.url, self.name).strip().splitlines()
            raise GitError(f"git {args[0]} of {self.name} failed: {said[-1] if said else done.returncode}")
        return done.stdout

    def fetch(self) -> None:
        """Clone the mirror if there is none, else fetch every branch (pruning deleted ones)."""
        if not (self.path / "HEAD").exists():
            self.cache.mkdir(parents=True, exist_ok=True)
            self._git("clone", "--bare", "--quiet", self.url, str(self.path), cwd=self.cache)
        self._git("fetch", "--quiet", "--prune", self.url, "+refs/heads/*:refs/heads/*")

    def head(self, branch: str) -> str | None:
        """The commit ``branch`` points at, or ``None`` when there is no such branch."""
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}").decode().strip()
        except GitError:
            return None

    def read(self, commit: str, path: str) -> str | None:
        """The text of ``path`` at ``commit``; ``None`` when the commit has no such file."""
        try:
            size = int(self._git("cat-file", "-s", f"{commit}:{path}").decode().strip())
        except GitError:
            return None
        if size > MAX_FILE_BYTES:
            raise GitError(f"{self.name}:{path} is larger than {MAX_FILE_BYTES} bytes")
        return self._git("show", f"{commit}:{path}").decode("utf-8", errors="replace")

    def files(self, commit: str) -> list[str]:
        """Every file of ``commit``."""
        return self._git("ls-tree", "-r", "--name-only", commit).decode().splitlines()

    def changed(self, before: str | None, after: str) -> list[str]:
        """The files that differ between ``before`` and ``after`` (all of ``after``'s for a new branch)."""
        if before is None:
            return self.files(after)
        try:
            return self._git("diff", "--name-only", "--no-renames", before, after).decode().splitlines()
        except GitError:
            return self.files(after)  # ``before`` unknown here (a force push): treat everything as changed

    def deleted(self, before: str | None, after: str) -> list[str]:
        """The files ``after`` deleted since ``before``."""
        if before is None:
            return []
        try:
            return (
                self._git("diff", "--name-only", "--no-renames", "--diff-filter=D", before, after).decode().splitlines()
            )
        except GitError:
            return []

    def author(self, commit: str) -> str:
        """The commit's author, ``Name <email>``."""
        return self._git("log", "-1", "--format=%an <%ae>", commit).decode().strip()


@dataclass(frozen=True)
class GitSource:
    """The files of ``repo`` at one commit, as the renderer reads them."""

    git: GitRepository
    commit: str
    branch: str

    @property
    def repo(self) -> str:
        return self.git.name

    def read(self, path: str) -> str:
        text = self.git.read(self.commit, path)
        if text is None:
            raise FileNotFoundError(path)
        return text
