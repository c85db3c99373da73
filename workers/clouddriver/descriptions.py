"""The atomic operations a provider carries out, each a typed description in Spinnaker's vocabulary.

Clouddriver turns an Orca stage context (``createServerGroup``, ``resizeServerGroup``…) into one of
these (see :mod:`workers.clouddriver.stage_context`) and hands it to the account's provider.
Provider-specific keys of a stage (``instanceType``, ``keyPair``; for ``local``: ``command``,
``env``…) stay in :attr:`CreateServerGroup.config`, the stage's cluster config as given.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.json_types import Json
from workers.clouddriver.model import Capacity


class Description(BaseModel):
    """Common to every operation: the account and region it acts in."""

    model_config = ConfigDict(frozen=True)

    account: str = Field(min_length=1)
    region: str = Field(min_length=1)


class ServerGroupTarget(Description):
    """An operation on one named server group."""

    server_group_name: str = Field(min_length=1)


class CreateServerGroup(Description):
    """Create server group ``server_group_name`` (chosen by Clouddriver: the cluster's next sequence).

    A provider must treat a second create of the same name as the same operation: adopt the server
    group that already exists and bring it to ``capacity`` (a redelivered or resumed create).
    """

    application: str = Field(min_length=1)
    stack: str | None = None
    free_form_details: str | None = None
    server_group_name: str = Field(min_length=1)
    zones: tuple[str, ...] = ()
    capacity: Capacity = Capacity(min=1, max=1, desired=1)
    load_balancers: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    image: str | None = None
    """The image to run (``amiName`` / ``imageId``); ``None`` when the artifact is in ``config``."""
    disabled: bool = False
    """Create it out of its load balancers' rotation (Spinnaker's ``startDisabled``)."""
    config: Json = Field(default_factory=dict)
    """The stage's cluster config as given, for provider-specific keys."""
    client_token: str | None = Field(default=None, max_length=64)
    """For cloud APIs that take an idempotency token (AWS ``ClientToken``): derived from the journalled
    operation, the same when a resumed or redelivered create makes its calls again."""


class ResizeServerGroup(ServerGroupTarget):
    """Set a server group's capacity; instances beyond ``desired`` stop, missing ones start."""

    capacity: Capacity


class EnableServerGroup(ServerGroupTarget):
    """Put a server group's instances into its load balancers' rotation.

    ``desired_percentage`` (rolling red/black) enables only that share of its instances.
    """

    desired_percentage: int = Field(100, ge=0, le=100)


class DisableServerGroup(ServerGroupTarget):
    """Take a server group out of rotation; returns once requests in flight to it have drained.

    ``desired_percentage`` (rolling red/black) disables only that share of its instances.
    """

    desired_percentage: int = Field(100, ge=0, le=100)


class DestroyServerGroup(ServerGroupTarget):
    """Stop every instance of a server group and forget it (taking it out of rotation first)."""


class TerminateInstances(Description):
    """Terminate instances by id; the owning server group replaces them if below its desired capacity."""

    instance_ids: tuple[str, ...] = Field(min_length=1)
    server_group_name: str | None = None


class UpsertLoadBalancer(Description):
    """Create a load balancer, or change the listeners of the one with that name.

    ``config`` is the stage's load balancer description (``listeners``, ``healthCheck``; for
    ``local``: ``port``).
    """

    name: str = Field(min_length=1)
    listeners: tuple[Json, ...] = ()
    config: Json = Field(default_factory=dict)


class DeleteLoadBalancer(Description):
    """Delete a load balancer (its server groups keep running)."""

    name: str = Field(min_length=1)
