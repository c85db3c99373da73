"""Queries on Clouddriver's cache of every account's resources (server groups, load balancers, images).

Gate's read endpoints (``/applications/{app}/serverGroups``, ``/applications/{app}/clusters``,
``/instances/{account}/{region}/{id}``, ``/images/find``…) ask these. Clouddriver answers from the
cache in MongoDB, never from the cloud; resources are Clouddriver's JSON, each naming its
``account``. Each query carries the ``authority`` it asks for: Clouddriver answers only resources
of accounts (and applications) it may READ, and a server group's ``env`` only where it may WRITE
the account; the gateway filters the same way first.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority, upcast_user_to_authority
from schemas.base import Query, Reply
from schemas.json_types import Json
from schemas.registry import message, registry


@message
class CachedResources(Reply):
    """Resources from the cache, in Clouddriver's JSON."""

    message_type: ClassVar[str] = "clouddriver.CachedResources"
    resources: list[Json]


@message
class ListServerGroups(Query):
    """Every server group of ``application`` (with its instances), in every account and region."""

    message_type: ClassVar[str] = "clouddriver.ListServerGroups"
    message_version: ClassVar[int] = 2
    reply_model: ClassVar[type[Reply]] = CachedResources
    application: str = Field(min_length=1)
    account: str | None = None
    cluster: str | None = None
    region: str | None = None
    name: str | None = None
    authority: Authority = Field(description=ACTS_FOR)


@message
class ListLoadBalancers(Query):
    """Every load balancer of ``application``, each with its server groups and their instances."""

    message_type: ClassVar[str] = "clouddriver.ListLoadBalancers"
    message_version: ClassVar[int] = 2
    reply_model: ClassVar[type[Reply]] = CachedResources
    application: str = Field(min_length=1)
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
class FindImages(Query):
    """Images like Clouddriver's ``/images/find``: name containing ``q``, carrying every tag in ``tags``."""

    message_type: ClassVar[str] = "clouddriver.FindImages"
    message_version: ClassVar[int] = 2
    reply_model: ClassVar[type[Reply]] = CachedResources
    provider: str | None = None
    q: str | None = None
    region: str | None = None
    account: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    count: int | None = Field(None, ge=1)
    authority: Authority = Field(description=ACTS_FOR)


@message
class RefreshCache(Query):
    """Refresh the cache of ``account`` (every account when ``None``) now; answered once stored."""

    message_type: ClassVar[str] = "clouddriver.RefreshCache"
    reply_model: ClassVar[type[Reply]] = CachedResources
    account: str | None = None


for _model in (ListServerGroups, ListLoadBalancers, GetInstance, FindImages):
    registry.upcaster(_model.message_type, 1)(upcast_user_to_authority)
