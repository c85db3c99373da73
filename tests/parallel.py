"""What lets the suite run in several pytest-xdist workers at once (``./dev test`` uses two) and still
run the few tests that need the broker to themselves.

A test marked ``alone`` (one that restarts RabbitMQ, say) must not run while any other test has a
connection open. Every worker holds a shared lock on one file of the run for as long as it runs
other tests; a worker about to run an ``alone`` test lets go of its share and waits for the lock
alone, so the test starts once every other worker has finished (their module fixtures torn down,
their connections closed). The ``alone`` tests are moved to the end of the collection, where
xdist hands them out last, so no worker idles while others still have work. ``flock`` locks die
with their process, so a crashed worker never leaves the run stuck. Without xdist nothing changes:
one process runs everything in its usual order.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

import pytest

ALONE = "alone"


def xdist_worker() -> str | None:
    """This process's xdist worker id (``gw0``, ...), or None outside xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def alone_last(items: list[pytest.Item]) -> None:
    """Move the ``alone`` tests after all others, keeping each group's order (the same on every worker)."""
    if xdist_worker() is None:
        return
    items.sort(key=lambda item: item.get_closest_marker(ALONE) is not None)


class RunLock:
    """The shared-or-alone lock of one xdist run, on a file in the run's base temporary directory
    (xdist gives each worker a directory under it)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("ab")
        self._held: int | None = None

    def share(self) -> None:
        """Hold a share (blocks while an ``alone`` test runs)."""
        self._take(fcntl.LOCK_SH)

    def alone(self) -> None:
        """Give up this worker's share and wait until no other worker holds one."""
        self._take(fcntl.LOCK_EX)

    def release(self) -> None:
        if self._held is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._held = None

    def close(self) -> None:
        self.release()
        self._file.close()

    def _take(self, kind: int) -> None:
        if self._held == kind:
            return
        self.release()  # flock's conversion of a held lock is not atomic: let go first, explicitly
        fcntl.flock(self._file, kind)
        self._held = kind
