"""What a ``local`` account may run, and the clean environment every process it runs starts with.

The local provider runs commands on Clouddriver's machine as Clouddriver's user, so each account
says what may run (its ``local`` table, :class:`schemas.clouddriver.LocalAccountSettings`):

* an account without one runs nothing;
* ``unrestricted = true`` runs anything (a machine that is yours alone);
* otherwise a command runs only if its program is one of ``executables``, or a file inside
  ``artifactDirs`` (the ``imageDirs`` Rosco's local bakes fill count as such), or Clouddriver's
  Python (``{python}``) given a script inside ``artifactDirs`` as its first argument (no
  interpreter options before it: ``-c`` and ``-m`` would run anything);
  ``workingDir`` must be inside ``artifactDirs`` too. Paths are resolved (relative ones against
  the working directory, symlinks followed, bare names through the inherited ``PATH``) before they
  are compared, and the resolved program (and script) is what runs, so nothing found later on a
  ``PATH`` can stand in for it. The server group's ``env`` may not set the dynamic loader's or an
  interpreter's start-up hooks (``LD_PRELOAD``, ``PYTHONPATH``…), which would run other code.

Whatever the account, a process never sees Clouddriver's own environment: it gets only the
variables ``inheritEnv`` names (``PATH``, ``LANG``… by default), then its server group's ``env``
(which may not set ``GENNAKER_*``), then ``PORT``.

Example::

    fence = Fence.of(account)
    argv = fence.command(["{python}", "examples/hello/app.py", "--port", "{port}"], working_dir=None)
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from schemas.clouddriver import INHERITED_ENVIRONMENT
from workers.clouddriver.provider import Account, OperationFailed

PYTHON = "{python}"
"""The placeholder for Clouddriver's own Python interpreter."""
HOOKS = re.compile(
    r"^(LD_|DYLD_|PYTHON|PERL5|PERLLIB$|RUBYOPT$|RUBYLIB$|NODE_OPTIONS$|NODE_PATH$|BASH_ENV$|ENV$|"
    r"JAVA_TOOL_OPTIONS$|_JAVA_OPTIONS$|JDK_JAVA_OPTIONS$|GCONV_PATH$|LOCPATH$|IFS$|SHELLOPTS$|PS4$)",
    re.IGNORECASE,
)
"""Variables that make a loader or an interpreter run code other than the command's."""
OURS = re.compile(r"^(GENNAKER_|CLOUDDRIVER_LOCAL_)", re.IGNORECASE)
"""Gennaker's own variables: never set by a server group."""


def inherited(names: Sequence[str] = INHERITED_ENVIRONMENT) -> dict[str, str]:
    """The variables ``names`` of Clouddriver's own environment (only those set)."""
    return {name: os.environ[name] for name in names if name in os.environ and not OURS.match(name)}


def _inside(path: Path, directories: Sequence[Path]) -> bool:
    return any(path == directory or directory in path.parents for directory in directories)


@dataclass(frozen=True)
class Fence:
    """One account's rules for what runs; :meth:`command` and :meth:`environment` apply them."""

    account: str
    configured: bool = False
    unrestricted: bool = False
    artifact_dirs: tuple[Path, ...] = ()
    executables: tuple[Path, ...] = ()
    inherit_env: tuple[str, ...] = INHERITED_ENVIRONMENT

    @classmethod
    def of(cls, account: Account) -> Fence:
        """The fence of ``account`` (its ``local`` settings); closed when it has none."""
        settings = account.settings.get("local")
        if not isinstance(settings, Mapping):
            return cls(account=account.name)
        return cls(
            account=account.name,
            configured=True,
            unrestricted=bool(settings.get("unrestricted")),
            artifact_dirs=tuple(
                Path(str(path)).expanduser().resolve()
                for path in [*(settings.get("artifactDirs") or ()), *(settings.get("imageDirs") or ())]
            ),
            executables=tuple(Path(str(path)).resolve() for path in settings.get("executables") or ()),
            inherit_env=tuple(str(name) for name in settings.get("inheritEnv") or INHERITED_ENVIRONMENT),
        )

    def _refuse(self, what: str) -> OperationFailed:
        allowed = (
            f"it runs {[str(p) for p in self.executables]} and what is inside {[str(p) for p in self.artifact_dirs]}"
            if self.executables or self.artifact_dirs
            else "it allows nothing"
        )
        return OperationFailed(f"account {self.account!r} may not run {what}: {allowed} (its local settings)")

    def command(self, argv: Sequence[str], *, working_dir: str | None) -> list[str]:
        """The argv to run (program and script resolved) if the account allows it; raises
        :class:`OperationFailed` naming what is not allowed. Placeholders other than ``{python}``
        (``{port}``, ``{instance}``) stay for each instance to fill in."""
        if not self.configured:
            raise OperationFailed(
                f"account {self.account!r} runs nothing until its local settings say what may run: set "
                "local.artifactDirs (or local.executables, or local.unrestricted) in its [[accounts]] entry"
            )
        if self.unrestricted:
            return list(argv)
        cwd = Path(working_dir).resolve() if working_dir else Path.cwd().resolve()
        if working_dir and not _inside(cwd, self.artifact_dirs):
            raise self._refuse(f"in workingDir {working_dir!r}")
        program, *arguments = argv
        if program == PYTHON or (program and self._resolve(program, cwd) == Path(sys.executable).resolve()):
            return [PYTHON, *self._script(arguments, cwd)]
        if "{" in program:
            raise self._refuse(f"a program named with a placeholder ({program!r})")
        resolved = self._resolve(program, cwd)
        if resolved is None or not resolved.is_file():
            raise self._refuse(f"{program!r}, which is not a program on this machine")
        if resolved in self.executables or _inside(resolved, self.artifact_dirs):
            return [str(resolved), *arguments]
        raise self._refuse(f"{program!r} ({resolved})")

    def _script(self, arguments: Sequence[str], cwd: Path) -> list[str]:
        if not arguments or arguments[0].startswith("-") or "{" in arguments[0]:
            first = arguments[0] if arguments else "nothing"
            raise self._refuse(f"Python with {first!r}: give it a script inside the artifact directories first")
        script = (cwd / arguments[0]).resolve()
        if not script.is_file() or not _inside(script, self.artifact_dirs):
            raise self._refuse(f"the Python script {arguments[0]!r} ({script})")
        return [str(script), *arguments[1:]]

    def _resolve(self, program: str, cwd: Path) -> Path | None:
        if "/" in program:
            return (cwd / program).resolve()
        found = shutil.which(program, path=inherited(self.inherit_env).get("PATH", ""))
        return Path(found).resolve() if found else None

    def check_env(self, env: Mapping[str, str]) -> None:
        """Refuse variables a server group may not set (Gennaker's own anywhere; hooks unless unrestricted)."""
        ours = sorted(name for name in env if OURS.match(name))
        if ours:
            raise OperationFailed(f"'env' may not set Gennaker's own variables: {ours}")
        hooks = sorted(name for name in env if HOOKS.match(name))
        if hooks and not self.unrestricted:
            raise OperationFailed(
                f"account {self.account!r} does not let 'env' set {hooks}: they make the loader or an interpreter "
                "run other code"
            )

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """What a process starts with: the inherited variables, then the server group's ``env``."""
        return {**inherited(self.inherit_env), **env}
