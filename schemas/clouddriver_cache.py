"""Queries on Clouddriver's cache of every account's resources (server groups, load balancers, images,
server group managers).

Gate's read endpoints (``/applications/{app}/serverGroups``, ``/applications/{app}/clusters``,
``/instances/{account}/{region}/{id}``, ``/images/find``…) ask these. Clouddriver answers from the
cache in MongoDB, never from the cloud; resources are Clouddriver's JSON, each naming its
``account``. Each query carries the ``authority`` it asks for: Clouddriver answers only resources
of accounts (and applications) it may READ, and a server group's ``env`` only where it may WRITE
the account; the gateway filters the same way first.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.authority import ACTS_FOR, Authority, upcast_user_to_authority
from schemas.base import Query, Reply
from schemas.json_types import Json
from schemas.registry import message, registry


@message
class CachedResources(Reply):
    """Resources from the cache, in Clouddriver's JSON."""

    message_type: ClassVar[str] = "clouddriver.CachedResources"
    resources: list[Json]


NAME_LIMIT = 256
"""The longest account, cluster, region or provider name a cache query takes."""
MAX_ACCOUNTS = 1000
MAX_CLUSTERS = 200
MAX_IDS = 100

ONLY_ACCOUNTS = "only these accounts (the gateway's own check); Clouddriver still judges the authority"

Name = Annotated[str, Field(min_length=1, max_length=NAME_LIMIT)]


class ClusterName(BaseModel):
    """One cluster of one account, as Gate's ``clusters=account:cluster`` filter names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    account: Name
    cluster: Name


@message
class ListServerGroups(Query):
    """Every server group of ``application`` (with its instances), in every account and region,
    narrowed by any of the other fields.

    ``expand`` false answers Clouddriver's summaries (``expand=false``), true the whole JSON with
    the cluster's coordinates (``accountName``, ``stack``, ``freeFormDetail``). ``accounts``, when
    given, keeps only those accounts: the gateway sends what the caller may READ, so its own check
    holds without it reading the answer; Clouddriver still checks ``authority`` itself.
    """

    message_type: ClassVar[str] = "clouddriver.ListServerGroups"
    message_version: ClassVar[int] = 3
    reply_model: ClassVar[type[Reply]] = CachedResources
    application: str = Field(min_length=1)
    account: str | None = None
    cluster: str | None = None
    region: str | None = None
    name: str | None = None
    expand: bool = True
    cloud_provider: Name | None = Field(None, description="only this provider's (any case)")
    clusters: tuple[ClusterName, ...] | None = Field(
        None, max_length=MAX_CLUSTERS, description="only these clusters; none at all when empty"
    )
    accounts: tuple[Name, ...] | None = Field(None, max_length=MAX_ACCOUNTS)
    authority: Authority = Field(description=ACTS_FOR)


class ServerGroupId(BaseModel):
    """A server group by place, as Gate's ``ids=account:region:name`` names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    account: Name
    region: Name
    name: str = Field(min_length=1, max_length=2 * NAME_LIMIT)


@message
class FindServerGroups(Query):
    """Server groups by id, as summaries (Gate's ``/serverGroups?ids=``): each one only where
    ``authority`` may READ its account and its application (and the account is in ``accounts``,
    when given); ids the cache does not hold are left out."""

    message_type: ClassVar[str] = "clouddriver.FindServerGroups"
    reply_model: ClassVar[type[Reply]] = CachedResources
    ids: tuple[ServerGroupId, ...] = Field(min_length=1, max_length=MAX_IDS)
    cloud_provider: Name | None = None
    accounts: tuple[Name, ...] | None = Field(None, max_length=MAX_ACCOUNTS)
    authority: Authority = Field(description=ACTS_FOR)


@message
class ClusterNames(Reply):
    """An application's cluster names by account, each list sorted."""

    message_type: ClassVar[str] = "clouddriver.ClusterNames"
    clusters: dict[str, list[str]]


@message
class ListClusters(Query):
    """The names of ``application``'s clusters by account (Gate's ``/applications/{app}/clusters``), in
    accounts ``authority`` may READ and, when given, in ``accounts`` (the gateway's own check)."""

    message_type: ClassVar[str] = "clouddriver.ListClusters"
    reply_model: ClassVar[type[Reply]] = ClusterNames
    application: str = Field(min_length=1)
    accounts: tuple[Name, ...] | None = Field(None, max_length=MAX_ACCOUNTS)
    authority: Authority = Field(description=ACTS_FOR)


@message
class ListLoadBalancers(Query):
    """Every load balancer of ``application``, each with its server groups and their instances."""

    message_type: ClassVar[str] = "clouddriver.ListLoadBalancers"
    message_version: ClassVar[int] = 3
    reply_model: ClassVar[type[Reply]] = CachedResources
    application: str = Field(min_length=1)
    accounts: tuple[Name, ...] | None = Field(None, max_length=MAX_ACCOUNTS, description=ONLY_ACCOUNTS)
    authority: Authority = Field(description=ACTS_FOR)


@message
class ListServerGroupManagers(Query):
    """Every server group manager of ``application`` (Gate's ``/applications/{app}/serverGroupManagers``:
    Kubernetes Deployments), each with the summaries of the server groups it manages (its ReplicaSets)."""

    message_type: ClassVar[str] = "clouddriver.ListServerGroupManagers"
    reply_model: ClassVar[type[Reply]] = CachedResources
    application: str = Field(min_length=1)
    accounts: tuple[Name, ...] | None = Field(None, max_length=MAX_ACCOUNTS, description=ONLY_ACCOUNTS)
    authority: Authority = Field(description=ACTS_FOR)


@message
class GetInstance(Query):
    """One instance by id (a list of zero or one instance JSON)."""

    message_type: ClassVar[str] = "clouddriver.GetInstance"
    message_version: ClassVar[int] = 2
    reply_model: ClassVar[type[Reply]] = CachedResources
    account: str = Field(min_length=1)
    region: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class GetConsoleOutput(Query):
    """What an instance printed (Gate's ``/instances/{account}/{region}/{id}/console``): for a
    Kubernetes pod, each container's log, as ``[{"name": container, "output": text}]``; none when
    the caller may not READ the account and the pod's application, or the pod is gone."""

    message_type: ClassVar[str] = "clouddriver.GetConsoleOutput"
    reply_model: ClassVar[type[Reply]] = CachedResources
    account: str = Field(min_length=1)
    region: str = Field(min_length=1)
    instance_id: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class ManifestFound(Reply):
    """One live manifest as Clouddriver's manifest container (``manifest``), or why there is none.

    ``missing`` says what does not exist (the account, the kind, the object), for a 404; ``refused``
    that ``authority`` may not READ the account or the manifest's ``application`` (``None`` when
    none is recorded: then only an admin may), for a 403.
    """

    message_type: ClassVar[str] = "clouddriver.ManifestFound"
    manifest: Json | None = None
    application: str | None = None
    missing: str | None = None
    refused: str | None = None


@message
class GetManifest(Query):
    """A Kubernetes object read live from its cluster (Gate's ``/manifests/{account}/{location}/{name}``):
    ``name`` is ``"{kind} {name}"`` (``deployment web``), ``location`` its namespace. Answered for
    an ``authority`` that may READ the account and the object's application (its moniker's, else its
    owner's); the object's Events only when ``include_events``."""

    message_type: ClassVar[str] = "clouddriver.GetManifest"
    reply_model: ClassVar[type[Reply]] = ManifestFound
    account: Name
    location: Name
    name: str = Field(min_length=1, max_length=2 * NAME_LIMIT)
    include_events: bool = True
    authority: Authority = Field(description=ACTS_FOR)


@message
class FindImages(Query):
    """Images like Clouddriver's ``/images/find``: name containing ``q``, carrying every tag in ``tags``."""

    message_type: ClassVar[str] = "clouddriver.FindImages"
    message_version: ClassVar[int] = 3
    reply_model: ClassVar[type[Reply]] = CachedResources
    provider: str | None = None
    q: str | None = None
    region: str | None = None
    account: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    count: int | None = Field(None, ge=1)
    accounts: tuple[Name, ...] | None = Field(None, max_length=MAX_ACCOUNTS, description=ONLY_ACCOUNTS)
    authority: Authority = Field(description=ACTS_FOR)


@message
class RefreshCache(Query):
    """Refresh the cache of ``account`` (every account when ``None``) now; answered once stored."""

    message_type: ClassVar[str] = "clouddriver.RefreshCache"
    reply_model: ClassVar[type[Reply]] = CachedResources
    account: str | None = None


for _model in (ListServerGroups, ListLoadBalancers, GetInstance, FindImages):
    registry.upcaster(_model.message_type, 1)(upcast_user_to_authority)


@registry.upcaster(ListLoadBalancers.message_type, 2)
@registry.upcaster(FindImages.message_type, 2)
def _every_readable_account(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 had no ``accounts``: every account the authority may READ, the default."""
    return dict(data)


@registry.upcaster(ListServerGroups.message_type, 2)
def _whole_server_groups(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 knew only the whole JSON, in every account the authority may READ: the defaults."""
    return dict(data)
