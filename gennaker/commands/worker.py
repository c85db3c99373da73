"""``gennaker worker NAME``: one worker on RabbitMQ, with a Prometheus metrics endpoint.

Run as many copies as load needs: they compete for the same queues. ``--memory`` runs the worker
on a private in-process bus (and the embedded store when ``GENNAKER_MONGO_URL`` is unset), which is
only useful to try a worker alone.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from contextlib import AsyncExitStack

import structlog
from prometheus_client import start_http_server

from bus import Bus, MemoryBus
from gennaker.commands._common import CliError, connect_amqp, stop_event
from gennaker.commands._runtime import host_workers, open_store
from gennaker.settings import Settings
from gennaker.telemetry import configure_tracing
from gennaker.workers import UnknownWorker, build_function
from schemas.services import SERVICES

log = structlog.get_logger("gennaker.worker")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``worker`` to the CLI."""
    parser = commands.add_parser("worker", parents=[common], help="run one worker", description=__doc__)
    parser.add_argument("name", metavar="NAME", help=f"the service to run: {', '.join(SERVICES)}")
    parser.add_argument("--memory", action="store_true", help="use a private in-process bus (for trying it out)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Check the configuration, then serve until SIGTERM or SIGINT."""
    try:
        build_function(args.name)
    except UnknownWorker as error:
        raise CliError(str(error), code=2) from None
    if not args.memory and not settings.amqp_url:
        raise CliError(
            "gennaker worker needs RabbitMQ: set GENNAKER_AMQP_URL (e.g. amqp://guest:guest@localhost/), "
            "or pass --memory to try the worker alone in process",
            code=2,
        )
    structlog.contextvars.bind_contextvars(service=args.name)
    asyncio.run(serve(settings, args.name, memory=args.memory))
    return 0


async def serve(settings: Settings, name: str, *, memory: bool) -> None:
    """Serve worker ``name`` with metrics until a stop signal."""
    stop = stop_event()
    async with AsyncExitStack() as stack:
        stack.callback(configure_tracing(settings, name))
        resources, store = await open_store(stack, settings, embedded=memory)
        source = f"/gennaker/{name}/{socket.gethostname()}"
        bus: Bus
        if memory:
            bus = MemoryBus(source=source, retry=settings.retry_policy())
        else:
            bus = await connect_amqp(settings, source=source)
        stack.push_async_callback(bus.close)
        try:
            server, _thread = start_http_server(settings.metrics_port)
        except OSError as error:
            raise CliError(
                f"cannot serve metrics on port {settings.metrics_port}: {error.strerror or error}; "
                "set GENNAKER_METRICS_PORT to a free port (0 picks one)"
            ) from None
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        log.info("metrics served", port=server.server_port, path="/metrics")
        hosts = await host_workers(stack, bus, (name,), resources)
        log.info("worker running", instance=hosts[0].instance, store=store)
        await stop.wait()
