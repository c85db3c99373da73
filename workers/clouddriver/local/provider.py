"""The ``local`` provider: a server group is N processes of an application on this machine.

Region and zone are ``local``. The artifact is given in the stage's cluster config:

* ``command`` (required): the argv list to run, e.g. ``["{python}", "examples/hello/app.py"]``;
  ``{port}`` becomes the instance's port, ``{python}`` this Python interpreter, ``{instance}``
  the instance id. What may run is the account's to say (:mod:`workers.clouddriver.local.fence`):
  nothing without its ``local`` settings;
* ``env`` (object): environment variables, e.g. ``{"HELLO_VERSION": "v2"}``. A process starts
  with a clean environment: the few variables the account inherits (``PATH``, ``LANG``…), this
  ``env``, ``PORT``, and the provider's ``CLOUDDRIVER_LOCAL_ID`` / ``CLOUDDRIVER_LOCAL_OWNER``
  tags; never Clouddriver's own ``GENNAKER_*`` variables, tokens or secrets;
* ``workingDir``: where to run it (default: Clouddriver's working directory);
* ``healthCheckPath`` (default ``/health``): a 2xx answer there means the instance is Up;
* ``stopTimeoutSeconds`` (default 10): how long SIGTERM has before SIGKILL;
* ``imageName`` and ``tags``: how ``findImage`` / ``/images/find`` list the artifact.

A load balancer (``upsertLoadBalancer``: ``name``, optional ``port`` or
``listeners[0].loadBalancerPort``) is a :mod:`workers.clouddriver.local.balancer` process; it
sends traffic to the enabled, healthy instances of the server groups that name it in
``loadBalancers``. Processes and balancers run detached, are recorded in MongoDB
(:mod:`workers.clouddriver.local.store`) and are adopted by the next Clouddriver; processes of
this store that nothing records are stopped by :meth:`LocalProvider.start` (no orphans).

This module holds recovery and the operations; the artifact's argv and environment are
:mod:`~workers.clouddriver.local.artifact`, a group's processes
:mod:`~workers.clouddriver.local.instances`, the balancer processes
:mod:`~workers.clouddriver.local.balancers`, and the model with live health
:mod:`~workers.clouddriver.local.describe`.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from pathlib import Path
from typing import ClassVar

import aiohttp
import structlog

from gennaker.host import free_port
from schemas.json_types import Json
from workers.clouddriver.descriptions import (
    CreateServerGroup,
    DeleteLoadBalancer,
    DestroyServerGroup,
    DisableServerGroup,
    EnableServerGroup,
    ResizeServerGroup,
    TerminateInstances,
    UpsertLoadBalancer,
)
from workers.clouddriver.local import baked_images, processes
from workers.clouddriver.local.artifact import argv, command_of, variables
from workers.clouddriver.local.balancers import Balancers
from workers.clouddriver.local.describe import describe_group, images, load_balancer
from workers.clouddriver.local.fence import Fence
from workers.clouddriver.local.instances import Instances
from workers.clouddriver.local.store import REGION, LocalStore, key
from workers.clouddriver.model import AccountSnapshot, Image, ServerGroup
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed, Progress, no_progress

log = structlog.get_logger("gennaker.clouddriver.local")


def _unique(found: list[Image]) -> list[Image]:
    """One image per name, the first listed winning."""
    seen: dict[str, Image] = {}
    for image in found:
        seen.setdefault(image.name, image)
    return list(seen.values())


class LocalProvider(CloudProvider):
    """Server groups of local processes behind local reverse proxies; state in MongoDB."""

    cloud_provider: ClassVar[str] = "local"
    default_region: ClassVar[str | None] = REGION
    default_max_capacity: ClassVar[int] = 50

    def __init__(self, store: LocalStore, work_dir: Path, *, drain_seconds: float = 30.0) -> None:
        self.store = store
        self.work_dir = work_dir
        self._session: aiohttp.ClientSession | None = None
        self.balancers = Balancers(store, work_dir, lambda: self.session, drain_seconds)
        self.instances = Instances(store, work_dir, self.balancers)

    # --- plumbing -----------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP client for health checks and the balancers' admin calls."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2.0))
        return self._session

    async def close(self) -> None:
        """Close the HTTP client; processes and balancers keep running."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _region(self, region: str) -> None:
        if region != REGION:
            raise OperationFailed(f"the local provider has one region, 'local'; got {region!r}")

    # --- recovery -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt recorded processes, record the ones started but not recorded, finish the stops a
        dead Clouddriver left half done, stop unknown ones, restart dead balancers, bring every
        server group back to its capacity."""
        owner = await self.store.owner()
        running = processes.owned_processes(owner)
        known: set[str] = set()
        instances = await self.store.all_instances()
        await self.instances.finish_stopping([i for i in instances if i.get("stopping")], running)
        for instance in instances:
            known.add(instance["_id"])
            if instance.get("stopping"):
                continue
            pids = running.get(instance["_id"], [])
            if processes.is_alive(instance.get("pid"), owner, instance["_id"]):
                continue
            if pids:
                await self.store.instances.update_one({"_id": instance["_id"]}, {"$set": {"pid": pids[0]}})
                log.info("adopted an instance started but not recorded", instance=instance["_id"], pid=pids[0])
            else:
                await self.store.instances.delete_one({"_id": instance["_id"]})
                log.info("forgot an instance that no longer runs", instance=instance["_id"])
        balancers = [b async for b in self.store.load_balancers.find({})]
        known.update(balancer["balancer_id"] for balancer in balancers)
        for process_id, pids in running.items():
            if process_id not in known:
                for pid in pids:
                    log.warning("stopping a process nothing records (orphan)", process=process_id, pid=pid)
                    await processes.stop(pid, timeout=5.0)
        for group in [g async for g in self.store.server_groups.find({})]:
            try:
                await self.instances.converge(group, no_progress)
            except Exception as error:
                log.warning("could not restore a server group's capacity", group=group["_id"], error=repr(error))
        for balancer in balancers:
            try:
                await self.balancers.ensure_running(balancer)
                await self.balancers.push(balancer["account"], balancer["name"])
            except Exception as error:
                log.warning("could not restore a load balancer", balancer=balancer["_id"], error=repr(error))

    # --- describe -----------------------------------------------------------------------------

    async def server_group(self, account: Account, region: str, name: str) -> ServerGroup | None:
        """One server group with live health."""
        group = await self.store.server_group(account.name, region, name)
        if group is None:
            return None
        health = await self.balancers.account_health(account.name) if group.get("load_balancers") else {}
        return await describe_group(self.store, self.session, group, await self.store.owner(), health)

    async def describe(self, account: Account) -> AccountSnapshot:
        """Every server group (with live health), load balancer and artifact of ``account``."""
        owner = await self.store.owner()
        groups = await self.store.account_server_groups(account.name)
        health = await self.balancers.account_health(account.name)
        described = await asyncio.gather(
            *(describe_group(self.store, self.session, group, owner, health) for group in groups)
        )
        balancers = [
            load_balancer(account.name, balancer, groups)
            for balancer in await self.store.account_load_balancers(account.name)
        ]
        return AccountSnapshot(
            server_groups=tuple(described),
            load_balancers=tuple(balancers),
            images=tuple(_unique([*images(account.name, groups), *baked_images.baked(account)])),
        )

    # --- operations ---------------------------------------------------------------------------

    async def _group(self, account: Account, region: str, name: str) -> Json:
        self._region(region)
        group = await self.store.server_group(account.name, region, name)
        if group is None:
            raise OperationFailed(f"server group {name!r} not found in {account.name}/{region}")
        return group

    async def create_server_group(
        self, account: Account, description: CreateServerGroup, progress: Progress
    ) -> ServerGroup:
        """Record the server group (or find it, on a second create) and start its instances."""
        self._region(description.region)
        fence = Fence.of(account)
        config = baked_images.with_image(account, description.config, description.image)
        working_dir = config.get("workingDir")
        command = fence.command(command_of(config), working_dir=str(working_dir) if working_dir is not None else None)
        argv(command, 0, "check")
        fence.check_env(variables(config))
        for name in description.load_balancers:
            if await self.store.load_balancers.find_one({"_id": key(account.name, REGION, name)}) is None:
                raise OperationFailed(f"load balancer {name!r} does not exist in {account.name}; upsert it first")
        group_key = key(account.name, REGION, description.server_group_name)
        await self.store.server_groups.update_one(
            {"_id": group_key},
            {
                "$setOnInsert": {
                    "account": account.name,
                    "region": REGION,
                    "name": description.server_group_name,
                    "capacity": description.capacity.model_dump(),
                    "disabled": description.disabled,
                    "load_balancers": list(description.load_balancers),
                    "config": config,
                    "command": command,
                    "inherit_env": list(fence.inherit_env),
                    "created_time": time.time(),
                }
            },
            upsert=True,
        )
        group = await self._group(account, REGION, description.server_group_name)
        await self.instances.converge(group, progress)
        described = await self.server_group(account, REGION, description.server_group_name)
        assert described is not None
        return described

    async def resize_server_group(self, account: Account, description: ResizeServerGroup, progress: Progress) -> None:
        """Store the new capacity and start or stop instances to match it."""
        group = await self._group(account, description.region, description.server_group_name)
        group["capacity"] = description.capacity.model_dump()
        await self.store.server_groups.update_one({"_id": group["_id"]}, {"$set": {"capacity": group["capacity"]}})
        await self.instances.converge(group, progress)

    async def _rotate(self, group: Json, *, disabled: bool, enabled_count: int | None) -> None:
        instances = await self.store.group_instances(group["_id"])
        count = len(instances) if enabled_count is None else enabled_count
        for index, instance in enumerate(instances):
            await self.store.instances.update_one({"_id": instance["_id"]}, {"$set": {"enabled": index < count}})
        group["disabled"] = disabled
        await self.store.server_groups.update_one({"_id": group["_id"]}, {"$set": {"disabled": disabled}})
        await self.balancers.push_group(group)

    async def enable_server_group(self, account: Account, description: EnableServerGroup, progress: Progress) -> None:
        """Put the server group (or ``desired_percentage`` of its instances) into rotation."""
        group = await self._group(account, description.region, description.server_group_name)
        total = len(await self.store.group_instances(group["_id"]))
        count = math.ceil(total * description.desired_percentage / 100)
        await self._rotate(group, disabled=False, enabled_count=count)

    async def disable_server_group(self, account: Account, description: DisableServerGroup, progress: Progress) -> None:
        """Take the server group (or ``desired_percentage`` of its instances) out of rotation, drained."""
        group = await self._group(account, description.region, description.server_group_name)
        if description.desired_percentage >= 100:
            await self._rotate(group, disabled=True, enabled_count=None)
            return
        total = len(await self.store.group_instances(group["_id"]))
        off = math.ceil(total * description.desired_percentage / 100)
        await self._rotate(group, disabled=False, enabled_count=total - off)

    async def destroy_server_group(self, account: Account, description: DestroyServerGroup, progress: Progress) -> None:
        """Drain the server group, stop its instances and forget it."""
        self._region(description.region)
        group = await self.store.server_group(account.name, description.region, description.server_group_name)
        if group is None:
            return
        async with self.instances.lock(group["_id"]):
            # capacity 0 first: a Clouddriver restarted mid-destroy must not start instances again
            await self.store.server_groups.update_one(
                {"_id": group["_id"]}, {"$set": {"capacity": {"min": 0, "max": 0, "desired": 0}}}
            )
            instances = await self.store.group_instances(group["_id"])
            await progress(f"{group['name']}: stopping {len(instances)} instance(s)")
            await self.instances.stop(group, instances)
            await self.store.server_groups.delete_one({"_id": group["_id"]})
        await self.balancers.push_group(group)

    async def terminate_instances(self, account: Account, description: TerminateInstances, progress: Progress) -> None:
        """Stop the instances (drained first); their server groups start replacements."""
        self._region(description.region)
        cursor = self.store.instances.find({"_id": {"$in": list(description.instance_ids)}, "account": account.name})
        instances = [instance async for instance in cursor]
        missing = set(description.instance_ids) - {instance["_id"] for instance in instances}
        if missing and len(missing) == len(description.instance_ids):
            log.info("instances already gone", instances=sorted(missing))
        for group_key in sorted({instance["server_group"] for instance in instances}):
            group = await self.store.server_groups.find_one({"_id": group_key})
            if group is None:
                continue
            async with self.instances.lock(group_key):
                await self.instances.stop(group, [i for i in instances if i["server_group"] == group_key])
            await self.instances.converge(group, progress)

    async def upsert_load_balancer(self, account: Account, description: UpsertLoadBalancer, progress: Progress) -> Json:
        """Start the balancer process (or find it running) and send it its targets."""
        self._region(description.region)
        balancer_key = key(account.name, REGION, description.name)
        wanted = description.config.get("port")
        if wanted is None and description.listeners:
            wanted = description.listeners[0].get("loadBalancerPort")
        existing = await self.store.load_balancers.find_one({"_id": balancer_key})
        if existing is not None and wanted is not None and int(wanted) != existing["port"]:
            raise OperationFailed(
                f"load balancer {description.name} listens on {existing['port']}; delete it to move it to {wanted}"
            )
        await self.store.load_balancers.update_one(
            {"_id": balancer_key},
            {
                "$setOnInsert": {
                    "account": account.name,
                    "region": REGION,
                    "name": description.name,
                    "port": int(wanted) if wanted is not None else free_port(),
                    "admin_port": free_port(),
                    "balancer_id": f"lb-{description.name}-{secrets.token_hex(3)}",
                    "pid": None,
                    "created_time": time.time(),
                }
            },
            upsert=True,
        )
        await progress(f"starting load balancer {description.name}")
        await self.balancers.push(account.name, description.name)
        balancer = await self.store.load_balancers.find_one({"_id": balancer_key})
        assert balancer is not None
        return {
            "name": description.name,
            "port": balancer["port"],
            "url": f"http://127.0.0.1:{balancer['port']}",
            "dnsName": f"127.0.0.1:{balancer['port']}",
        }

    async def delete_load_balancer(self, account: Account, description: DeleteLoadBalancer, progress: Progress) -> None:
        """Stop the balancer process and forget it."""
        self._region(description.region)
        balancer = await self.store.load_balancers.find_one({"_id": key(account.name, REGION, description.name)})
        if balancer is None:
            return
        owner = await self.store.owner()
        if processes.is_alive(balancer.get("pid"), owner, balancer["balancer_id"]):
            await processes.stop(balancer["pid"], timeout=10.0)
        for pid in processes.owned_processes(owner).get(balancer["balancer_id"], []):
            await processes.stop(pid, timeout=10.0)
        await self.store.load_balancers.delete_one({"_id": balancer["_id"]})
