"""``gennaker gateway``: only the gateway, on RabbitMQ, for a distributed deployment.

It holds no database connection: every request becomes a command or query on the bus.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack

from gennaker.commands._common import CliError, connect_amqp, stop_event
from gennaker.commands._runtime import serve_gateway
from gennaker.settings import Settings
from gennaker.telemetry import configure_tracing


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``gateway`` to the CLI."""
    parser = commands.add_parser("gateway", parents=[common], help="run only the gateway", description=__doc__)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the gateway until SIGTERM or SIGINT."""
    if not settings.amqp_url:
        raise CliError(
            "gennaker gateway needs RabbitMQ: set GENNAKER_AMQP_URL, "
            "or run `gennaker up` for everything in one process",
            code=2,
        )
    asyncio.run(serve(settings))
    return 0


async def serve(settings: Settings) -> None:
    """Connect, serve, print the URL, wait for a stop signal."""
    stop = stop_event()
    async with AsyncExitStack() as stack:
        stack.callback(configure_tracing(settings, "gateway"))
        bus = await connect_amqp(settings, source="/gennaker/gateway")
        stack.push_async_callback(bus.close)
        url = await serve_gateway(stack, bus, settings)
        print(f"Gennaker gateway is up: {url} (swagger: {url}/swagger-ui.html)", flush=True)
        await stop.wait()
