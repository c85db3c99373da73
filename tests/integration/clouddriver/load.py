"""Constant HTTP load through a load balancer, counting answers by version: deploy tests assert
with it that no request failed while one server group replaced another."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Load:
    """Clients sending GET / through the balancer until stopped; counts answers by version."""

    url: str
    versions: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self, session: aiohttp.ClientSession) -> None:
        while not self.stopping.is_set():
            try:
                async with session.get(self.url) as response:
                    body = await response.json(content_type=None)
                    if response.status == 200:
                        self.versions[body["version"]] += 1
                    else:
                        self.failures.append(f"{response.status}: {body}")
            except (aiohttp.ClientError, TimeoutError) as error:
                self.failures.append(repr(error))

    async def run(self, clients: int) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await asyncio.gather(*(self.client(session) for _ in range(clients)))

    async def until_served(self, version: str, count: int, *, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        target = self.versions[version] + count
        while self.versions[version] < target:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{version} not served: {dict(self.versions)}; failures: {self.failures[:3]}"
            )
            await asyncio.sleep(0.02)
