"""The Packer process of one bake: started as Rosco starts it, its output streamed, its results scraped.

Packer runs in its own process group (so a cancel or a recovery stops all of it) with
``CHECKPOINT_DISABLE=1`` (no call home) and without Gennaker's own ``GENNAKER_*`` variables.
Each line it prints goes to ``on_line`` as it comes. What it made is read from its output, as
Rosco's ``scrapeCompletedBakeResults`` does: the ``local`` template prints ``Created local image:
<name> at <dir>``, amazon-ebs the ``<region>: ami-…`` lines after "AMIs were created", googlecompute
"A disk image was created: <name>", docker its tagged repository.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from schemas.json_types import Json

LOCAL_IMAGE = re.compile(r"Created local image: (\S+) at (\S+)")
AMI = re.compile(r"^\s*(?:[\w-]+: )?([a-z]{2}-[a-z]+-\d): (ami-[0-9a-f]+)", re.MULTILINE)
GCE_IMAGE = re.compile(r"A disk image was created: (\S+)")
DOCKER_IMAGE = re.compile(r"Tagged image: ([^\s]+)|Pushing ([^\s]+)")


def environment() -> dict[str, str]:
    """Packer's environment: this process's, without Gennaker's own variables, with no checkpoint calls."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GENNAKER_")}
    env["CHECKPOINT_DISABLE"] = "1"
    return env


async def start(command: list[str], cwd: Path) -> asyncio.subprocess.Process:
    """Start Packer in a process group of its own, its output (both streams) on one pipe."""
    return await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=environment(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )


async def follow(process: asyncio.subprocess.Process, on_line: Callable[[str], Awaitable[None]]) -> int:
    """Feed each line Packer prints to ``on_line``; its exit status once it ends."""
    assert process.stdout is not None
    while True:
        raw = await process.stdout.readline()
        if not raw:
            break
        await on_line(raw.decode(errors="replace").rstrip("\n")[:4096])
    return await process.wait()


def stop_group(pid: int) -> bool:
    """SIGKILL the process group ``pid`` leads, if it is still Packer's; whether one was stopped."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    if cmdline and b"packer" not in cmdline:
        return False  # the pid was reused by something else
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
        return True
    return False


def scrape(cloud_provider: str, region: str, logs: str) -> Json:
    """What the bake made, read from Packer's output (``ami``, ``image_name``, ``location``)."""
    found: Json = {}
    if local := LOCAL_IMAGE.search(logs):
        found.update(ami=local.group(1), image_name=local.group(1), location=local.group(2))
    elif cloud_provider == "aws" and "AMIs were created" in logs:
        amis = dict(AMI.findall(logs.split("AMIs were created", 1)[1]))
        if region in amis:
            found["ami"] = amis[region]
    elif gce := GCE_IMAGE.search(logs):
        found["image_name"] = gce.group(1)
    elif docker := DOCKER_IMAGE.search(logs):
        found["image_name"] = docker.group(1) or docker.group(2)
    return found
