"""Wires Front50 (the metadata store) to the bus.

Front50 owns applications, pipeline configs and their history, strategies, projects, notification
preferences and service accounts in MongoDB (collections ``front50_*``). Every change is a command
answered by exactly one event (``front50.pipeline.saved``, ``front50.command.rejected``…); every
read is a query, answered from this replica's read cache (:mod:`workers.front50.cache`) while
nothing has changed. See :mod:`workers.front50.handlers` for the behaviour and
:mod:`workers.front50.store` for the storage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from bus import EncodedReply
from bus.context import MessageContext
from bus.endpoint import Endpoint, Handler
from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas import Message, Reply
from schemas import front50 as messages
from schemas import pipeline_templates as templates
from workers.front50.access import Front50Access
from workers.front50.cache import ReadCache
from workers.front50.canary_configs import CanaryConfigHandlers, canary_config_table
from workers.front50.handlers import Front50Handlers
from workers.front50.locks import PipelineLocks
from workers.front50.store import Front50Store

NAME = "front50"


def _command(store: Front50Store, handler: Callable[[Any, MessageContext], Awaitable[None]]) -> Handler:
    """A command handler that creates the indexes first (the runtime has no start-up hook).

    A handler that fails may have written part of its change, so it bumps the revision on its
    way out too: read caches must not hide a half-made change until the retry finishes it.
    """

    async def handle(message: Any, context: MessageContext) -> None:
        await store.ensure_indexes()
        try:
            await handler(message, context)
        except Exception:
            with contextlib.suppress(Exception):
                await store.bump_revision()
            raise

    return handle


def _query(
    store: Front50Store, cache: ReadCache, handler: Callable[[Any, MessageContext], Awaitable[Reply]]
) -> Handler:
    """A query handler answered from ``cache`` while the store's revision stays the same."""

    async def handle(query: Any, context: MessageContext) -> EncodedReply:
        await store.ensure_indexes()
        return await cache.answer(query, lambda: handler(query, context))

    return handle


def handler_table(handlers: Front50Handlers) -> dict[type[Message], Callable[[Any, MessageContext], Awaitable[Any]]]:
    """Which handler takes which message."""
    return {
        messages.SaveApplication: handlers.applications.save_application,
        messages.DeleteApplication: handlers.applications.delete_application,
        messages.SavePipeline: handlers.pipelines.save_pipeline,
        messages.DeletePipeline: handlers.pipelines.delete_pipeline,
        messages.RenamePipeline: handlers.pipelines.rename_pipeline,
        messages.ReorderPipelines: handlers.pipelines.reorder_pipelines,
        messages.SaveProject: handlers.projects.save_project,
        messages.DeleteProject: handlers.projects.delete_project,
        messages.SavePipelineStrategy: handlers.pipelines.save_strategy,
        messages.DeletePipelineStrategy: handlers.pipelines.delete_strategy,
        messages.SaveNotifications: handlers.notifications.save_notifications,
        messages.SaveServiceAccount: handlers.service_accounts.save_service_account,
        messages.DeleteServiceAccount: handlers.service_accounts.delete_service_account,
        templates.SavePipelineTemplate: handlers.templates.save_template,
        templates.DeletePipelineTemplate: handlers.templates.delete_template,
        templates.GetPipelineTemplate: handlers.templates.get_template,
        templates.ListPipelineTemplates: handlers.templates.list_templates,
        templates.ListTemplateDependents: handlers.templates.list_dependents,
        messages.ListApplications: handlers.applications.list_applications,
        messages.GetApplication: handlers.applications.get_application,
        messages.GetApplicationHistory: handlers.applications.application_history,
        messages.ListPipelineConfigs: handlers.pipelines.list_pipelines,
        messages.GetPipelineConfig: handlers.pipelines.get_pipeline,
        messages.GetPipelineHistory: handlers.pipelines.pipeline_history,
        messages.ListPipelineStrategies: handlers.pipelines.list_strategies,
        messages.GetProject: handlers.projects.get_project,
        messages.ListProjects: handlers.projects.list_projects,
        messages.GetNotifications: handlers.notifications.get_notifications,
        messages.ListServiceAccounts: handlers.service_accounts.list_service_accounts,
        messages.GetServiceAccount: handlers.service_accounts.get_service_account,
    }


def build_service(resources: WorkerResources) -> Service:
    """Front50's commands and queries endpoints over the worker's database; the host adds the ping query."""
    store = Front50Store(resources.db)
    cache = ReadCache(store.revision)
    access = Front50Access(store, execute_fallback=resources.settings.auth.execute_fallback)
    table = {
        **handler_table(
            Front50Handlers(
                store,
                access,
                resources.settings.pipeline_limits,
                PipelineLocks(tuple(resources.settings.pipeline_lock_owners)),
            )
        ),
        **canary_config_table(CanaryConfigHandlers(store, access)),
    }
    commands = {m.message_type: _command(store, h) for m, h in table.items() if m.message_kind == "command"}
    queries = {m.message_type: _query(store, cache, h) for m, h in table.items() if m.message_kind == "query"}
    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(service=NAME, kind="commands", handlers=commands),
            Endpoint(service=NAME, kind="queries", handlers=queries),
        ],
    )
