"""Front50's applications: save (merged over the stored one), delete (with what belongs to it) and reads."""

from __future__ import annotations

from bus.context import MessageContext
from schemas import Event
from schemas.front50 import (
    ApplicationDeleted,
    ApplicationFound,
    ApplicationList,
    ApplicationSaved,
    DeleteApplication,
    GetApplication,
    GetApplicationHistory,
    History,
    ListApplications,
    SaveApplication,
)
from schemas.json_types import Json
from workers.front50.access import Front50Access
from workers.front50.bodies import copy_body, name_keys, project_keys, without_application
from workers.front50.documents import application_name, key
from workers.front50.errors import invalid, missing
from workers.front50.once import answer_once
from workers.front50.store import Front50Store
from workers.front50.validation import check_application


class ApplicationHandlers:
    """The application messages' handlers over one :class:`Front50Store`."""

    def __init__(self, store: Front50Store, access: Front50Access) -> None:
        self.store = store
        self.access = access

    async def save_application(self, command: SaveApplication, context: MessageContext) -> None:
        """Front50's save: merge the given attributes over the stored application (upsert)."""
        given = copy_body(command.application)

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
                keys=name_keys,
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
                    self.store.projects, project_id, lambda body, _ts: without_application(body, app), project_keys
                )
            await self.store.delete(self.store.applications, {"_id": app})

        await answer_once(self.store, context, command, decide, apply)

    async def list_applications(self, query: ListApplications, context: MessageContext) -> ApplicationList:
        """Every application, by name."""
        return ApplicationList(applications=await self.store.all(self.store.applications))

    async def get_application(self, query: GetApplication, context: MessageContext) -> ApplicationFound:
        """One application, whatever the case of the name asked for."""
        return ApplicationFound(application=await self.store.find(self.store.applications, {"_id": key(query.name)}))

    async def application_history(self, query: GetApplicationHistory, context: MessageContext) -> History:
        """Stored versions of an application, newest (current) first."""
        return History(versions=await self.store.versions("application", key(query.name), query.limit))
