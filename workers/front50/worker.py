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
from workers.front50.access import Front50Access
from workers.front50.cache import ReadCache
from workers.front50.canary_configs import CanaryConfigHandlers, canary_config_table
from workers.front50.handlers import Front50Handlers
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
        messages.SaveApplication: handlers.save_application,
        messages.DeleteApplication: handlers.delete_application,
        messages.SavePipeline: handlers.save_pipeline,
        messages.DeletePipeline: handlers.delete_pipeline,
        messages.RenamePipeline: handlers.rename_pipeline,
        messages.ReorderPipelines: handlers.reorder_pipelines,
        messages.SaveProject: handlers.save_project,
        messages.DeleteProject: handlers.delete_project,
        messages.SavePipelineStrategy: handlers.save_strategy,
        messages.DeletePipelineStrategy: handlers.delete_strategy,
        messages.SaveNotifications: handlers.save_notifications,
        messages.SaveServiceAccount: handlers.save_service_account,
        messages.DeleteServiceAccount: handlers.delete_service_account,
        messages.ListApplications: handlers.list_applications,
        messages.GetApplication: handlers.get_application,
        messages.GetApplicationHistory: handlers.application_history,
        messages.ListPipelineConfigs: handlers.list_pipelines,
        messages.GetPipelineConfig: handlers.get_pipeline,
        messages.GetPipelineHistory: handlers.pipeline_history,
        messages.ListPipelineStrategies: handlers.list_strategies,
        messages.GetProject: handlers.get_project,
        messages.ListProjects: handlers.list_projects,
        messages.GetNotifications: handlers.get_notifications,
        messages.ListServiceAccounts: handlers.list_service_accounts,
        messages.GetServiceAccount: handlers.get_service_account,
    }


def build_service(resources: WorkerResources) -> Service:
    """Front50's commands and queries endpoints over the worker's database; the host adds the ping query."""
    store = Front50Store(resources.db)
    cache = ReadCache(store.revision)
    access = Front50Access(store, execute_fallback=resources.settings.auth.execute_fallback)
    table = {
        **handler_table(Front50Handlers(store, access, resources.settings.pipeline_limits)),
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
