"""Waiting for a bus's dead letters in a test, whichever archive keeps them."""

from __future__ import annotations

import asyncio

from bus import Bus, DeadLetter


async def dead_lettered(bus: Bus, count: int, what: str, timeout: float = 20.0) -> list[DeadLetter]:
    """The bus's dead letters once there are at least ``count``; fails naming ``what`` after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(letters := await bus.dead_letters()) < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: {len(letters)} of {count} dead letters in {timeout}s")
        await asyncio.sleep(0.02)
    return letters
