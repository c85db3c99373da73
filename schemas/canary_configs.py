"""Front50's messages for Kayenta's canary configs: save, delete, list and get.

The payload is Kayenta's ``CanaryConfig`` JSON as given (``name``, ``applications``, ``judge``,
``metrics[]``, ``templates``, ``classifier``…). Front50 validates it as Kayenta's config
controller does and answers each command with one event (``front50.canaryConfig.saved`` /
``.deleted``, or ``front50.command.rejected`` naming the field), so the gateway answers Gate's
``/v2/canaryConfig`` writes synchronously as it answers pipeline saves.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority
from schemas.base import Command, Event, Query, Reply
from schemas.json_types import Json
from schemas.registry import message


@message
class SaveCanaryConfig(Command):
    """Create (``create``, Kayenta's POST: the id must be new) or replace (PUT: it must exist) a canary config."""

    message_type: ClassVar[str] = "front50.SaveCanaryConfig"
    canary_config: Json
    config_id: str | None = Field(default=None, max_length=256, description="The id of a PUT; none for a POST")
    create: bool = True
    authority: Authority = Field(description=ACTS_FOR)


@message
class DeleteCanaryConfig(Command):
    """Delete a canary config by id."""

    message_type: ClassVar[str] = "front50.DeleteCanaryConfig"
    config_id: str = Field(min_length=1, max_length=256)
    authority: Authority = Field(description=ACTS_FOR)


@message
class CanaryConfigSaved(Event):
    """A canary config was stored; ``canary_config`` is it as stored (with ``id`` and timestamps)."""

    message_type: ClassVar[str] = "front50.canaryConfig.saved"
    canary_config: Json


@message
class CanaryConfigDeleted(Event):
    """A canary config was deleted."""

    message_type: ClassVar[str] = "front50.canaryConfig.deleted"
    config_id: str
    applications: list[str] = []


@message
class CanaryConfigList(Reply):
    """Canary configs, whole (the gateway makes Kayenta's summaries of them)."""

    message_type: ClassVar[str] = "front50.CanaryConfigList"
    canary_configs: list[Json]


@message
class ListCanaryConfigs(Query):
    """Every canary config, or those listing ``application``."""

    message_type: ClassVar[str] = "front50.ListCanaryConfigs"
    reply_model: ClassVar[type[Reply]] = CanaryConfigList
    application: str | None = Field(default=None, max_length=256)


@message
class CanaryConfigFound(Reply):
    """One canary config, or ``None``."""

    message_type: ClassVar[str] = "front50.CanaryConfigFound"
    canary_config: Json | None


@message
class GetCanaryConfig(Query):
    """One canary config by id."""

    message_type: ClassVar[str] = "front50.GetCanaryConfig"
    reply_model: ClassVar[type[Reply]] = CanaryConfigFound
    config_id: str = Field(min_length=1, max_length=256)
