"""Front50's projects: save (names unique, case-insensitive), delete by id or name, and reads."""

from __future__ import annotations

from bus.context import MessageContext
from schemas import Event
from schemas.front50 import (
    DeleteProject,
    GetProject,
    ListProjects,
    ProjectDeleted,
    ProjectFound,
    ProjectList,
    ProjectSaved,
    SaveProject,
)
from schemas.json_types import Json
from workers.front50.access import Front50Access
from workers.front50.bodies import copy_body, project_keys
from workers.front50.documents import derived_id, key
from workers.front50.errors import invalid, missing
from workers.front50.once import answer_once
from workers.front50.store import Front50Store
from workers.front50.validation import check_project


class ProjectHandlers:
    """The project messages' handlers over one :class:`Front50Store`."""

    def __init__(self, store: Front50Store, access: Front50Access) -> None:
        self.store = store
        self.access = access

    async def save_project(self, command: SaveProject, context: MessageContext) -> None:
        """Create or replace a project; names are unique (case-insensitive), as in Front50."""
        project = copy_body(command.project)

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
                keys=project_keys,
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

    async def get_project(self, query: GetProject, context: MessageContext) -> ProjectFound:
        """One project by id or name."""
        return ProjectFound(project=await self._project(query.id_or_name))

    async def list_projects(self, query: ListProjects, context: MessageContext) -> ProjectList:
        """Every project, by name."""
        return ProjectList(projects=await self.store.all(self.store.projects))
