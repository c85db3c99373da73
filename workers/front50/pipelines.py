"""Front50's pipeline configs and deployment strategies: save, delete, rename, reorder and reads.

A strategy is pipeline-shaped, stored apart, without history or stale-save check. A locked pipeline
(Spinnaker's ``locked``) is saved, renamed or deleted only as :mod:`workers.front50.locks` allows.
"""

from __future__ import annotations

from bus.context import MessageContext
from schemas import Event
from schemas.front50 import (
    DeletePipeline,
    DeletePipelineStrategy,
    GetPipelineConfig,
    GetPipelineHistory,
    History,
    ListPipelineConfigs,
    ListPipelineStrategies,
    PipelineDeleted,
    PipelineFound,
    PipelineList,
    PipelineSaved,
    PipelinesReordered,
    RenamePipeline,
    ReorderPipelines,
    SavePipeline,
    SavePipelineStrategy,
    StrategyDeleted,
    StrategySaved,
)
from schemas.json_types import Json
from schemas.limits import PipelineLimits, name_problem
from schemas.secrets import restore
from workers.front50.access import Front50Access
from workers.front50.bodies import (
    copy_body,
    duplicate_pipeline,
    pipeline_keys,
    refuse_unknown_markers,
    require_current,
)
from workers.front50.documents import derived_id, key, pipeline_order
from workers.front50.errors import invalid, missing
from workers.front50.locks import PipelineLocks
from workers.front50.once import answer_once
from workers.front50.store import Front50Store
from workers.front50.validation import check_pipeline


class PipelineHandlers:
    """The pipeline and strategy messages' handlers; saves are bounded by ``limits`` and ``locks``."""

    def __init__(
        self, store: Front50Store, access: Front50Access, limits: PipelineLimits, locks: PipelineLocks | None = None
    ) -> None:
        self.store = store
        self.access = access
        self.limits = limits
        self.locks = locks or PipelineLocks()

    async def save_pipeline(self, command: SavePipeline, context: MessageContext) -> None:
        """Create or replace a pipeline config; the stored version goes to its history."""
        await self._save_pipeline(command, context, command.pipeline, strategy=False)

    async def save_strategy(self, command: SavePipelineStrategy, context: MessageContext) -> None:
        """Create or replace a deployment strategy (pipeline-shaped, without history or stale check)."""
        await self._save_pipeline(command, context, command.strategy, strategy=True)

    async def _save_pipeline(
        self, command: SavePipeline | SavePipelineStrategy, context: MessageContext, given: Json, *, strategy: bool
    ) -> None:
        pipeline = copy_body(given)
        command_id = context.envelope.id
        kind = "strategy" if strategy else "pipeline"
        collection = self.store.strategies if strategy else self.store.pipelines

        async def decide() -> Event:
            check_pipeline(pipeline, kind=kind, limits=self.limits)
            self.locks.check_shape(pipeline)
            has_id = bool(pipeline.get("id"))
            pipeline_id = str(pipeline["id"]).strip() if has_id else derived_id(command_id)
            application = str(pipeline["application"])
            await self.access.require_write(command.authority, application, field="application")
            existing = await self.store.find(collection, {"_id": pipeline_id}) if has_id else None
            if existing is not None and key(str(existing.get("application"))) != key(application):
                await self.access.require_write(command.authority, str(existing.get("application")), field="id")
            await self.access.require_run_as_users(command.authority, pipeline)
            refuse_unknown_markers(pipeline, existing)

            def build(current: Json | None, update_ts: str) -> Json:
                self.locks.check_save(command.authority, current, pipeline)
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
                keys=pipeline_keys,
                command_id=command_id,
                history=None if strategy else "pipeline",
                expected_update_ts=expected,
                duplicate=duplicate_pipeline(kind, "name"),
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
            self.locks.check_change(command.authority, found, "delete")
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
                body = require_current(current, f"pipeline {command.from_name}", "from_name")
                self.locks.check_change(command.authority, body, "rename")
                return {**body, "name": to_name, "updateTs": update_ts, "lastModifiedBy": command.authority.user}

            saved = await self.store.save(
                self.store.pipelines,
                entity_id=str(found["id"]),
                build=build,
                keys=pipeline_keys,
                command_id=context.envelope.id,
                history="pipeline",
                duplicate=duplicate_pipeline("pipeline", "to_name"),
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
                    body = require_current(current, "a pipeline being reordered", "ids_to_indices")
                    return {**body, "index": index, "updateTs": update_ts, "lastModifiedBy": command.authority.user}

                await self.store.save(
                    self.store.pipelines,
                    entity_id=pipeline_id,
                    build=build,
                    keys=pipeline_keys,
                    command_id=context.envelope.id,
                    history="pipeline",
                )
            return PipelinesReordered(application=command.application, ids_to_indices=command.ids_to_indices)

        await answer_once(self.store, context, command, decide)

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
