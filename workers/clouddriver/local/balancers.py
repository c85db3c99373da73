"""The ``local`` load balancers as the provider drives them: started, sent their targets, asked what is healthy.

A load balancer is a :mod:`workers.clouddriver.local.balancer` process with an admin port. The
provider starts it (or adopts it), sends it the instances of the server groups that name it (a
``PUT /targets`` that returns once the ones taken out are drained), and reads which targets its
health checks last found healthy.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import structlog

from schemas.json_types import Json
from workers.clouddriver.local import processes
from workers.clouddriver.local.fence import inherited
from workers.clouddriver.local.store import REGION, LocalStore, key
from workers.clouddriver.provider import OperationFailed

SOURCE_ROOT = Path(__file__).resolve().parents[3]
"""Where ``python -m workers.clouddriver.local.balancer`` resolves."""
log = structlog.get_logger("gennaker.clouddriver.local")


class Balancers:
    """The balancer processes of one store; ``session()`` is the provider's HTTP client."""

    def __init__(
        self, store: LocalStore, work_dir: Path, session: Callable[[], aiohttp.ClientSession], drain_seconds: float
    ) -> None:
        self.store = store
        self.work_dir = work_dir
        self.drain_seconds = drain_seconds
        self._session = session
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure_running(self, balancer: Json) -> None:
        """Start ``balancer``'s process unless it runs (adopting one started but not recorded);
        return once it answers."""
        owner = await self.store.owner()
        if processes.is_alive(balancer.get("pid"), owner, balancer["balancer_id"]):
            return
        running = processes.owned_processes(owner).get(balancer["balancer_id"])
        if running:
            pid = running[0]
        else:
            pid = processes.spawn(
                [
                    sys.executable,
                    "-m",
                    "workers.clouddriver.local.balancer",
                    "--port",
                    str(balancer["port"]),
                    "--admin-port",
                    str(balancer["admin_port"]),
                ],
                owner=owner,
                process_id=balancer["balancer_id"],
                env=inherited(),
                cwd=str(SOURCE_ROOT),
                log_path=self.work_dir / "logs" / f"{balancer['balancer_id']}.log",
            )
        await self.store.load_balancers.update_one({"_id": balancer["_id"]}, {"$set": {"pid": pid}})
        deadline = time.monotonic() + 20
        while True:
            try:
                async with self._session().get(f"http://127.0.0.1:{balancer['admin_port']}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise OperationFailed(f"load balancer {balancer['name']} did not start; see its log in {self.work_dir}")
            await asyncio.sleep(0.05)

    async def targets(self, account: str, name: str) -> list[Json]:
        """What balancer ``name`` should send traffic to: every recorded instance of the groups naming it."""
        targets: list[Json] = []
        for group in await self.store.account_server_groups(account):
            if name not in group.get("load_balancers", []):
                continue
            for instance in await self.store.group_instances(group["_id"]):
                if instance.get("pid") is None:
                    continue
                targets.append(
                    {
                        "id": instance["_id"],
                        "url": f"http://127.0.0.1:{instance['port']}",
                        "healthCheckPath": group["config"].get("healthCheckPath") or "/health",
                        "enabled": not group["disabled"] and instance["enabled"] and not instance.get("stopping"),
                    }
                )
        return targets

    async def push(self, account: str, name: str) -> None:
        """Send balancer ``name`` its targets as MongoDB has them; returns once drained."""
        async with self._locks.setdefault(f"{account}|{name}", asyncio.Lock()):
            balancer = await self.store.load_balancers.find_one({"_id": key(account, REGION, name)})
            if balancer is None:
                return
            await self.ensure_running(balancer)
            body = {"targets": await self.targets(account, name), "drainSeconds": self.drain_seconds}
            url = f"http://127.0.0.1:{balancer['admin_port']}/targets"
            async with self._session().put(url, json=body) as response:
                if response.status != 200:
                    raise OperationFailed(f"load balancer {name} refused its targets: {await response.text()}")
                answer = await response.json()
            if not answer.get("drained", True):
                log.warning("requests still in flight after the drain time-out", balancer=name)

    async def push_group(self, group: Json) -> None:
        """:meth:`push` every balancer ``group`` names."""
        await asyncio.gather(*(self.push(group["account"], name) for name in group.get("load_balancers", [])))

    async def health(self, balancer: Json) -> dict[str, bool]:
        """A load balancer's targets and whether it last found each healthy (none when it cannot be asked)."""
        try:
            async with self._session().get(
                f"http://127.0.0.1:{balancer['admin_port']}/targets", timeout=aiohttp.ClientTimeout(total=2.0)
            ) as response:
                if response.status == 200:
                    targets = (await response.json())["targets"]
                    return {str(target["id"]): bool(target["healthy"]) for target in targets}
        except (aiohttp.ClientError, TimeoutError, OSError, KeyError, TypeError, ValueError) as error:
            log.warning("could not read a load balancer's health checks", balancer=balancer["name"], error=repr(error))
        return {}

    async def account_health(self, account: str) -> dict[str, dict[str, bool]]:
        """`health` of every load balancer of ``account``, by name."""
        balancers = await self.store.account_load_balancers(account)
        seen = await asyncio.gather(*(self.health(balancer) for balancer in balancers))
        return {balancer["name"]: healthy for balancer, healthy in zip(balancers, seen, strict=True)}
