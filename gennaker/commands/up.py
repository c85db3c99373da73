"""``gennaker up``: every service and the gateway in one process, on embedded defaults.

With nothing configured it runs the in-process bus and the embedded store under the data dir, so
it needs nothing else installed and keeps its data across restarts. ``GENNAKER_AMQP_URL`` and
``GENNAKER_MONGO_URL`` switch either part to the real thing. The in-process bus keeps its dead
letters in the store too (:mod:`gennaker.dead_letters`), so they survive a restart. With no ``accounts`` configured and
authentication off (the default), Clouddriver gets one ``local`` account fenced to the project's
``examples/`` directory (it runs only the example apps there), so the README's walk deploys
``examples/hello``; it says so at start-up. Once authentication is on, no account is implicit:
configure ``[[accounts]]``.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import structlog

from gennaker.commands._common import connect_bus, stop_event
from gennaker.commands._runtime import host_workers, open_store, serve_gateway
from gennaker.dead_letters import StoredDeadLetters
from gennaker.settings import Settings
from gennaker.telemetry import configure_tracing
from schemas.clouddriver import AccountConfig, LocalAccountSettings
from schemas.services import SERVICES

log = structlog.get_logger("gennaker.up")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
"""The project's example apps: all the default ``local`` account may run."""


def local_account(examples: Path = EXAMPLES, images: Path | None = None) -> AccountConfig:
    """The account ``gennaker up`` offers when the settings name none (authentication off): open to
    every caller, but fenced to run only what is inside ``examples`` and the ``images`` Rosco's
    local bakes make (which it deploys by name)."""
    local = LocalAccountSettings(
        artifact_dirs=(str(examples),), image_dirs=(str(images.expanduser().resolve()),) if images else ()
    )
    return AccountConfig(name="local", cloud_provider="local", local=local)


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
        stack.callback(configure_tracing(settings, "up"))
        resources, store = await open_store(stack, settings, embedded=True)
        bus, bus_description = await connect_bus(
            settings, source="/gennaker", dead_letters=StoredDeadLetters(resources.db)
        )
        stack.push_async_callback(bus.close)
        await host_workers(stack, bus, SERVICES, resources)
        gateway = await serve_gateway(stack, bus, settings)
        print(
            f"Gennaker is up: gateway {gateway} (swagger: {gateway}/swagger-ui.html), "
            f"store {store}, bus {bus_description}",
            flush=True,
        )
        print(accounts_notice(settings), flush=True)
        await stop.wait()
        log.info("shutting down")
    log.info("stopped")


def with_default_accounts(settings: Settings, examples: Path = EXAMPLES) -> Settings:
    """``settings``, with the fenced ``local`` account when no ``accounts`` are configured and
    authentication is off (an empty list stays empty; with authentication on nothing is added)."""
    if settings.accounts is not None or settings.auth.mode != "none" or not examples.is_dir():
        return settings
    images = settings.rosco.images_dir or settings.data_dir / "images"
    return settings.model_copy(update={"accounts": [local_account(examples, images)]})


def accounts_notice(settings: Settings) -> str:
    """The start-up line saying what Clouddriver may deploy with, and how far ``local`` accounts reach."""
    accounts = settings.accounts or []
    if not accounts:
        because = "authentication is on" if settings.auth.mode != "none" else f"{EXAMPLES} is missing"
        return f"Clouddriver: no accounts (none configured, and none implicit because {because}); set [[accounts]]"
    lines = []
    for account in accounts:
        if account.local is None:
            reach = "" if account.cloud_provider != "local" else ": runs nothing until its local settings say what"
        elif account.local.unrestricted:
            reach = ": runs ANY command as this user (local.unrestricted)"
        else:
            reach = f": runs only what is inside {', '.join(account.local.artifact_dirs) or 'nothing'}"
            if account.local.image_dirs:
                reach += f" and the images baked into {', '.join(account.local.image_dirs)}"
            if account.local.executables:
                reach += f" and {', '.join(account.local.executables)}"
        lines.append(f"{account.name} ({account.cloud_provider}){reach}")
    return "Clouddriver accounts: " + "; ".join(lines)
