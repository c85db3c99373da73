"""One Terraform command as a child process: its output streamed line by line, stopped as Terraform asks.

The child is the leader of its own process group, so a stop reaches what it started
(``local-exec`` commands) and nothing else; it is started through :mod:`workers.terraformer.launch`,
so the death of its Terraformer interrupts it as a stop would. :meth:`TerraformProcess.stop` sends SIGINT — Terraform
then stops its operation, writes its state and releases its state lock — and waits up to the
grace for it to exit, then sends SIGKILL to the group. Printed lines have the profile's secret
values blanked out before anyone sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

MAX_LINE = 2000
log = structlog.get_logger("gennaker.terraformer")

LineSink = Callable[[str], Awaitable[None]]


def redactor(secrets: Sequence[str]) -> Callable[[str], str]:
    """A function blanking every secret value (longest first) out of a line."""
    values = sorted({value for value in secrets if len(value) >= 4}, key=len, reverse=True)

    def redact(line: str) -> str:
        for value in values:
            line = line.replace(value, "****")
        return line

    return redact


class TerraformProcess:
    """A started Terraform command; :meth:`wait` streams its lines to ``sink`` until it exits."""

    def __init__(self, process: asyncio.subprocess.Process, redact: Callable[[str], str]) -> None:
        self.process = process
        self.redact = redact
        self.stopping = False

    @classmethod
    async def start(
        cls, argv: list[str], *, cwd: Path, env: dict[str, str], redact: Callable[[str], str]
    ) -> TerraformProcess:
        """Start ``argv`` in ``cwd`` with exactly ``env``."""
        launched = [sys.executable, "-m", "workers.terraformer.launch", str(os.getpid()), *argv]
        process = await asyncio.create_subprocess_exec(
            *launched,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(process, redact)

    @property
    def pid(self) -> int:
        """The child's process id (its process group's too)."""
        return self.process.pid

    async def wait(self, sink: LineSink) -> tuple[int, str]:
        """Stream every line to ``sink``; the exit status and everything printed (redacted).

        Once Terraform has exited, whatever it started and left running is killed, so a
        ``local-exec`` child holding the output open cannot keep the run waiting."""
        printed: list[str] = []
        reader = asyncio.create_task(self._read(sink, printed))
        code = await self.process.wait()
        self.kill()
        await reader
        return code, "\n".join(printed)

    async def _read(self, sink: LineSink, printed: list[str]) -> None:
        assert self.process.stdout is not None
        while raw := await self.process.stdout.readline():
            line = self.redact(raw.decode(errors="replace").rstrip("\n"))
            printed.append(line)
            await sink(line[:MAX_LINE])

    async def stop(self, grace: float) -> None:
        """SIGINT, then SIGKILL to the group once ``grace`` seconds have passed (see the module)."""
        if self.process.returncode is not None or self.stopping:
            return
        self.stopping = True
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.process.wait()), grace)
        except TimeoutError:
            log.warning("terraformer.kill_after_grace", pid=self.pid, grace=grace)
            self.kill()

    def kill(self) -> None:
        """SIGKILL the child's process group at once."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
