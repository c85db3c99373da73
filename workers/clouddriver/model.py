"""The resources a provider reports, in Spinnaker's model: server groups, instances, load balancers, images
and server group managers.

A provider's :meth:`~workers.clouddriver.provider.CloudProvider.describe` returns an
:class:`AccountSnapshot` of these; the cache stores their :meth:`to_json` (Clouddriver's JSON
shapes, as Gate serves them) and strategies read them. Fields a provider has beyond these go in
``extra`` and are merged into the JSON as they are (``launchTemplate``, ``asg``, ``vpcId``…).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.json_types import Json
from workers.clouddriver import names


def epoch_millis(stamp: object) -> int:
    """An RFC 3339 / ISO 8601 time as cloud APIs write it (``2026-12-03T17:00:00Z``, ``….000Z``) in epoch
    milliseconds, for ``created_time``; 0 when absent or unreadable."""
    if not isinstance(stamp, str) or not stamp:
        return 0
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


HealthState = Literal["Up", "Down", "Starting", "OutOfService", "Unknown", "Draining"]
"""Spinnaker's ``HealthState`` values an instance may be in."""


class Capacity(BaseModel):
    """A server group's instance counts (``min`` <= ``desired`` <= ``max``)."""

    model_config = ConfigDict(frozen=True)

    min: int = Field(0, ge=0)
    max: int = Field(0, ge=0)
    desired: int = Field(0, ge=0)

    def checked(self) -> Capacity:
        """``self`` when consistent; a :class:`ValueError` naming the field otherwise."""
        if not self.min <= self.desired <= self.max:
            raise ValueError(f"capacity needs min <= desired <= max, got {self.model_dump()}")
        return self


class Instance(BaseModel):
    """One instance (a process, a VM) of a server group and what its health checks say."""

    model_config = ConfigDict(frozen=True)

    id: str
    zone: str
    health_state: HealthState = "Unknown"
    health_type: str = "Health"
    launch_time: int = 0
    """Epoch milliseconds."""
    extra: Json = Field(default_factory=dict)

    def to_json(self, *, provider: str) -> Json:
        """Clouddriver's instance JSON."""
        return {
            "name": self.id,
            "instanceId": self.id,
            "id": self.id,
            "cloudProvider": provider,
            "providerType": provider,
            "zone": self.zone,
            "availabilityZone": self.zone,
            "launchTime": self.launch_time,
            "healthState": self.health_state,
            "isHealthy": self.health_state == "Up",
            "health": [{"type": self.health_type, "state": self.health_state}],
            **self.extra,
        }


class ServerGroup(BaseModel):
    """One server group: its Frigga name, where it runs, its capacity and its instances."""

    model_config = ConfigDict(frozen=True)

    name: str
    account: str
    region: str
    zones: tuple[str, ...] = ()
    created_time: int = 0
    """Epoch milliseconds."""
    disabled: bool = False
    capacity: Capacity = Capacity()
    instances: tuple[Instance, ...] = ()
    load_balancers: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    image: Json = Field(default_factory=dict)
    """The image or artifact the instances run (``imageId``/``name`` or, locally, the command)."""
    launch_config: Json = Field(default_factory=dict)
    build_info: Json = Field(default_factory=dict)
    extra: Json = Field(default_factory=dict)
    moniker: Json | None = None
    """Spinnaker's moniker (``app``, ``cluster``, ``stack``, ``detail``, ``sequence``) where the cloud
    records one (Kubernetes' ``moniker.spinnaker.io/*`` annotations); else the name's Frigga parts."""

    @property
    def cluster(self) -> str:
        """The cluster this server group belongs to."""
        return str(_moniker(self.name, self.moniker)["cluster"])

    @property
    def application(self) -> str:
        """The application named by the server group."""
        return str(_moniker(self.name, self.moniker)["app"])

    @property
    def resolved_moniker(self) -> Json:
        """The moniker its JSON shows: the recorded one, else its name's Frigga parts."""
        return _moniker(self.name, self.moniker)

    def healthy_count(self) -> int:
        """How many instances report ``Up``."""
        return sum(1 for instance in self.instances if instance.health_state == "Up")

    def to_json(self, *, provider: str) -> Json:
        """Clouddriver's server group JSON, as ``/applications/{app}/serverGroups/...`` returns it."""
        moniker = _moniker(self.name, self.moniker)
        states = [instance.health_state for instance in self.instances]
        return {
            "name": self.name,
            "type": provider,
            "cloudProvider": provider,
            "account": self.account,
            "region": self.region,
            "cluster": moniker["cluster"],
            "application": moniker["app"],
            "moniker": moniker,
            "zones": list(self.zones),
            "createdTime": self.created_time,
            "isDisabled": self.disabled,
            "disabled": self.disabled,
            "capacity": self.capacity.model_dump(),
            "instances": [instance.to_json(provider=provider) for instance in self.instances],
            "instanceCounts": {
                "total": len(states),
                "up": states.count("Up"),
                "down": states.count("Down"),
                "unknown": states.count("Unknown"),
                "outOfService": states.count("OutOfService"),
                "starting": states.count("Starting"),
            },
            "loadBalancers": list(self.load_balancers),
            "targetGroups": list(self.target_groups),
            "securityGroups": list(self.security_groups),
            "image": self.image,
            "launchConfig": self.launch_config,
            "buildInfo": self.build_info,
            **self.extra,
        }


class LoadBalancer(BaseModel):
    """One load balancer and the server groups behind it (names only; the cache joins the rest)."""

    model_config = ConfigDict(frozen=True)

    name: str
    account: str
    region: str
    server_groups: tuple[str, ...] = ()
    listeners: tuple[Json, ...] = ()
    dns_name: str | None = None
    extra: Json = Field(default_factory=dict)
    moniker: Json | None = None
    """As :attr:`ServerGroup.moniker`."""

    def to_json(self, *, provider: str) -> Json:
        """Clouddriver's load balancer JSON (``serverGroups`` holds names; the cache expands them)."""
        moniker = _moniker(self.name, self.moniker)
        return {
            "name": self.name,
            "type": provider,
            "cloudProvider": provider,
            "account": self.account,
            "region": self.region,
            "application": moniker["app"],
            "moniker": moniker,
            "dnsname": self.dns_name,
            "listeners": list(self.listeners),
            "serverGroups": [{"name": name} for name in self.server_groups],
            **self.extra,
        }


class ServerGroupManager(BaseModel):
    """What manages a cluster's server groups (a Kubernetes Deployment over its ReplicaSets), with the
    names of those it manages (the cache joins their summaries)."""

    model_config = ConfigDict(frozen=True)

    name: str
    account: str
    region: str
    server_groups: tuple[str, ...] = ()
    created_time: int = 0
    """Epoch milliseconds."""
    extra: Json = Field(default_factory=dict)
    moniker: Json | None = None
    """As :attr:`ServerGroup.moniker`."""

    @property
    def application(self) -> str:
        """The application named by the manager."""
        return str(_moniker(self.name, self.moniker)["app"])

    @property
    def cluster(self) -> str:
        """The cluster whose server groups it manages."""
        return str(_moniker(self.name, self.moniker)["cluster"])

    def to_json(self, *, provider: str) -> Json:
        """Clouddriver's server group manager JSON (``serverGroups`` holds names; the cache expands them)."""
        return {
            "name": self.name,
            "account": self.account,
            "region": self.region,
            "cloudProvider": provider,
            "moniker": _moniker(self.name, self.moniker),
            "createdTime": self.created_time,
            "serverGroups": [{"name": name} for name in self.server_groups],
            **self.extra,
        }


class Image(BaseModel):
    """A deployable image (an AMI, a local artifact) with its tags, as ``/images/find`` lists it."""

    model_config = ConfigDict(frozen=True)

    image_id: str
    name: str
    region: str
    account: str
    tags: dict[str, str] = Field(default_factory=dict)
    created_time: int = 0
    extra: Json = Field(default_factory=dict)

    def to_json(self, *, provider: str) -> Json:
        """Clouddriver's ``/images/find`` JSON: ``imageName``, ``amis`` by region, ``tags``…"""
        return {
            "imageName": self.name,
            "imageId": self.image_id,
            "cloudProvider": provider,
            "account": self.account,
            "region": self.region,
            "amis": {self.region: [self.image_id]},
            "attributes": {"creationDate": self.created_time},
            "tags": dict(self.tags),
            "tagsByImageId": {self.image_id: dict(self.tags)},
            **self.extra,
        }


class AccountSnapshot(BaseModel):
    """Everything a provider sees in one account at one moment."""

    model_config = ConfigDict(frozen=True)

    server_groups: tuple[ServerGroup, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()
    images: tuple[Image, ...] = ()
    server_group_managers: tuple[ServerGroupManager, ...] = ()

    def server_group(self, region: str, name: str) -> ServerGroup | None:
        """The server group called ``name`` in ``region``, or ``None``."""
        for group in self.server_groups:
            if group.name == name and group.region == region:
                return group
        return None

    def cluster(self, cluster: str, region: str | None = None) -> list[ServerGroup]:
        """The server groups of ``cluster`` (in ``region`` if given), oldest first."""
        members = [
            group
            for group in self.server_groups
            if group.cluster == cluster and (region is None or group.region == region)
        ]
        return sorted(members, key=lambda group: (group.created_time, group.name))


def _moniker(name: str, recorded: Json | None) -> Json:
    """``recorded`` if it names an ``app`` (``cluster`` defaulting to the name); else ``name``'s Frigga parts."""
    if recorded and recorded.get("app"):
        return {**recorded, "cluster": recorded.get("cluster") or name}
    return names.parse(name).moniker()
