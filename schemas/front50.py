"""Front50's messages: the commands that change applications, pipeline configs and projects, the
events stating each change, and the queries behind every read.

Payloads carry Spinnaker's JSON as given (``dict``): Front50 validates and stores it as it is, so a
pipeline exported from Spinnaker keeps every field. Each command is answered by exactly one event
whose ``causationid`` is the command's id: a ``front50.*.saved`` / ``*.deleted`` event on success,
or :class:`CommandRejected` naming the field and an HTTP-like status on failure. The gateway waits
for that event to answer a write synchronously, as Gate does.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from schemas.authority import ACTS_FOR, Authority, upcast_user_to_authority
from schemas.base import Command, Event, Query, Reply
from schemas.json_types import Json
from schemas.registry import message, registry

# --- commands -------------------------------------------------------------------------------


@message
class SaveApplication(Command):
    """Create or update an application (Spinnaker's upsert); ``application["name"]`` names it."""

    message_type: ClassVar[str] = "front50.SaveApplication"
    message_version: ClassVar[int] = 2
    application: Json
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class DeleteApplication(Command):
    """Delete an application and its pipeline configs."""

    message_type: ClassVar[str] = "front50.DeleteApplication"
    message_version: ClassVar[int] = 2
    name: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class SavePipeline(Command):
    """Create or replace a pipeline config; the prior version goes to its history.

    ``expected_update_ts`` is the ``updateTs`` the client read; when it is set and no longer the
    stored one, the save is rejected with status 409 instead of overwriting another editor.
    """

    message_type: ClassVar[str] = "front50.SavePipeline"
    message_version: ClassVar[int] = 2
    pipeline: Json
    authority: Authority = Field(description=ACTS_FOR)
    expected_update_ts: str | None = None
    task_id: str | None = None


@message
class DeletePipeline(Command):
    """Delete the pipeline config ``name`` of ``application``."""

    message_type: ClassVar[str] = "front50.DeletePipeline"
    message_version: ClassVar[int] = 2
    application: str = Field(min_length=1)
    name: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class RenamePipeline(Command):
    """Rename a pipeline config (Gate's ``POST /pipelines/move``); its id and history stay."""

    message_type: ClassVar[str] = "front50.RenamePipeline"
    message_version: ClassVar[int] = 2
    application: str = Field(min_length=1)
    from_name: str = Field(min_length=1)
    to_name: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class ReorderPipelines(Command):
    """Set the ``index`` of an application's pipeline configs, by pipeline id."""

    message_type: ClassVar[str] = "front50.ReorderPipelines"
    message_version: ClassVar[int] = 2
    application: str = Field(min_length=1)
    ids_to_indices: dict[str, int]
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class SaveProject(Command):
    """Create or update a project (a named group of applications and clusters)."""

    message_type: ClassVar[str] = "front50.SaveProject"
    message_version: ClassVar[int] = 2
    project: Json
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


# --- events ---------------------------------------------------------------------------------


@message
class ApplicationSaved(Event):
    """An application was created or updated; ``application`` is what is now stored."""

    message_type: ClassVar[str] = "front50.application.saved"
    application: Json
    created: bool


@message
class ApplicationDeleted(Event):
    """An application (and its pipeline configs) was deleted."""

    message_type: ClassVar[str] = "front50.application.deleted"
    name: str


@message
class PipelineSaved(Event):
    """A pipeline config was saved (created, updated, renamed); ``pipeline`` is what is stored."""

    message_type: ClassVar[str] = "front50.pipeline.saved"
    pipeline: Json
    created: bool


@message
class PipelineDeleted(Event):
    """A pipeline config was deleted."""

    message_type: ClassVar[str] = "front50.pipeline.deleted"
    application: str
    name: str
    id: str


@message
class PipelinesReordered(Event):
    """The pipeline configs of an application were given new indices."""

    message_type: ClassVar[str] = "front50.pipelines.reordered"
    application: str
    ids_to_indices: dict[str, int]


@message
class ProjectSaved(Event):
    """A project was created or updated."""

    message_type: ClassVar[str] = "front50.project.saved"
    project: Json


@message
class CommandRejected(Event):
    """A Front50 command was refused and changed nothing; ``field`` names the offending input.

    ``status`` follows HTTP: 400 bad input, 403 the command's authority may not do it, 404 missing
    application or pipeline, 409 stale write.
    """

    message_type: ClassVar[str] = "front50.command.rejected"
    command_type: str
    status: Literal[400, 403, 404, 409]
    reason: str
    field: str | None = None
    task_id: str | None = None


# --- queries --------------------------------------------------------------------------------


@message
class ApplicationList(Reply):
    """Applications, as Front50 stores them."""

    message_type: ClassVar[str] = "front50.ApplicationList"
    applications: list[Json]


@message
class ListApplications(Query):
    """Every application (the gateway filters what the caller may READ)."""

    message_type: ClassVar[str] = "front50.ListApplications"
    reply_model: ClassVar[type[Reply]] = ApplicationList


@message
class ApplicationFound(Reply):
    """One application, or ``None`` when there is none by that name."""

    message_type: ClassVar[str] = "front50.ApplicationFound"
    application: Json | None


@message
class GetApplication(Query):
    """One application by name (case-insensitive)."""

    message_type: ClassVar[str] = "front50.GetApplication"
    reply_model: ClassVar[type[Reply]] = ApplicationFound
    name: str = Field(min_length=1)


@message
class History(Reply):
    """Prior versions of an application or pipeline config, newest first."""

    message_type: ClassVar[str] = "front50.History"
    versions: list[Json]


@message
class GetApplicationHistory(Query):
    """Prior versions of an application."""

    message_type: ClassVar[str] = "front50.GetApplicationHistory"
    reply_model: ClassVar[type[Reply]] = History
    name: str = Field(min_length=1)
    limit: int = Field(20, ge=1, le=1000)


@message
class PipelineList(Reply):
    """Pipeline configs, sorted by ``index`` then name."""

    message_type: ClassVar[str] = "front50.PipelineList"
    pipelines: list[Json]


@message
class ListPipelineConfigs(Query):
    """The pipeline configs of one application, or of all when ``application`` is None."""

    message_type: ClassVar[str] = "front50.ListPipelineConfigs"
    reply_model: ClassVar[type[Reply]] = PipelineList
    application: str | None = None


@message
class PipelineFound(Reply):
    """One pipeline config, or ``None``."""

    message_type: ClassVar[str] = "front50.PipelineFound"
    pipeline: Json | None


@message
class GetPipelineConfig(Query):
    """One pipeline config by application and name (or by id when ``id`` is set)."""

    message_type: ClassVar[str] = "front50.GetPipelineConfig"
    reply_model: ClassVar[type[Reply]] = PipelineFound
    application: str | None = None
    name: str | None = None
    id: str | None = None


@message
class GetPipelineHistory(Query):
    """Prior versions of a pipeline config by id, newest first (the current one included first)."""

    message_type: ClassVar[str] = "front50.GetPipelineHistory"
    reply_model: ClassVar[type[Reply]] = History
    id: str = Field(min_length=1)
    limit: int = Field(20, ge=1, le=1000)


@message
class ProjectFound(Reply):
    """One project, or ``None``."""

    message_type: ClassVar[str] = "front50.ProjectFound"
    project: Json | None


@message
class GetProject(Query):
    """One project by id or name."""

    message_type: ClassVar[str] = "front50.GetProject"
    reply_model: ClassVar[type[Reply]] = ProjectFound
    id_or_name: str = Field(min_length=1)


# --- projects, strategies, notifications, service accounts ----------------------------------
# Added with the Front50 worker; same conventions as above: one result event per command.


@message
class DeleteProject(Command):
    """Delete a project by id or name; its applications and pipelines are untouched."""

    message_type: ClassVar[str] = "front50.DeleteProject"
    message_version: ClassVar[int] = 2
    id_or_name: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class ProjectDeleted(Event):
    """A project was deleted."""

    message_type: ClassVar[str] = "front50.project.deleted"
    id: str
    name: str


@message
class ProjectList(Reply):
    """Projects, sorted by name."""

    message_type: ClassVar[str] = "front50.ProjectList"
    projects: list[Json]


@message
class ListProjects(Query):
    """Every project."""

    message_type: ClassVar[str] = "front50.ListProjects"
    reply_model: ClassVar[type[Reply]] = ProjectList


@message
class SavePipelineStrategy(Command):
    """Create or replace a deployment strategy (a pipeline-shaped config with ``strategy: true``)."""

    message_type: ClassVar[str] = "front50.SavePipelineStrategy"
    message_version: ClassVar[int] = 2
    strategy: Json
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class DeletePipelineStrategy(Command):
    """Delete the strategy ``name`` of ``application``."""

    message_type: ClassVar[str] = "front50.DeletePipelineStrategy"
    message_version: ClassVar[int] = 2
    application: str = Field(min_length=1)
    name: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class StrategySaved(Event):
    """A strategy was created or replaced; ``strategy`` is what is stored."""

    message_type: ClassVar[str] = "front50.strategy.saved"
    strategy: Json
    created: bool


@message
class StrategyDeleted(Event):
    """A strategy was deleted."""

    message_type: ClassVar[str] = "front50.strategy.deleted"
    application: str
    name: str
    id: str


@message
class ListPipelineStrategies(Query):
    """The strategies of one application, or of all when ``application`` is None."""

    message_type: ClassVar[str] = "front50.ListPipelineStrategies"
    reply_model: ClassVar[type[Reply]] = PipelineList
    application: str | None = None


@message
class SaveNotifications(Command):
    """Replace an application's notification preferences (Front50's ``/notifications/application/{app}``).

    ``notifications`` maps a channel type (``email``, ``slack``, ``sms``…) to its list of entries.
    """

    message_type: ClassVar[str] = "front50.SaveNotifications"
    message_version: ClassVar[int] = 2
    application: str = Field(min_length=1)
    notifications: Json
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class NotificationsSaved(Event):
    """An application's notification preferences were replaced."""

    message_type: ClassVar[str] = "front50.notifications.saved"
    application: str
    notifications: Json


@message
class NotificationsFound(Reply):
    """An application's notification preferences, or ``None`` when it has none."""

    message_type: ClassVar[str] = "front50.NotificationsFound"
    notifications: Json | None


@message
class GetNotifications(Query):
    """The notification preferences of one application (case-insensitive name)."""

    message_type: ClassVar[str] = "front50.GetNotifications"
    reply_model: ClassVar[type[Reply]] = NotificationsFound
    application: str = Field(min_length=1)


@message
class SaveServiceAccount(Command):
    """Create or replace a service account (``name``, ``memberOf`` roles), as Fiat reads them."""

    message_type: ClassVar[str] = "front50.SaveServiceAccount"
    message_version: ClassVar[int] = 2
    service_account: Json
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class DeleteServiceAccount(Command):
    """Delete a service account by name (case-insensitive)."""

    message_type: ClassVar[str] = "front50.DeleteServiceAccount"
    message_version: ClassVar[int] = 2
    name: str = Field(min_length=1)
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = None


@message
class ServiceAccountSaved(Event):
    """A service account was created or replaced."""

    message_type: ClassVar[str] = "front50.service_account.saved"
    service_account: Json
    created: bool


@message
class ServiceAccountDeleted(Event):
    """A service account was deleted."""

    message_type: ClassVar[str] = "front50.service_account.deleted"
    name: str


@message
class ServiceAccountList(Reply):
    """Service accounts, sorted by name."""

    message_type: ClassVar[str] = "front50.ServiceAccountList"
    service_accounts: list[Json]


@message
class ListServiceAccounts(Query):
    """Every service account."""

    message_type: ClassVar[str] = "front50.ListServiceAccounts"
    reply_model: ClassVar[type[Reply]] = ServiceAccountList


@message
class ServiceAccountFound(Reply):
    """One service account (``name``, ``memberOf``), or ``None``."""

    message_type: ClassVar[str] = "front50.ServiceAccountFound"
    service_account: Json | None


@message
class GetServiceAccount(Query):
    """One service account by name (case-insensitive): what a trigger's ``runAsUser`` runs as."""

    message_type: ClassVar[str] = "front50.GetServiceAccount"
    reply_model: ClassVar[type[Reply]] = ServiceAccountFound
    name: str = Field(min_length=1)


for _model in (
    SaveApplication,
    DeleteApplication,
    SavePipeline,
    DeletePipeline,
    RenamePipeline,
    ReorderPipelines,
    SaveProject,
    DeleteProject,
    SavePipelineStrategy,
    DeletePipelineStrategy,
    SaveNotifications,
    SaveServiceAccount,
    DeleteServiceAccount,
):
    registry.upcaster(_model.message_type, 1)(upcast_user_to_authority)
