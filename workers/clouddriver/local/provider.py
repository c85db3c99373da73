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
"""

from __future__ import annotations

import asyncio
import math
import secrets
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import structlog

from schemas.clouddriver import INHERITED_ENVIRONMENT
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
from workers.clouddriver.local import processes
from workers.clouddriver.local.fence import Fence, inherited
from workers.clouddriver.local.store import LocalStore, key
from workers.clouddriver.model import (
    AccountSnapshot,
    Capacity,
    HealthState,
    Image,
    Instance,
    LoadBalancer,
    ServerGroup,
)
from workers.clouddriver.provider import Account, CloudProvider, OperationFailed, Progress, no_progress

Json = dict[str, Any]
REGION = "local"
STARTING_GRACE_SECONDS = 60.0
SOURCE_ROOT = Path(__file__).resolve().parents[3]
"""Where ``python -m workers.clouddriver.local.balancer`` resolves."""
log = structlog.get_logger("gennaker.clouddriver.local")


def _command(config: Json) -> list[str]:
    command = config.get("command")
    if isinstance(command, str):
        command = [command]
    if not isinstance(command, list) or not command or not all(isinstance(part, str) for part in command):
        raise OperationFailed("the local artifact needs 'command', a non-empty list of strings (the argv)")
    return list(command)


def _argv(command: list[str], port: int, instance_id: str) -> list[str]:
    try:
        return [part.format(port=port, python=sys.executable, instance=instance_id) for part in command]
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        raise OperationFailed(
            f"'command' may use only the placeholders {{port}}, {{python}} and {{instance}}: {error!r}"
        ) from None


def _variables(config: Json) -> dict[str, str]:
    env = config.get("env") or {}
    if not isinstance(env, dict):
        raise OperationFailed(f"'env' must be an object of variable names to values, got {env!r}")
    return {str(name): str(value) for name, value in env.items()}


class LocalProvider(CloudProvider):
    """Server groups of local processes behind local reverse proxies; state in MongoDB."""

    cloud_provider: ClassVar[str] = "local"
    default_region: ClassVar[str | None] = REGION
    default_max_capacity: ClassVar[int] = 50

    def __init__(self, store: LocalStore, work_dir: Path, *, drain_seconds: float = 30.0) -> None:
        self.store = store
        self.work_dir = work_dir
        self.drain_seconds = drain_seconds
        self._session: aiohttp.ClientSession | None = None
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._balancer_locks: dict[str, asyncio.Lock] = {}

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

    def _lock(self, locks: dict[str, asyncio.Lock], name: str) -> asyncio.Lock:
        return locks.setdefault(name, asyncio.Lock())

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
        await self._finish_stopping([i for i in instances if i.get("stopping")], running)
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
                await self._converge(group, no_progress)
            except Exception as error:
                log.warning("could not restore a server group's capacity", group=group["_id"], error=repr(error))
        for balancer in balancers:
            try:
                await self._ensure_balancer(balancer)
                await self._push(balancer["account"], balancer["name"])
            except Exception as error:
                log.warning("could not restore a load balancer", balancer=balancer["_id"], error=repr(error))

    async def _finish_stopping(self, instances: list[Json], running: dict[str, list[int]]) -> None:
        """Drain, stop and forget ``instances``, marked ``stopping`` by a Clouddriver that died before
        it finished: they are out of rotation, and no capacity counts them, so nothing else would."""

        async def finish(instance: Json) -> None:
            group = await self.store.server_groups.find_one({"_id": instance["server_group"]})
            timeout = float(((group or {}).get("config") or {}).get("stopTimeoutSeconds") or 10)
            pids = running.get(instance["_id"], [])
            if pids and group is not None:
                try:
                    await self._push_group(group)
                except Exception as error:
                    log.warning(
                        "could not drain an instance before stopping it", instance=instance["_id"], error=repr(error)
                    )
            if pids:
                log.info("finishing the stop of an instance", instance=instance["_id"], pids=pids)
            await asyncio.gather(*(processes.stop(pid, timeout=timeout) for pid in pids))
            await self.store.instances.delete_one({"_id": instance["_id"]})

        await asyncio.gather(*(finish(instance) for instance in instances))

    # --- instances ----------------------------------------------------------------------------

    async def _spawn(self, group: Json) -> None:
        owner = await self.store.owner()
        instance_id = f"{group['name']}-{secrets.token_hex(3)}"
        port = processes.free_port()
        config = group["config"]
        argv = _argv(group.get("command") or _command(config), port, instance_id)
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
            argv,
            owner=owner,
            process_id=instance_id,
            env={
                **inherited(group.get("inherit_env") or INHERITED_ENVIRONMENT),
                **_variables(config),
                "PORT": str(port),
            },
            cwd=str(working_dir) if working_dir else None,
            log_path=self.work_dir / "logs" / f"{instance_id}.log",
        )
        await self.store.instances.update_one({"_id": instance_id}, {"$set": {"pid": pid}})

    async def _stop_instances(self, group: Json, instances: list[Json]) -> None:
        """Take ``instances`` out of rotation (drained), then stop and forget them."""
        if not instances:
            return
        ids = [instance["_id"] for instance in instances]
        await self.store.instances.update_many({"_id": {"$in": ids}}, {"$set": {"stopping": True}})
        await self._push_group(group)
        timeout = float(group["config"].get("stopTimeoutSeconds") or 10)
        owner = await self.store.owner()
        pids = [
            instance["pid"]
            for instance in instances
            if instance.get("pid") and processes.is_alive(instance["pid"], owner, instance["_id"])
        ]
        await asyncio.gather(*(processes.stop(pid, timeout=timeout) for pid in pids))
        await self.store.instances.delete_many({"_id": {"$in": ids}})

    async def _converge(self, group: Json, progress: Progress) -> None:
        """Start or stop instances until the server group runs ``desired`` live ones."""
        async with self._lock(self._group_locks, group["_id"]):
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
                    await self._spawn(group)
            elif len(live) > desired:
                extra = live[desired:]
                await progress(f"{group['name']}: stopping {len(extra)} instance(s)")
                await self._stop_instances(group, list(reversed(extra)))
        await self._push_group(group)

    # --- load balancers -----------------------------------------------------------------------

    async def _ensure_balancer(self, balancer: Json) -> None:
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
                async with self.session.get(f"http://127.0.0.1:{balancer['admin_port']}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise OperationFailed(f"load balancer {balancer['name']} did not start; see its log in {self.work_dir}")
            await asyncio.sleep(0.05)

    async def _targets(self, account: str, name: str) -> list[Json]:
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

    async def _push(self, account: str, name: str) -> None:
        """Send balancer ``name`` its targets as MongoDB has them; returns once drained."""
        async with self._lock(self._balancer_locks, f"{account}|{name}"):
            balancer = await self.store.load_balancers.find_one({"_id": key(account, REGION, name)})
            if balancer is None:
                return
            await self._ensure_balancer(balancer)
            body = {"targets": await self._targets(account, name), "drainSeconds": self.drain_seconds}
            url = f"http://127.0.0.1:{balancer['admin_port']}/targets"
            async with self.session.put(url, json=body) as response:
                if response.status != 200:
                    raise OperationFailed(f"load balancer {name} refused its targets: {await response.text()}")
                answer = await response.json()
            if not answer.get("drained", True):
                log.warning("requests still in flight after the drain time-out", balancer=name)

    async def _push_group(self, group: Json) -> None:
        await asyncio.gather(*(self._push(group["account"], name) for name in group.get("load_balancers", [])))

    # --- describe -----------------------------------------------------------------------------

    async def _health(self, instance: Json, path: str, owner: str, balancers: list[dict[str, bool]]) -> HealthState:
        """``Up`` when the instance answers its health check *and* every load balancer of its server
        group has seen it healthy (as an AWS instance is Up only once its target groups say so):
        a deploy that waits for Up never disables the old server group before the new one serves."""
        if instance.get("stopping"):
            return "Draining"
        if not processes.is_alive(instance.get("pid"), owner, instance["_id"]):
            return "Down"
        young = time.time() - instance["launch_time"] < STARTING_GRACE_SECONDS
        try:
            async with self.session.get(
                f"http://127.0.0.1:{instance['port']}{path}", timeout=aiohttp.ClientTimeout(total=2.0)
            ) as response:
                if not 200 <= response.status < 300:
                    return "Down"
        except (aiohttp.ClientError, TimeoutError, OSError):
            return "Starting" if young else "Down"
        if all(seen.get(instance["_id"], False) for seen in balancers):
            return "Up"
        return "Starting" if young else "Down"

    async def _balancer_health(self, balancer: Json) -> dict[str, bool]:
        """A load balancer's targets and whether it last found each healthy (none when it cannot be asked)."""
        try:
            async with self.session.get(
                f"http://127.0.0.1:{balancer['admin_port']}/targets", timeout=aiohttp.ClientTimeout(total=2.0)
            ) as response:
                if response.status == 200:
                    targets = (await response.json())["targets"]
                    return {str(target["id"]): bool(target["healthy"]) for target in targets}
        except (aiohttp.ClientError, TimeoutError, OSError, KeyError, TypeError, ValueError) as error:
            log.warning("could not read a load balancer's health checks", balancer=balancer["name"], error=repr(error))
        return {}

    async def _balancers_health(self, account: str) -> dict[str, dict[str, bool]]:
        """:meth:`_balancer_health` of every load balancer of ``account``, by name."""
        balancers = await self.store.account_load_balancers(account)
        seen = await asyncio.gather(*(self._balancer_health(balancer) for balancer in balancers))
        return {balancer["name"]: healthy for balancer, healthy in zip(balancers, seen, strict=True)}

    async def _describe_group(self, group: Json, owner: str, health: dict[str, dict[str, bool]]) -> ServerGroup:
        """The server group with live instance health; ``health`` is :meth:`_balancers_health` of
        its account (a load balancer since deleted has no say)."""
        instances = await self.store.group_instances(group["_id"])
        path = group["config"].get("healthCheckPath") or "/health"
        balancers = [health[name] for name in group.get("load_balancers", []) if name in health]
        states = await asyncio.gather(*(self._health(instance, path, owner, balancers) for instance in instances))
        described: list[Instance] = []
        for instance, state in zip(instances, states, strict=True):
            in_rotation = not group["disabled"] and instance["enabled"]
            described.append(
                Instance(
                    id=instance["_id"],
                    zone=REGION,
                    health_state="OutOfService" if state == "Up" and not in_rotation else state,
                    health_type="LocalHealthCheck",
                    launch_time=int(instance["launch_time"] * 1000),
                    extra={"port": instance["port"], "pid": instance.get("pid"), "privateIpAddress": "127.0.0.1"},
                )
            )
        config = group["config"]
        image_name = config.get("imageName") or " ".join(map(str, config.get("command") or []))
        return ServerGroup(
            name=group["name"],
            account=group["account"],
            region=REGION,
            zones=(REGION,),
            created_time=int(group["created_time"] * 1000),
            disabled=group["disabled"],
            capacity=Capacity.model_validate(group["capacity"]),
            instances=tuple(described),
            load_balancers=tuple(group.get("load_balancers", [])),
            image={"imageId": image_name, "name": image_name, "command": config.get("command")},
            launch_config=config,
            build_info={"env": config.get("env") or {}},
        )

    async def server_group(self, account: Account, region: str, name: str) -> ServerGroup | None:
        """One server group with live health."""
        group = await self.store.server_group(account.name, region, name)
        if group is None:
            return None
        health = await self._balancers_health(account.name) if group.get("load_balancers") else {}
        return await self._describe_group(group, await self.store.owner(), health)

    async def describe(self, account: Account) -> AccountSnapshot:
        """Every server group (with live health), load balancer and artifact of ``account``."""
        owner = await self.store.owner()
        groups = await self.store.account_server_groups(account.name)
        health = await self._balancers_health(account.name)
        described = await asyncio.gather(*(self._describe_group(group, owner, health) for group in groups))
        balancers = [
            LoadBalancer(
                name=balancer["name"],
                account=account.name,
                region=REGION,
                server_groups=tuple(g["name"] for g in groups if balancer["name"] in g.get("load_balancers", [])),
                listeners=({"loadBalancerPort": balancer["port"], "protocol": "HTTP"},),
                dns_name=f"127.0.0.1:{balancer['port']}",
                extra={"port": balancer["port"], "url": f"http://127.0.0.1:{balancer['port']}"},
            )
            for balancer in await self.store.account_load_balancers(account.name)
        ]
        images: dict[str, Image] = {}
        for group in groups:
            config = group["config"]
            name = config.get("imageName")
            if isinstance(name, str) and name not in images:
                tags = config.get("tags") if isinstance(config.get("tags"), dict) else {}
                images[name] = Image(
                    image_id=name,
                    name=name,
                    region=REGION,
                    account=account.name,
                    tags={str(k): str(v) for k, v in (tags or {}).items()},
                    created_time=int(group["created_time"] * 1000),
                    extra={"command": config.get("command")},
                )
        return AccountSnapshot(
            server_groups=tuple(described), load_balancers=tuple(balancers), images=tuple(images.values())
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
        working_dir = description.config.get("workingDir")
        command = fence.command(
            _command(description.config), working_dir=str(working_dir) if working_dir is not None else None
        )
        _argv(command, 0, "check")
        fence.check_env(_variables(description.config))
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
                    "config": description.config,
                    "command": command,
                    "inherit_env": list(fence.inherit_env),
                    "created_time": time.time(),
                }
            },
            upsert=True,
        )
        group = await self._group(account, REGION, description.server_group_name)
        await self._converge(group, progress)
        described = await self.server_group(account, REGION, description.server_group_name)
        assert described is not None
        return described

    async def resize_server_group(self, account: Account, description: ResizeServerGroup, progress: Progress) -> None:
        """Store the new capacity and start or stop instances to match it."""
        group = await self._group(account, description.region, description.server_group_name)
        group["capacity"] = description.capacity.model_dump()
        await self.store.server_groups.update_one({"_id": group["_id"]}, {"$set": {"capacity": group["capacity"]}})
        await self._converge(group, progress)

    async def _rotate(self, group: Json, *, disabled: bool, enabled_count: int | None) -> None:
        instances = await self.store.group_instances(group["_id"])
        count = len(instances) if enabled_count is None else enabled_count
        for index, instance in enumerate(instances):
            await self.store.instances.update_one({"_id": instance["_id"]}, {"$set": {"enabled": index < count}})
        group["disabled"] = disabled
        await self.store.server_groups.update_one({"_id": group["_id"]}, {"$set": {"disabled": disabled}})
        await self._push_group(group)

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
        async with self._lock(self._group_locks, group["_id"]):
            # capacity 0 first: a Clouddriver restarted mid-destroy must not start instances again
            await self.store.server_groups.update_one(
                {"_id": group["_id"]}, {"$set": {"capacity": {"min": 0, "max": 0, "desired": 0}}}
            )
            instances = await self.store.group_instances(group["_id"])
            await progress(f"{group['name']}: stopping {len(instances)} instance(s)")
            await self._stop_instances(group, instances)
            await self.store.server_groups.delete_one({"_id": group["_id"]})
        await self._push_group(group)

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
            async with self._lock(self._group_locks, group_key):
                await self._stop_instances(group, [i for i in instances if i["server_group"] == group_key])
            await self._converge(group, progress)

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
                    "port": int(wanted) if wanted is not None else processes.free_port(),
                    "admin_port": processes.free_port(),
                    "balancer_id": f"lb-{description.name}-{secrets.token_hex(3)}",
                    "pid": None,
                    "created_time": time.time(),
                }
            },
            upsert=True,
        )
        await progress(f"starting load balancer {description.name}")
        await self._push(account.name, description.name)
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
