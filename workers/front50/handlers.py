"""One handler per Front50 message: commands answer with one event, queries with their reply.

Each command handler says how to decide (check the input, build the stored JSON, save) and, for
deletes, how to apply the decision; :func:`workers.front50.once.answer_once` makes that happen
once per command and publishes the result. The shapes follow Spinnaker's Front50: ``updateTs`` and
``createTs`` are strings of epoch millis, a pipeline without an ``id`` gets a UUID, application
names are returned upper-cased, and every name lookup is case-insensitive. Every command is judged
by the authority it carries before anything is decided (:mod:`workers.front50.access`).
"""

from __future__ import annotations

import json
from typing import Any

from bus.context import MessageContext
from schemas import Event
from schemas.front50 import (
    ApplicationDeleted,
    ApplicationFound,
    ApplicationList,
    ApplicationSaved,
    DeleteApplication,
    DeletePipeline,
    DeletePipelineStrategy,
    DeleteProject,
    DeleteServiceAccount,
    GetApplication,
    GetApplicationHistory,
    GetNotifications,
    GetPipelineConfig,
    GetPipelineHistory,
    GetProject,
    GetServiceAccount,
    History,
    ListApplications,
    ListPipelineConfigs,
    ListPipelineStrategies,
    ListProjects,
    ListServiceAccounts,
    NotificationsFound,
    NotificationsSaved,
    PipelineDeleted,
    PipelineFound,
    PipelineList,
    PipelineSaved,
    PipelinesReordered,
    ProjectDeleted,
    ProjectFound,
    ProjectList,
    ProjectSaved,
    RenamePipeline,
    ReorderPipelines,
    SaveApplication,
    SaveNotifications,
    SavePipeline,
    SavePipelineStrategy,
    SaveProject,
    SaveServiceAccount,
    ServiceAccountDeleted,
    ServiceAccountFound,
    ServiceAccountList,
    ServiceAccountSaved,
    StrategyDeleted,
    StrategySaved,
)
from schemas.limits import PipelineLimits, name_problem
from schemas.secrets import markers_in, restore
from workers.front50.access import Front50Access
from workers.front50.documents import Json, application_name, derived_id, key, pipeline_order
from workers.front50.errors import Rejected, invalid, missing
from workers.front50.once import answer_once
from workers.front50.store import Document, Front50Store
from workers.front50.validation import (
    check_application,
    check_notifications,
    check_pipeline,
    check_project,
    check_service_account,
)


def _copy(value: Json) -> Json:
    """A deep copy, so normalising never touches the (frozen) command's payload."""
    return dict(json.loads(json.dumps(value)))


def _pipeline_keys(body: Json) -> Document:
    return {"applicationKey": key(str(body["application"])), "nameKey": key(str(body["name"]))}


def _name_keys(body: Json) -> Document:
    return {"nameKey": key(str(body["name"]))}


def _project_keys(body: Json) -> Document:
    config = body.get("config") or {}
    return {**_name_keys(body), "applicationKeys": [key(str(app)) for app in config.get("applications") or []]}


def _duplicate_pipeline(kind: str, field: str) -> Any:
    def reject(body: Json) -> Rejected:
        return invalid(f"A {kind} with name {body['name']} already exists in application {body['application']}", field)

    return reject


def _require(current: Json | None, what: str, field: str) -> Json:
    if current is None:
        raise missing(f"{what} was deleted while this command was handled", field)
    return current


class Front50Handlers:
    """Front50's handlers over one :class:`Front50Store`."""

    def __init__(
        self, store: Front50Store, access: Front50Access | None = None, limits: PipelineLimits | None = None
    ) -> None:
        self.store = store
        self.access = access or Front50Access(store)
        self.limits = limits or PipelineLimits()

    # --- applications ------------------------------------------------------------------

    async def save_application(self, command: SaveApplication, context: MessageContext) -> None:
        """Front50's save: merge the given attributes over the stored application (upsert)."""
        given = _copy(command.application)

        async def decide() -> Event:
            name = given.get("name")
            if not isinstance(name, str) or not name.strip():
                raise invalid("an application requires a non-blank name", "name")
            if await self.access.judging(name) is None:
                self.access.require_somebody(command.authority, f"create application {name!r}", field="name")
            else:
                await self.access.require_write(command.authority, name, field="name")

            def build(current: Json | None, update_ts: str) -> Json:
                merged = {**(current or {}), **given}
                check_application(merged)
                merged["name"] = application_name(str(merged["name"]))
                if isinstance(merged.get("cloudProviders"), list):
                    merged["cloudProviders"] = ",".join(merged["cloudProviders"])
                merged["createTs"] = (current or {}).get("createTs") or update_ts
                merged["updateTs"] = update_ts
                merged["lastModifiedBy"] = command.authority.user
                return merged

            saved = await self.store.save(
                self.store.applications,
                entity_id=key(name),
                build=build,
                keys=_name_keys,
                command_id=context.envelope.id,
                history="application",
            )
            return ApplicationSaved(application=saved.body, created=saved.created)

        await answer_once(self.store, context, command, decide)

    async def delete_application(self, command: DeleteApplication, context: MessageContext) -> None:
        """Delete an application with its pipelines, strategies and notifications; projects forget it."""

        async def decide() -> Event:
            found = await self.store.find(self.store.applications, {"_id": key(command.name)})
            if found is None:
                raise missing(f"no application named {command.name}", "name")
            await self.access.require_write(command.authority, command.name, field="name")
            return ApplicationDeleted(name=str(found["name"]))

        async def apply(event: Event) -> None:
            assert isinstance(event, ApplicationDeleted)
            app = key(event.name)
            await self.store.delete(self.store.pipelines, {"applicationKey": app})
            await self.store.delete(self.store.strategies, {"applicationKey": app})
            await self.store.delete(self.store.notifications, {"_id": app})
            for project_id in await self.store.ids(self.store.projects, {"applicationKeys": app}):
                await self.store.replace_body(
                    self.store.projects, project_id, lambda body, _ts: _without_application(body, app), _project_keys
                )
            await self.store.delete(self.store.applications, {"_id": app})

        await answer_once(self.store, context, command, decide, apply)

    # --- pipelines and strategies --------------------------------------------------------

    async def save_pipeline(self, command: SavePipeline, context: MessageContext) -> None:
        """Create or replace a pipeline config; the stored version goes to its history."""
        await self._save_pipeline(command, context, command.pipeline, strategy=False)

    async def save_strategy(self, command: SavePipelineStrategy, context: MessageContext) -> None:
        """Create or replace a deployment strategy (pipeline-shaped, without history or stale check)."""
        await self._save_pipeline(command, context, command.strategy, strategy=True)

    async def _save_pipeline(
        self, command: SavePipeline | SavePipelineStrategy, context: MessageContext, given: Json, *, strategy: bool
    ) -> None:
        pipeline = _copy(given)
        command_id = context.envelope.id
        kind = "strategy" if strategy else "pipeline"
        collection = self.store.strategies if strategy else self.store.pipelines

        async def decide() -> Event:
            check_pipeline(pipeline, kind=kind, limits=self.limits)
            has_id = bool(pipeline.get("id"))
            pipeline_id = str(pipeline["id"]).strip() if has_id else derived_id(command_id)
            application = str(pipeline["application"])
            await self.access.require_write(command.authority, application, field="application")
            existing = await self.store.find(collection, {"_id": pipeline_id}) if has_id else None
            if existing is not None and key(str(existing.get("application"))) != key(application):
                await self.access.require_write(command.authority, str(existing.get("application")), field="id")
            await self.access.require_run_as_users(command.authority, pipeline)
            unknown = markers_in(restore(pipeline, existing))
            if unknown:
                raise invalid(
                    f"{unknown[0]} is the marker of a hidden secret, but no secret is stored there; send the value",
                    field=unknown[0],
                )

            def build(current: Json | None, update_ts: str) -> Json:
                # a secret a reader saw only as its marker keeps its stored value (schemas.secrets)
                kept = restore(pipeline, current)
                body = {**kept, "id": pipeline_id, "name": str(pipeline["name"]).strip()}
                for position, trigger in enumerate(body.get("triggers") or []):
                    if str(trigger.get("type", "")).lower() == "cron" and not trigger.get("id"):
                        trigger["id"] = derived_id(command_id, "trigger", position)
                if strategy:
                    body["strategy"] = True
                body["updateTs"] = update_ts
                body["lastModifiedBy"] = command.authority.user
                return body

            expected = command.expected_update_ts if isinstance(command, SavePipeline) and has_id else None
            saved = await self.store.save(
                collection,
                entity_id=pipeline_id,
                build=build,
                keys=_pipeline_keys,
                command_id=command_id,
                history=None if strategy else "pipeline",
                expected_update_ts=expected,
                duplicate=_duplicate_pipeline(kind, "name"),
            )
            if strategy:
                return StrategySaved(strategy=saved.body, created=saved.created)
            return PipelineSaved(pipeline=saved.body, created=saved.created)

        await answer_once(self.store, context, command, decide)

    async def delete_pipeline(self, command: DeletePipeline, context: MessageContext) -> None:
        """Delete a pipeline config by application and name; its history is kept, as in Front50."""
        await self._delete_pipeline(command, context, command.application, command.name, strategy=False)

    async def delete_strategy(self, command: DeletePipelineStrategy, context: MessageContext) -> None:
        """Delete a strategy by application and name."""
        await self._delete_pipeline(command, context, command.application, command.name, strategy=True)

    async def _delete_pipeline(
        self,
        command: DeletePipeline | DeletePipelineStrategy,
        context: MessageContext,
        application: str,
        name: str,
        *,
        strategy: bool,
    ) -> None:
        collection = self.store.strategies if strategy else self.store.pipelines
        kind = "strategy" if strategy else "pipeline"

        async def decide() -> Event:
            await self.access.require_write(command.authority, application, field="application")
            found = await self.store.find(collection, {"applicationKey": key(application), "nameKey": key(name)})
            if found is None:
                raise missing(f"no {kind} named {name} in application {application}", "name")
            model = StrategyDeleted if strategy else PipelineDeleted
            return model(application=str(found["application"]), name=str(found["name"]), id=str(found["id"]))

        async def apply(event: Event) -> None:
            assert isinstance(event, PipelineDeleted | StrategyDeleted)
            await self.store.delete(collection, {"_id": event.id})

        await answer_once(self.store, context, command, decide, apply)

    async def rename_pipeline(self, command: RenamePipeline, context: MessageContext) -> None:
        """Rename a pipeline config in place: same id, a new version in its history."""

        async def decide() -> Event:
            await self.access.require_write(command.authority, command.application, field="application")
            query = {"applicationKey": key(command.application), "nameKey": key(command.from_name)}
            found = await self.store.find(self.store.pipelines, query)
            if found is None:
                reason = f"no pipeline named {command.from_name} in application {command.application}"
                raise missing(reason, "from_name")
            to_name = command.to_name.strip()
            if not to_name:
                raise invalid("the new name must not be blank", "to_name")
            if (refused := name_problem(to_name)) is not None:
                raise invalid(f"the name {refused}", "to_name")

            def build(current: Json | None, update_ts: str) -> Json:
                body = _require(current, f"pipeline {command.from_name}", "from_name")
                return {**body, "name": to_name, "updateTs": update_ts, "lastModifiedBy": command.authority.user}

            saved = await self.store.save(
                self.store.pipelines,
                entity_id=str(found["id"]),
                build=build,
                keys=_pipeline_keys,
                command_id=context.envelope.id,
                history="pipeline",
                duplicate=_duplicate_pipeline("pipeline", "to_name"),
            )
            return PipelineSaved(pipeline=saved.body, created=False)

        await answer_once(self.store, context, command, decide)

    async def reorder_pipelines(self, command: ReorderPipelines, context: MessageContext) -> None:
        """Give pipeline configs new indices; every id must be a pipeline of the application."""

        async def decide() -> Event:
            await self.access.require_write(command.authority, command.application, field="application")
            app = key(command.application)
            for pipeline_id in command.ids_to_indices:
                found = await self.store.find_document(self.store.pipelines, {"_id": pipeline_id})
                if found is None or found.get("applicationKey") != app:
                    raise missing(
                        f"no pipeline with id {pipeline_id} in application {command.application}",
                        "ids_to_indices",
                    )
            for pipeline_id, index in command.ids_to_indices.items():

                def build(current: Json | None, update_ts: str, index: int = index) -> Json:
                    body = _require(current, "a pipeline being reordered", "ids_to_indices")
                    return {**body, "index": index, "updateTs": update_ts, "lastModifiedBy": command.authority.user}

                await self.store.save(
                    self.store.pipelines,
                    entity_id=pipeline_id,
                    build=build,
                    keys=_pipeline_keys,
                    command_id=context.envelope.id,
                    history="pipeline",
                )
            return PipelinesReordered(application=command.application, ids_to_indices=command.ids_to_indices)

        await answer_once(self.store, context, command, decide)

    # --- projects ------------------------------------------------------------------------

    async def save_project(self, command: SaveProject, context: MessageContext) -> None:
        """Create or replace a project; names are unique (case-insensitive), as in Front50."""
        project = _copy(command.project)

        async def decide() -> Event:
            self.access.require_somebody(command.authority, "save projects")
            check_project(project)
            project_id = str(project.get("id") or derived_id(context.envelope.id)).strip()

            def build(current: Json | None, update_ts: str) -> Json:
                return {
                    **project,
                    "id": project_id,
                    "name": str(project["name"]).strip(),
                    "createTs": (current or {}).get("createTs") or update_ts,
                    "updateTs": update_ts,
                    "lastModifiedBy": command.authority.user,
                }

            saved = await self.store.save(
                self.store.projects,
                entity_id=project_id,
                build=build,
                keys=_project_keys,
                command_id=context.envelope.id,
                duplicate=lambda body: invalid(f"A Project named {body['name']} already exists", "name"),
            )
            return ProjectSaved(project=saved.body)

        await answer_once(self.store, context, command, decide)

    async def delete_project(self, command: DeleteProject, context: MessageContext) -> None:
        """Delete a project by id or name."""

        async def decide() -> Event:
            self.access.require_somebody(command.authority, "delete projects")
            found = await self._project(command.id_or_name)
            if found is None:
                raise missing(f"no project with id or name {command.id_or_name}", "id_or_name")
            return ProjectDeleted(id=str(found["id"]), name=str(found["name"]))

        async def apply(event: Event) -> None:
            assert isinstance(event, ProjectDeleted)
            await self.store.delete(self.store.projects, {"_id": event.id})

        await answer_once(self.store, context, command, decide, apply)

    async def _project(self, id_or_name: str) -> Json | None:
        query = {"$or": [{"_id": id_or_name}, {"nameKey": key(id_or_name)}]}
        return await self.store.find(self.store.projects, query)

    # --- notifications and service accounts ------------------------------------------------

    async def save_notifications(self, command: SaveNotifications, context: MessageContext) -> None:
        """Replace an application's notification preferences."""
        notifications = _copy(command.notifications)

        async def decide() -> Event:
            check_notifications(notifications)
            application = command.application.strip()
            await self.access.require_write(command.authority, application, field="application")
            existing = await self.store.find(self.store.notifications, {"_id": key(application)})
            unknown = markers_in(restore(notifications, existing))
            if unknown:
                raise invalid(
                    f"{unknown[0]} is the marker of a hidden secret, but no secret is stored there; send the value",
                    field=unknown[0],
                )

            def build(current: Json | None, update_ts: str) -> Json:
                # a credential a reader saw only as its marker keeps its stored value (schemas.secrets)
                return {
                    **restore(notifications, current),
                    "application": application,
                    "lastModified": int(update_ts),
                    "lastModifiedBy": command.authority.user,
                }

            saved = await self.store.save(
                self.store.notifications,
                entity_id=key(application),
                build=build,
                keys=lambda body: {"nameKey": key(str(body["application"]))},
                command_id=context.envelope.id,
            )
            return NotificationsSaved(application=application, notifications=saved.body)

        await answer_once(self.store, context, command, decide)

    async def save_service_account(self, command: SaveServiceAccount, context: MessageContext) -> None:
        """Create or replace a service account."""
        account = _copy(command.service_account)

        async def decide() -> Event:
            self.access.require_admin(command.authority, "create or change service accounts")
            check_service_account(account)
            name = str(account["name"]).strip()

            def build(current: Json | None, update_ts: str) -> Json:
                return {
                    **account,
                    "name": name,
                    "memberOf": account.get("memberOf") or [],
                    "lastModified": int(update_ts),
                    "lastModifiedBy": command.authority.user,
                }

            saved = await self.store.save(
                self.store.service_accounts,
                entity_id=key(name),
                build=build,
                keys=_name_keys,
                command_id=context.envelope.id,
            )
            return ServiceAccountSaved(service_account=saved.body, created=saved.created)

        await answer_once(self.store, context, command, decide)

    async def delete_service_account(self, command: DeleteServiceAccount, context: MessageContext) -> None:
        """Delete a service account by name."""

        async def decide() -> Event:
            self.access.require_admin(command.authority, "delete service accounts")
            found = await self.store.find(self.store.service_accounts, {"_id": key(command.name)})
            if found is None:
                raise missing(f"no service account named {command.name}", "name")
            return ServiceAccountDeleted(name=str(found["name"]))

        async def apply(event: Event) -> None:
            assert isinstance(event, ServiceAccountDeleted)
            await self.store.delete(self.store.service_accounts, {"_id": key(event.name)})

        await answer_once(self.store, context, command, decide, apply)

    # --- queries -------------------------------------------------------------------------

    async def list_applications(self, query: ListApplications, context: MessageContext) -> ApplicationList:
        """Every application, by name."""
        return ApplicationList(applications=await self.store.all(self.store.applications))

    async def get_application(self, query: GetApplication, context: MessageContext) -> ApplicationFound:
        """One application, whatever the case of the name asked for."""
        return ApplicationFound(application=await self.store.find(self.store.applications, {"_id": key(query.name)}))

    async def application_history(self, query: GetApplicationHistory, context: MessageContext) -> History:
        """Stored versions of an application, newest (current) first."""
        return History(versions=await self.store.versions("application", key(query.name), query.limit))

    async def list_pipelines(self, query: ListPipelineConfigs, context: MessageContext) -> PipelineList:
        """One application's pipeline configs in Front50's order (index, then name), or every one."""
        if query.application is None:
            return PipelineList(pipelines=await self.store.all(self.store.pipelines))
        found = await self.store.all(self.store.pipelines, {"applicationKey": key(query.application)})
        return PipelineList(pipelines=pipeline_order(found))

    async def get_pipeline(self, query: GetPipelineConfig, context: MessageContext) -> PipelineFound:
        """One pipeline config by id, or by application and name."""
        if query.id is not None:
            return PipelineFound(pipeline=await self.store.find(self.store.pipelines, {"_id": query.id}))
        if query.application is None or query.name is None:
            raise ValueError("GetPipelineConfig needs an id, or an application and a name")
        lookup = {"applicationKey": key(query.application), "nameKey": key(query.name)}
        return PipelineFound(pipeline=await self.store.find(self.store.pipelines, lookup))

    async def pipeline_history(self, query: GetPipelineHistory, context: MessageContext) -> History:
        """Stored versions of a pipeline config, newest (current) first, like ``/pipelines/{id}/history``."""
        return History(versions=await self.store.versions("pipeline", query.id, query.limit))

    async def list_strategies(self, query: ListPipelineStrategies, context: MessageContext) -> PipelineList:
        """One application's strategies (Front50's order), or every one."""
        if query.application is None:
            return PipelineList(pipelines=await self.store.all(self.store.strategies))
        found = await self.store.all(self.store.strategies, {"applicationKey": key(query.application)})
        return PipelineList(pipelines=pipeline_order(found))

    async def get_project(self, query: GetProject, context: MessageContext) -> ProjectFound:
        """One project by id or name."""
        return ProjectFound(project=await self._project(query.id_or_name))

    async def list_projects(self, query: ListProjects, context: MessageContext) -> ProjectList:
        """Every project, by name."""
        return ProjectList(projects=await self.store.all(self.store.projects))

    async def get_notifications(self, query: GetNotifications, context: MessageContext) -> NotificationsFound:
        """An application's notification preferences."""
        found = await self.store.find(self.store.notifications, {"_id": key(query.application)})
        return NotificationsFound(notifications=found)

    async def list_service_accounts(self, query: ListServiceAccounts, context: MessageContext) -> ServiceAccountList:
        """Every service account, by name."""
        return ServiceAccountList(service_accounts=await self.store.all(self.store.service_accounts))

    async def get_service_account(self, query: GetServiceAccount, context: MessageContext) -> ServiceAccountFound:
        """One service account, whatever the case of the name asked for."""
        found = await self.store.find(self.store.service_accounts, {"_id": key(query.name.strip())})
        return ServiceAccountFound(service_account=found)


def _without_application(body: Json | None, app: str) -> Json:
    """A project that no longer lists application ``app`` (nor its pipeline configs)."""
    project = dict(body or {})
    config = dict(project.get("config") or {})
    config["applications"] = [name for name in config.get("applications") or [] if key(str(name)) != app]
    config["pipelineConfigs"] = [
        entry for entry in config.get("pipelineConfigs") or [] if key(str(entry.get("application", ""))) != app
    ]
    project["config"] = config
    return project
