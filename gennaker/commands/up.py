"""``gennaker up``: every service and the gateway in one process, on embedded defaults.

With nothing configured it runs the in-process bus and the embedded store under the data dir, so
it needs nothing else installed and keeps its data across restarts. ``GENNAKER_AMQP_URL`` and
``GENNAKER_MONGO_URL`` switch either part to the real thing. With no ``accounts`` configured,
Clouddriver gets one open ``local`` account, so ``GET /credentials`` shows what an account looks like.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack

import structlog

from gennaker.commands._common import connect_bus, stop_event
from gennaker.commands._runtime import host_workers, open_store, serve_gateway
from gennaker.settings import Settings
from schemas.clouddriver import AccountConfig
from schemas.services import SERVICES

log = structlog.get_logger("gennaker.up")

LOCAL_ACCOUNT = AccountConfig(name="local", cloud_provider="local")
"""The account ``gennaker up`` offers when the settings name none: open to everyone."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``up`` to the CLI."""
    parser = commands.add_parser(
        "up", parents=[common], help="run every service and the gateway in one process", description=__doc__
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then shut down gracefully; exit status 0."""
    asyncio.run(serve(settings))
    return 0


async def serve(settings: Settings) -> None:
    """Start everything, print where the gateway listens, and wait for a stop signal."""
    settings = with_default_accounts(settings)
    stop = stop_event()
    async with AsyncExitStack() as stack:
        resources, store = await open_store(stack, settings, embedded=True)
        bus, bus_description = await connect_bus(settings, source="/gennaker")
        stack.push_async_callback(bus.close)
        await host_workers(stack, bus, SERVICES, resources)
        gateway = await serve_gateway(stack, bus, settings)
        print(
            f"Gennaker is up: gateway {gateway} (swagger: {gateway}/swagger-ui.html), "
            f"store {store}, bus {bus_description}",
            flush=True,
        )
        await stop.wait()
        log.info("shutting down")
    log.info("stopped")


def with_default_accounts(settings: Settings) -> Settings:
    """``settings``, with the ``local`` account when no ``accounts`` are configured (an empty list stays empty)."""
    if settings.accounts is not None:
        return settings
    return settings.model_copy(update={"accounts": [LOCAL_ACCOUNT]})
