"""Assembles a running process from parts: the store, the workers, the gateway, each undone in reverse.

``gennaker up``, ``gennaker worker`` and ``gennaker gateway`` differ only in which parts they
start; each part registers its own shutdown on an :class:`~contextlib.AsyncExitStack`, so leaving
the stack stops the gateway, then the workers (letting handlers in flight finish, for at most ``GENNAKER_STOP_GRACE``
seconds), then closes the
bus, the database client and the store.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import structlog
from aiohttp import web

from bus import Bus
from bus.service import ServiceHost
from gennaker import __version__
from gennaker.collector import settle_after_start
from gennaker.commands._common import CliError, optional_module
from gennaker.resources import WorkerResources
from gennaker.settings import Settings, redact_url
from gennaker.store import EmbeddedStore, StoreUnavailable, check_reachable, mongo_client
from gennaker.workers import build_service

log = structlog.get_logger("gennaker.runtime")


async def open_store(stack: AsyncExitStack, settings: Settings, *, embedded: bool) -> tuple[WorkerResources, str]:
    """Connect to ``GENNAKER_MONGO_URL``, or (when ``embedded``) start the store under the data dir.

    Returns the workers' resources and a description of the store for the start-up line.
    """
    url = settings.mongo_url
    description = redact_url(url) if url else ""
    if url is None:
        if not embedded:
            raise CliError(
                "GENNAKER_MONGO_URL is not set; point it at MongoDB, or run `gennaker store serve` "
                "and use the URL it prints"
            )
        store = EmbeddedStore(settings.store_path())
        try:
            url = await store.start()
        except StoreUnavailable as error:
            raise CliError(str(error)) from None
        stack.push_async_callback(store.close)
        description = f"{url} (embedded, {store.path})"
    client = mongo_client(url)
    stack.push_async_callback(client.close)
    try:
        await check_reachable(client, url)
    except StoreUnavailable as error:
        raise CliError(str(error)) from None
    return WorkerResources(settings=settings, db=client[settings.mongo_database]), description


async def host_workers(
    stack: AsyncExitStack, bus: Bus, names: tuple[str, ...], resources: WorkerResources
) -> list[ServiceHost]:
    """Build and start each named worker on ``bus``; on leaving, stop them all at once, each letting its
    handlers in flight finish for ``stop_grace`` seconds (one waiting on a worker stopped beside it
    would otherwise hold the process past SIGTERM for every retry it has left). Once they run,
    start-up's objects leave the garbage collector's sight (:mod:`gennaker.collector`)."""
    grace = resources.settings.stop_grace
    hosts = [ServiceHost(bus, build_service(name, resources), stop_grace=grace) for name in names]

    async def stop_all() -> None:
        await asyncio.gather(*(host.stop() for host in hosts))

    stack.push_async_callback(stop_all)
    for host in hosts:
        await host.start()
    settle_after_start()
    return hosts


async def serve_gateway(stack: AsyncExitStack, bus: Bus, settings: Settings) -> str:
    """Serve the gateway on ``GENNAKER_GATEWAY_HOST``/``PORT``; returns the URL it listens on."""
    app_module = optional_module("gateway.app", "the gateway")
    config_module = optional_module("gateway.config", "the gateway")
    config = config_module.GatewayConfig(
        version=__version__,
        host=settings.gateway_host,
        port=settings.gateway_port,
        health_timeout=min(settings.query_timeout, 2.0),
        query_timeout=settings.query_timeout,
        command_timeout=settings.command_timeout,
        auth=settings.auth,
        max_body_bytes=settings.gateway_max_body_bytes,
        allowed_hosts=None if settings.gateway_allowed_hosts is None else tuple(settings.gateway_allowed_hosts),
        cors_allowed_origins=tuple(settings.gateway_cors_allowed_origins),
    )
    app: web.Application = app_module.create_app(bus, config)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port)
    try:
        await site.start()
    except OSError as error:
        raise CliError(
            f"the gateway cannot listen on {settings.gateway_host}:{settings.gateway_port}: {error.strerror or error}; "
            "set GENNAKER_GATEWAY_PORT to a free port (0 picks one)"
        ) from None
    host, port = runner.addresses[0][:2]
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    log.info("gateway listening", url=url)
    return url
