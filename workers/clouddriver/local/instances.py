"""A ``local`` server group's processes: started, stopped once drained, converged on the capacity.

Every change of a group's instances holds the group's lock; instances being stopped are marked
``stopping`` first (out of rotation, counted by no capacity), so a Clouddriver that dies mid-stop
leaves a mark the next one finishes (:meth:`Instances.finish_stopping`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import structlog

from gennaker.host import free_port
from schemas.clouddriver import INHERITED_ENVIRONMENT
from schemas.json_types import Json
from workers.clouddriver.local import processes
from workers.clouddriver.local.artifact import argv, command_of, variables
from workers.clouddriver.local.balancers import Balancers
from workers.clouddriver.local.fence import inherited
from workers.clouddriver.local.store import LocalStore
from workers.clouddriver.provider import Progress

log = structlog.get_logger("gennaker.clouddriver.local")


class Instances:
    """The instance processes of one store; changes to a group's instances push its balancers."""

    def __init__(self, store: LocalStore, work_dir: Path, balancers: Balancers) -> None:
        self.store = store
        self.work_dir = work_dir
        self.balancers = balancers
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, group_id: str) -> asyncio.Lock:
        """The lock every change to server group ``group_id``'s instances holds."""
        return self._locks.setdefault(group_id, asyncio.Lock())

    async def spawn(self, group: Json) -> None:
        """Start one more instance of ``group``, recorded before it is spawned and its pid right after."""
        owner = await self.store.owner()
        instance_id = f"{group['name']}-{secrets.token_hex(3)}"
        port = free_port()
        config = group["config"]
        command = argv(group.get("command") or command_of(config), port, instance_id)
        await self.store.instances.insert_one(
            {
                "_id": instance_id,
                "server_group": group["_id"],
                "account": group["account"],
                "port": port,
                "pid": None,
                "enabled": True,
                "stopping": False,
                "launch_time": time.time(),
            }
        )
        working_dir = config.get("workingDir")
        pid = processes.spawn(
            command,
            owner=owner,
            process_id=instance_id,
            env={
                **inherited(group.get("inherit_env") or INHERITED_ENVIRONMENT),
                **variables(config),
                "PORT": str(port),
            },
            cwd=str(working_dir) if working_dir else None,
            log_path=self.work_dir / "logs" / f"{instance_id}.log",
        )
        await self.store.instances.update_one({"_id": instance_id}, {"$set": {"pid": pid}})

    async def stop(self, group: Json, instances: list[Json]) -> None:
        """Take ``instances`` out of rotation (drained), then stop and forget them."""
        if not instances:
            return
        ids = [instance["_id"] for instance in instances]
        await self.store.instances.update_many({"_id": {"$in": ids}}, {"$set": {"stopping": True}})
        await self.balancers.push_group(group)
        timeout = float(group["config"].get("stopTimeoutSeconds") or 10)
        owner = await self.store.owner()
        pids = [
            instance["pid"]
            for instance in instances
            if instance.get("pid") and processes.is_alive(instance["pid"], owner, instance["_id"])
        ]
        await asyncio.gather(*(processes.stop(pid, timeout=timeout) for pid in pids))
        await self.store.instances.delete_many({"_id": {"$in": ids}})

    async def converge(self, group: Json, progress: Progress) -> None:
        """Start or stop instances until the server group runs ``desired`` live ones."""
        async with self.lock(group["_id"]):
            owner = await self.store.owner()
            instances = await self.store.group_instances(group["_id"])
            dead = [
                i for i in instances if not i.get("stopping") and not processes.is_alive(i.get("pid"), owner, i["_id"])
            ]
            if dead:
                await self.store.instances.delete_many({"_id": {"$in": [i["_id"] for i in dead]}})
            live = [i for i in instances if i not in dead and not i.get("stopping")]
            desired = int(group["capacity"]["desired"])
            if len(live) < desired:
                await progress(f"{group['name']}: starting {desired - len(live)} instance(s)")
                for _ in range(desired - len(live)):
                    await self.spawn(group)
            elif len(live) > desired:
                extra = live[desired:]
                await progress(f"{group['name']}: stopping {len(extra)} instance(s)")
                await self.stop(group, list(reversed(extra)))
        await self.balancers.push_group(group)

    async def finish_stopping(self, instances: list[Json], running: dict[str, list[int]]) -> None:
        """Drain, stop and forget ``instances``, marked ``stopping`` by a Clouddriver that died before
        it finished: they are out of rotation, and no capacity counts them, so nothing else would."""

        async def finish(instance: Json) -> None:
            group = await self.store.server_groups.find_one({"_id": instance["server_group"]})
            timeout = float(((group or {}).get("config") or {}).get("stopTimeoutSeconds") or 10)
            pids = running.get(instance["_id"], [])
            if pids and group is not None:
                try:
                    await self.balancers.push_group(group)
                except Exception as error:
                    log.warning(
                        "could not drain an instance before stopping it", instance=instance["_id"], error=repr(error)
                    )
            if pids:
                log.info("finishing the stop of an instance", instance=instance["_id"], pids=pids)
            await asyncio.gather(*(processes.stop(pid, timeout=timeout) for pid in pids))
            await self.store.instances.delete_one({"_id": instance["_id"]})

        await asyncio.gather(*(finish(instance) for instance in instances))
