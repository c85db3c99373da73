"""Seeding a benchmark's application through Gate, the way a user creates one: a createApplication task,
polled until it ends. Shared by the benchmarks that load the HTTP API."""

from __future__ import annotations

import asyncio
import time

import aiohttp


async def create_application(session: aiohttp.ClientSession, name: str, email: str, *, within: float) -> None:
    """Create application ``name`` with a task and wait until it SUCCEEDED; raises when it ends otherwise
    or takes longer than ``within`` seconds."""
    task = {"application": name, "job": [{"type": "createApplication", "application": {"name": name, "email": email}}]}
    async with session.post("/tasks", json=task) as response:
        response.raise_for_status()
        ref = (await response.json())["ref"]
    deadline = time.monotonic() + within
    while True:
        async with session.get(ref) as response:
            status = (await response.json()).get("status") if response.status == 200 else "NOT_STARTED"
        if status == "SUCCEEDED":
            return
        if status in ("TERMINAL", "CANCELED") or time.monotonic() > deadline:
            raise RuntimeError(f"creating application {name} ended {status}")
        await asyncio.sleep(0.05)
