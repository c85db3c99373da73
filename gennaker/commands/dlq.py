"""``gennaker dlq list|show|replay``: see why messages were dead-lettered and put them back.

With ``GENNAKER_AMQP_URL`` set it reads RabbitMQ's dead-letter queue directly; otherwise it uses
the gateway's ``/dlq`` routes at ``GENNAKER_GATEWAY_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

from gennaker.commands._common import CliError, connect_amqp
from gennaker.commands._formats import output_option, print_data
from gennaker.commands._gateway_client import GatewayClient
from gennaker.commands._table import print_table

if TYPE_CHECKING:
    from bus import DeadLetter
    from gennaker.settings import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``dlq list``, ``dlq show`` and ``dlq replay`` to the CLI."""
    parser = commands.add_parser("dlq", parents=[common], help="inspect and replay dead letters", description=__doc__)
    actions = parser.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    listing = actions.add_parser("list", parents=[common], help="list dead letters, oldest first")
    output_option(listing, "id, queue, time and reason")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", parents=[common], help="show one dead letter with traceback and body")
    show.add_argument("id", metavar="ID")
    output_option(show, "its fields, traceback and body")
    show.set_defaults(run=run_show)
    replay = actions.add_parser("replay", parents=[common], help="put dead letters back on their queues")
    replay.add_argument("ids", metavar="ID", nargs="*")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.set_defaults(run=run_replay)


async def _letters(settings: Settings) -> list[dict[str, Any]]:
    if settings.amqp_url:
        bus = await connect_amqp(settings, source="/gennaker/cli")
        try:
            return [_as_dict(letter) for letter in await bus.dead_letters()]
        finally:
            await bus.close()
    async with GatewayClient.for_settings(settings) as gateway:
        answer = await gateway.request("GET", "/dlq")
    return list(answer or [])


def _as_dict(letter: DeadLetter) -> dict[str, Any]:
    """The same keys the gateway's ``/dlq`` routes answer with, so both paths print alike."""
    data = letter.model_dump(mode="json", exclude={"body", "dead_at"})
    data["deadAt"] = letter.dead_at.isoformat()
    data["body"] = letter.body_text()
    return data


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """A table of each dead letter's id, queue, time and reason, oldest first."""
    letters = asyncio.run(_letters(settings))
    if args.output != "table":
        print_data(letters, args.output)
        return 0
    rows = [[letter["id"], letter["queue"], letter["deadAt"], letter["reason"]] for letter in letters]
    print_table(["ID", "QUEUE", "DEAD AT", "REASON"], rows, empty="no dead letters")
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print one dead letter in full; exit status 1 when there is none with that id."""
    letter = asyncio.run(_show(settings, args.id))
    if args.output != "table":
        print_data(letter, args.output)
        return 0
    print(f"id:       {letter['id']}")
    print(f"queue:    {letter['queue']}")
    print(f"reason:   {letter['reason']}")
    print(f"dead at:  {letter['deadAt']}")
    print(f"attempts: {letter.get('attempts', '?')}")
    if letter.get("traceback"):
        print("traceback:")
        print(letter["traceback"].rstrip())
    print("body:")
    body = letter.get("body", "")
    try:
        print(json.dumps(json.loads(body), indent=2))
    except ValueError:
        print(body)
    return 0


async def _show(settings: Settings, id: str) -> dict[str, Any]:
    if settings.amqp_url:
        for letter in await _letters(settings):
            if letter["id"] == id:
                return letter
        raise CliError(f"no dead letter {id!r}; `gennaker dlq list` shows them")
    async with GatewayClient.for_settings(settings) as gateway:
        answer: dict[str, Any] = await gateway.request("GET", f"/dlq/{id}")
    return answer


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the given ids (or ``--all``); exit status 1 when some ids were not dead letters."""
    if bool(args.ids) == bool(args.all):
        raise CliError("name dead letter ids to replay, or pass --all (not both)", code=2)
    ids: list[str] | None = None if args.all else list(args.ids)
    replayed, not_found = asyncio.run(_replay(settings, ids))
    print(f"replayed {replayed} dead letter{'s' if replayed != 1 else ''}")
    if not_found:
        raise CliError(f"no dead letters with ids: {', '.join(not_found)}; `gennaker dlq list` shows them")
    return 0


async def _replay(settings: Settings, ids: list[str] | None) -> tuple[int, list[str]]:
    if settings.amqp_url:
        bus = await connect_amqp(settings, source="/gennaker/cli")
        try:
            known = {letter.id for letter in await bus.dead_letters()}
            replayed = await bus.replay(ids)
        finally:
            await bus.close()
        return replayed, [id for id in ids or () if id not in known]
    body: dict[str, Any] = {"all": True} if ids is None else {"ids": ids}
    async with GatewayClient.for_settings(settings) as gateway:
        answer = await gateway.request("POST", "/dlq/replay", body=body)
    return int(answer.get("replayed", 0)), list(answer.get("notFound", []))
