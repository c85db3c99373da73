"""Starting, finding and stopping the detached processes of the ``local`` provider.

Every process is started in a session of its own (so it outlives the Clouddriver that started
it, SIGKILL included) with the environment it is given (nothing of Clouddriver's own: see
:mod:`workers.clouddriver.local.fence`) plus two variables: ``CLOUDDRIVER_LOCAL_OWNER`` (the store
it belongs to, so tests sharing a machine never touch each other's processes) and
``CLOUDDRIVER_LOCAL_ID`` (the instance or load balancer it is); processes started before these
names were ``GENNAKER_LOCAL_OWNER`` / ``GENNAKER_LOCAL_ID`` are still found. A restarted Clouddriver finds its
processes by scanning ``/proc/*/environ`` for those, which is also how a recorded pid is checked
to still be the same process. Stopping sends SIGTERM to the process group, then SIGKILL after the
time-out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

OWNER_VARIABLE = "CLOUDDRIVER_LOCAL_OWNER"
ID_VARIABLE = "CLOUDDRIVER_LOCAL_ID"
LEGACY_VARIABLES = {"GENNAKER_LOCAL_OWNER": OWNER_VARIABLE, "GENNAKER_LOCAL_ID": ID_VARIABLE}
"""The names processes of an earlier Clouddriver carry, read as the current ones."""

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this one started: polled so they are reaped, not left as zombies."""


def spawn(
    argv: Sequence[str],
    *,
    owner: str,
    process_id: str,
    env: Mapping[str, str],
    cwd: str | None,
    log_path: Path,
) -> int:
    """Start ``argv`` detached (own session) with exactly ``env`` and the two tags, output appended
    to ``log_path``; returns its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    environment = {**env, OWNER_VARIABLE: owner, ID_VARIABLE: process_id}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=cwd,
            start_new_session=True,
        )
    _children[process.pid] = process
    return process.pid


def _environ(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            raw = environ.read()
    except OSError:
        return {}
    wanted = {OWNER_VARIABLE: OWNER_VARIABLE, ID_VARIABLE: ID_VARIABLE, **LEGACY_VARIABLES}
    variables: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        current = wanted.get(name.decode(errors="replace")) if sep else None
        if current is not None:
            variables.setdefault(current, value.decode(errors="replace"))
    return variables


def _running(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def is_alive(pid: int | None, owner: str, process_id: str) -> bool:
    """``pid`` runs and is the process ``process_id`` of ``owner`` (not a reused pid)."""
    if not pid or not _running(pid):
        return False
    variables = _environ(pid)
    return variables.get(OWNER_VARIABLE) == owner and variables.get(ID_VARIABLE) == process_id


def owned_processes(owner: str) -> dict[str, list[int]]:
    """Every running process of ``owner``, by its ``CLOUDDRIVER_LOCAL_ID`` (the scan of ``/proc``)."""
    found: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        variables = _environ(pid)
        if variables.get(OWNER_VARIABLE) == owner and ID_VARIABLE in variables and _running(pid):
            found.setdefault(variables[ID_VARIABLE], []).append(pid)
    return found


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return
    except PermissionError:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return


async def stop(pid: int, *, timeout: float) -> None:
    """SIGTERM to ``pid``'s process group; SIGKILL if it still runs after ``timeout`` seconds."""
    if not _running(pid):
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running(pid):
        if time.monotonic() >= deadline:
            _signal_group(pid, signal.SIGKILL)
            kill_deadline = time.monotonic() + 5
            while _running(pid):
                if time.monotonic() >= kill_deadline:
                    break
                await asyncio.sleep(0.02)
            break
        await asyncio.sleep(0.02)
    child = _children.get(pid)
    # poll() reaps a child that died between two checks; one that outlived SIGKILL stays tracked
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)
