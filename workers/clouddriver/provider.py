"""THE CONTRACT FOR CLOUD PROVIDERS. Every cloud (``local``, ``aws``…) implements :class:`CloudProvider`.

Clouddriver's core does everything else once, for every provider: it turns Orca's stage contexts
into the typed descriptions of :mod:`workers.clouddriver.descriptions`, journals each operation in
MongoDB (so a redelivered or crashed operation runs once), picks the next Frigga name
(:mod:`workers.clouddriver.names`), waits for instances to be healthy, sends heartbeats, builds
the cluster operations (``disableCluster``, ``scaleDownCluster``, ``shrinkCluster``) and
``cloneServerGroup`` / ``rollbackServerGroup`` from the atomic ones, and caches ``describe``.

What a provider promises:

* **Idempotent operations.** Any operation may run again after a crash or a redelivery, with the
  same description. A create of a name that exists adopts it; destroying what is gone, disabling
  what is disabled, deleting a missing load balancer all succeed and change nothing.
* **Return when done.** An operation returns once the cloud has accepted the change (an enable or
  disable once rotation has changed; a disable once in-flight requests drained). Waiting for
  instances to be healthy is the core's job (it polls :meth:`CloudProvider.server_group`).
* **Errors.** Raise :class:`OperationFailed` for a request that cannot succeed as given (the task
  fails TERMINAL with the message); any other exception is also TERMINAL, logged with its trace.
* **Progress.** Call ``progress("...")`` with a line a person reads whenever something happens;
  the core turns it into ``clouddriver.task.heartbeat`` events (and heartbeats on its own while
  an operation runs, so a provider need not call it on a timer).
* **Recovery.** :meth:`CloudProvider.start` runs before any operation in a fresh process: adopt
  or remove what a previous process left half done (no orphans).

Example (a provider registered for accounts whose ``cloudProvider`` is ``"mycloud"``)::

    class MyCloud(CloudProvider):
        cloud_provider = "mycloud"

        async def describe(self, account: Account) -> AccountSnapshot: ...
        ...

    registry.register(MyCloud(...))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import ClassVar

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
from workers.clouddriver.model import AccountSnapshot, Image, ServerGroup

Progress = Callable[[str], Awaitable[None]]
"""``await progress("started 2 of 3 instances")``: a line for the stage's progress."""

STAGE_DEADLINE: ContextVar[float | None] = ContextVar("clouddriver_stage_deadline", default=None)
"""The ``time.monotonic()`` by which the operation's stage must be done (its ``stageTimeoutMs`` counted
from when the operation started, even when another Clouddriver resumed it), while an operation runs;
``None`` when the stage sets none. A provider whose cloud does not answer may go on retrying until
then instead of for its usual number of attempts."""

ANSWER_MARGIN_SECONDS = 1.0
"""How long before :data:`STAGE_DEADLINE` an operation stops trying (its last try, the cache refresh
after it), so its answer reaches Orca before Orca's own timer fails the stage for want of one."""


async def no_progress(line: str) -> None:
    """A :data:`Progress` that reports nowhere (tests, cache refreshes)."""


class OperationFailed(Exception):
    """An operation cannot succeed as described; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class Account:
    """The account an operation runs under: its name, provider, regions and all its settings.

    ``details`` is the account's ``AccountDetails`` JSON, with any provider-specific keys the
    operator configured (an endpoint URL, a role to assume).
    """

    name: str
    cloud_provider: str
    regions: tuple[str, ...] = ()
    details: Json = field(default_factory=dict)
    settings: Json = field(default_factory=dict)
    """What only the provider sees: a ``local`` account's fence (``settings["local"]``)."""

    @classmethod
    def from_details(cls, details: Json, settings: Json | None = None) -> Account:
        """An :class:`Account` from ``AccountDetails`` JSON (regions as names or ``{"name": ...}``)."""
        regions = tuple(
            region["name"] if isinstance(region, dict) else str(region) for region in details.get("regions") or ()
        )
        provider = str(details.get("cloudProvider") or details.get("type") or "")
        return cls(
            name=str(details["name"]),
            cloud_provider=provider,
            regions=regions,
            details=dict(details),
            settings=dict(settings or {}),
        )


class CloudProvider(ABC):
    """One cloud's implementation of Clouddriver's atomic operations and its view of an account."""

    cloud_provider: ClassVar[str]
    """The ``cloudProvider`` of the accounts this provider serves: ``"local"``, ``"aws"``…"""
    default_region: ClassVar[str | None] = None
    """The region an operation acts in when neither the stage nor the account names one."""
    default_max_capacity: ClassVar[int] = 1000
    """The most instances a server group may ask for in an account that sets no ``maxCapacity``."""

    async def start(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Recover after a restart (adopt or remove what an earlier process left); before any operation."""

    async def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release connections and clients. Resources in the cloud (instances, load balancers) keep running."""

    @abstractmethod
    async def describe(self, account: Account) -> AccountSnapshot:
        """Every server group, load balancer and image in ``account``, as they are now."""

    async def server_group(self, account: Account, region: str, name: str) -> ServerGroup | None:
        """One server group as it is now (the core polls this while waiting); default: from :meth:`describe`."""
        return (await self.describe(account)).server_group(region, name)

    async def find_images(self, account: Account, query: str | None, tags: dict[str, str]) -> list[Image]:
        """Images whose name contains ``query`` (any when ``None``) and that carry every tag in ``tags``."""
        images = (await self.describe(account)).images
        return [
            image
            for image in images
            if (query is None or query.lower() in image.name.lower())
            and all(image.tags.get(key) == value for key, value in tags.items())
        ]

    @abstractmethod
    async def create_server_group(
        self, account: Account, description: CreateServerGroup, progress: Progress
    ) -> ServerGroup:
        """Create (or adopt, if it exists) the server group; return it as it is now (instances may be starting)."""

    @abstractmethod
    async def resize_server_group(self, account: Account, description: ResizeServerGroup, progress: Progress) -> None:
        """Set the capacity; start or stop instances to match ``desired``."""

    @abstractmethod
    async def enable_server_group(self, account: Account, description: EnableServerGroup, progress: Progress) -> None:
        """Put the server group into its load balancers' rotation (mark it enabled)."""

    @abstractmethod
    async def disable_server_group(self, account: Account, description: DisableServerGroup, progress: Progress) -> None:
        """Take the server group out of rotation (mark it disabled); return once in-flight requests drained."""

    @abstractmethod
    async def destroy_server_group(self, account: Account, description: DestroyServerGroup, progress: Progress) -> None:
        """Stop every instance and remove the server group; a missing one is already destroyed."""

    @abstractmethod
    async def terminate_instances(self, account: Account, description: TerminateInstances, progress: Progress) -> None:
        """Terminate these instances; their server group replaces them if it is below ``desired``."""

    @abstractmethod
    async def upsert_load_balancer(self, account: Account, description: UpsertLoadBalancer, progress: Progress) -> Json:
        """Create or update the load balancer; return Spinnaker's result (``{"loadBalancers": {region: {...}}}``)."""

    @abstractmethod
    async def delete_load_balancer(self, account: Account, description: DeleteLoadBalancer, progress: Progress) -> None:
        """Delete the load balancer; a missing one is already deleted."""


class ProviderRegistry:
    """The provider for each ``cloudProvider``; :mod:`workers.clouddriver.worker` fills it."""

    def __init__(self) -> None:
        self._providers: dict[str, CloudProvider] = {}

    def register(self, provider: CloudProvider) -> None:
        """Serve accounts of ``provider.cloud_provider`` with ``provider`` (one per type)."""
        if provider.cloud_provider in self._providers:
            raise ValueError(f"a provider for {provider.cloud_provider!r} is registered already")
        self._providers[provider.cloud_provider] = provider

    def get(self, cloud_provider: str) -> CloudProvider:
        """The provider for ``cloud_provider``; :class:`OperationFailed` naming the known ones if none."""
        try:
            return self._providers[cloud_provider]
        except KeyError:
            known = ", ".join(sorted(self._providers)) or "none"
            raise OperationFailed(
                f"no provider serves cloudProvider {cloud_provider!r} (registered: {known})"
            ) from None

    def all(self) -> list[CloudProvider]:
        """Every registered provider."""
        return list(self._providers.values())
