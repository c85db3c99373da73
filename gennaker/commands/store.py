"""``gennaker store serve``: the embedded MongoDB-compatible store alone, for several processes to share.

Point every worker's ``GENNAKER_MONGO_URL`` at the URL it prints. One process serves a file.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from gennaker.commands._common import CliError, stop_event
from gennaker.settings import Settings
from gennaker.store import EmbeddedStore, StoreUnavailable


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``store serve`` to the CLI."""
    store = commands.add_parser("store", parents=[common], help="the embedded store", description=__doc__)
    actions = store.add_subparsers(dest="store_command", required=True, metavar="COMMAND")
    serve_parser = actions.add_parser("serve", parents=[common], help="serve the embedded store", description=__doc__)
    serve_parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    serve_parser.add_argument("--path", type=Path, help="SQLite file (default: <GENNAKER_DATA_DIR>/store.sqlite)")
    serve_parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT."""
    path: Path = args.path.expanduser() if args.path else settings.store_path()
    asyncio.run(serve(EmbeddedStore(path, host=args.host, port=args.port)))
    return 0


async def serve(store: EmbeddedStore) -> None:
    """Start ``store``, print its URL, wait for a stop signal, close it."""
    stop = stop_event()
    try:
        url = await store.start()
    except StoreUnavailable as error:
        raise CliError(str(error)) from None
    try:
        print(f"Gennaker store is up: {url} (file {store.path})", flush=True)
        await stop.wait()
    finally:
        await store.close()
