"""The two set-ups the soak benchmark drives, each a set of ``gennaker`` processes as a user runs them.

* ``up``: one ``gennaker up`` (every service and the gateway in one process, the in-process bus,
  the embedded store in a temporary data directory).
* ``amqp``: the distributed layout on RabbitMQ, in a virtual host of the run's own (created, then
  deleted with everything in it): ``gennaker store serve``, one ``gennaker worker NAME`` per
  service and ``gennaker gateway``, each its own process.

``SOAK_GENNAKER`` names another ``gennaker`` executable to run (a wrapper that profiles it, say).
Every process writes its log (JSON lines, ``WARNING`` and up) to a file in the run's directory, so
the benchmark can count what the services complained about; :meth:`Stack.resident_bytes` reads
each one's resident memory from ``/proc`` (with its children's, should it start any).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from gennaker.host import free_port
from schemas.services import SERVICES

ROOT = Path(__file__).resolve().parents[1]
GENNAKER = Path(os.environ.get("SOAK_GENNAKER", ROOT / ".venv" / "bin" / "gennaker"))
START_DEADLINE = 180.0
"""Seconds a set-up may take to a healthy ``/health`` on a busy shared machine."""


def base_env(data_dir: Path) -> dict[str, str]:
    """This process's environment without Gennaker settings, logging warnings and up as JSON lines.

    Without ``PYTHONDONTWRITEBYTECODE``, as an installed Gennaker runs (the image compiles its bytecode).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GENNAKER_") and name != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(GENNAKER_DATA_DIR=str(data_dir), GENNAKER_LOG_LEVEL="WARNING", GENNAKER_LOG_FORMAT="json")
    return env


def resident_bytes(pid: int) -> int:
    """``pid``'s resident memory and its descendants', from ``/proc``; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    rss = next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            rss += sum(resident_bytes(int(child)) for child in task.read_text().split())
    return rss


@dataclass
class Part:
    """One process of a set-up and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Stack:
    """A running set-up: its gateway's URL and its processes."""

    setup: str
    url: str = ""
    parts: list[Part] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    """Where each part's log stood at :meth:`mark`: complaints before it are start-up's."""

    def spawn(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> Part:
        """Start ``gennaker argv`` as part ``name``, its stdout and stderr into ``logs/name.log``."""
        log = logs / f"{name}.log"
        with log.open("wb") as stream:
            process = subprocess.Popen([str(GENNAKER), *argv], env=env, stdout=stream, stderr=subprocess.STDOUT)
        part = Part(name, process, log)
        self.parts.append(part)
        return part

    def resident_bytes(self) -> dict[str, int]:
        """Each part's resident memory now."""
        return {part.name: resident_bytes(part.process.pid) for part in self.parts}

    def exited(self) -> list[str]:
        """The parts that are no longer running, with their exit status."""
        return [
            f"{part.name} (exit {part.process.returncode})" for part in self.parts if part.process.poll() is not None
        ]

    def mark(self) -> None:
        """Count only what the parts log from now on as :meth:`complaints`."""
        self.marks = {part.name: part.log.stat().st_size for part in self.parts}

    def complaints(self) -> Counter[str]:
        """How often each part logged each warning or error since :meth:`mark`: ``"orca error: <event>"`` -> count."""
        found: Counter[str] = Counter()
        for part in self.parts:
            with part.log.open("rb") as stream:
                stream.seek(self.marks.get(part.name, 0))
                text = stream.read().decode(errors="replace")
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    if line.strip() and not line.startswith(("Gennaker ", "Clouddriver")):
                        found[f"{part.name} output: {line.strip()[:120]}"] += 1
                    continue
                if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
                    detail = f" ({entry['error']})" if entry.get("error") else ""
                    found[f"{part.name} {entry['level']}: {entry.get('event')}{detail}"[:240]] += 1
        return found

    def stop(self) -> None:
        """SIGTERM every part (the gateway first), then wait; kill what has not stopped in 30 s."""
        for part in reversed(self.parts):
            if part.process.poll() is None:
                part.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for part in reversed(self.parts):
            try:
                part.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                part.process.kill()
                part.process.wait()

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of every part's log, to say why a set-up did not come up."""
        return "\n".join(
            f"--- {part.name}\n" + "\n".join(part.log.read_text(errors="replace").splitlines()[-lines:])
            for part in self.parts
        )


async def healthy(stack: Stack) -> None:
    """Wait until the gateway answers ``/health`` with every service UP; fail naming what exited."""
    deadline = time.monotonic() + START_DEADLINE
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                async with session.get(f"{stack.url}/health") as response:
                    if response.status == 200 and (await response.json()).get("status") == "UP":
                        return
            if stack.exited() or time.monotonic() > deadline:
                why = (
                    f"exited: {', '.join(stack.exited())}" if stack.exited() else f"not healthy in {START_DEADLINE:g}s"
                )
                raise RuntimeError(f"the {stack.setup} set-up did not come up ({why})\n{stack.log_tail()}")
            await asyncio.sleep(0.2)


def start_up(data_dir: Path) -> Stack:
    """``gennaker up`` on the in-process bus and the embedded store under ``data_dir``."""
    port = free_port()
    stack = Stack("up", url=f"http://127.0.0.1:{port}")
    env = {**base_env(data_dir), "GENNAKER_GATEWAY_PORT": str(port)}
    stack.spawn("up", ["up"], env, data_dir)
    return stack


def start_distributed(data_dir: Path, amqp_url: str) -> Stack:
    """The store, one worker process per service and the gateway, on RabbitMQ at ``amqp_url``."""
    store_port, gateway_port = free_port(), free_port()
    stack = Stack("amqp", url=f"http://127.0.0.1:{gateway_port}")
    env = base_env(data_dir)
    store = stack.spawn(
        "store", ["store", "serve", "--port", str(store_port), "--path", str(data_dir / "store.sqlite")], env, data_dir
    )
    deadline = time.monotonic() + START_DEADLINE
    while "Gennaker store is up" not in store.log.read_text(errors="replace"):
        if store.process.poll() is not None or time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError(f"the store did not start\n{stack.log_tail()}")
        time.sleep(0.1)
    env.update(
        GENNAKER_AMQP_URL=amqp_url,
        GENNAKER_MONGO_URL=f"mongodb://127.0.0.1:{store_port}/?directConnection=true",
        GENNAKER_METRICS_PORT="0",
    )
    for service in SERVICES:
        stack.spawn(service, ["worker", service], env, data_dir)
    stack.spawn("gateway", ["gateway"], {**env, "GENNAKER_GATEWAY_PORT": str(gateway_port)}, data_dir)
    return stack


@contextlib.contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    """``stack``, stopped on leaving however the block ends."""
    try:
        yield stack
    finally:
        stack.stop()
