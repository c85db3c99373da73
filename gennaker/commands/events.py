"""``gennaker events tail|publish``: follow events live, or raise one by hand.

With ``GENNAKER_AMQP_URL`` set both talk to RabbitMQ directly (the tail through a private queue
that vanishes when it exits); otherwise they go through the gateway at ``GENNAKER_GATEWAY_URL``
(``GET /events/stream``, ``POST /events``), which is how they work against ``gennaker up``.
``tail --since ID`` first prints the events that came after event ``ID`` (from Echo's recent-events
history, ``echo.ListRecentEvents``; through the gateway, as its ``Last-Event-ID`` resume), then
follows live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from pydantic import ValidationError

from bus import Bus, BusError, Endpoint, Envelope, MessageContext, topic_matches
from gennaker.commands._common import CliError, connect_amqp, stop_event
from gennaker.commands._formats import OUTPUT_FORMATS
from gennaker.commands._gateway_client import GatewayClient
from gennaker.settings import Settings
from schemas import Event, UnknownMessageType, parse_cloudevent_type, registry
from schemas.base import CLOUDEVENT_TYPE_PREFIX
from schemas.echo import ListRecentEvents, RecentEvents
from schemas.trust import is_gennaker_name
from schemas.validation import describe_problems

log = structlog.get_logger("gennaker.cli")

TAP_SERVICE = "cli-tail"
DATA_WIDTH = 300


INSTEAD = (
    "publish a CloudEvent of your own type instead (e.g. com.example.build.finished; a pipeline's cloudevent "
    "trigger starts on it), or use the API for what you want done"
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add ``events tail`` and ``events publish`` to the CLI."""
    parser = commands.add_parser("events", parents=[common], help="follow or publish events", description=__doc__)
    actions = parser.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    tail = actions.add_parser("tail", parents=[common], help="print events as they happen")
    tail.add_argument("pattern", metavar="PATTERN", nargs="?", default="#", help="topic pattern, e.g. 'orca.#'")
    tail.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help="table (one line per event: time, type, subject, source and data; the default), json (each "
        "envelope as one JSON line) or yaml (each envelope as a YAML document)",
    )
    tail.add_argument("--json", dest="output", action="store_const", const="json", help="the same as --output json")
    tail.add_argument("--application", metavar="A", help="only events about application A")
    tail.add_argument("--execution", metavar="E", help="only events about execution E")
    tail.add_argument("--count", type=int, metavar="N", help="exit after N events")
    tail.add_argument("--since", metavar="ID", help="first replay the events after event ID (a printed event's id)")
    tail.set_defaults(run=run_tail)
    publish = actions.add_parser("publish", parents=[common], help="validate and publish one event")
    publish.add_argument(
        "type",
        metavar="TYPE",
        help="a CloudEvents type of your own, e.g. com.example.build.finished (internal types are refused)",
    )
    publish.add_argument("--data", default="{}", metavar="JSON", help="the event's fields as a JSON object")
    publish.add_argument("--subject", metavar="S", help="the execution or resource the event is about")
    publish.set_defaults(run=run_publish)


def admits(envelope: Envelope, application: str | None, execution: str | None) -> bool:
    """The ``--application`` / ``--execution`` filters: subject or the matching data field."""
    data = envelope.data
    if application is not None and application not in (envelope.subject, data.get("application")):
        return False
    return execution is None or execution in (envelope.subject, data.get("executionId"), data.get("execution_id"))


def format_event(envelope: Envelope, output: str = "table") -> str:
    """How ``--output`` prints one event: ``table``, one line of time, type, subject, source and
    compact data; ``json``, the envelope as one JSON line (a stream of them is JSON Lines); ``yaml``,
    the envelope as one YAML document (``---`` first, so a stream of them is a YAML stream)."""
    if output == "json":
        return envelope.model_dump_json(exclude_none=True)
    if output == "yaml":
        import yaml

        document = yaml.safe_dump(
            envelope.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
        )
        return "---\n" + document.rstrip("\n")
    try:
        name, version = parse_cloudevent_type(envelope.type)
        kind = f"{name} v{version}"
    except ValueError:
        kind = envelope.type
    when = envelope.time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data = json.dumps(envelope.data, separators=(",", ":"), default=str)
    if len(data) > DATA_WIDTH:
        data = data[: DATA_WIDTH - 1] + "…"
    return f"{when}  {kind}  subject={envelope.subject or '-'}  source={envelope.source}  {data}"


def run_tail(args: argparse.Namespace, settings: Settings) -> int:
    """Print matching events until interrupted (or ``--count`` of them)."""
    if args.count is not None and args.count < 1:
        raise CliError("--count must be at least 1", code=2)
    asyncio.run(tail(settings, args))
    return 0


async def tail(settings: Settings, args: argparse.Namespace) -> None:
    """Follow events from RabbitMQ or the gateway until a stop signal, the stream's end or ``--count``."""
    stop = stop_event()
    since = getattr(args, "since", None)
    source = _amqp_events(settings, args.pattern, since) if settings.amqp_url else _gateway_events(settings, args)
    printed = 0
    events = aiter(source)
    stopped = asyncio.create_task(stop.wait())
    try:
        while args.count is None or printed < args.count:
            following = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({following, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if following not in done:
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
                break
            try:
                envelope = following.result()
            except StopAsyncIteration:
                raise CliError("the event stream ended: the gateway shut down") from None
            if admits(envelope, args.application, args.execution):
                print(format_event(envelope, args.output), flush=True)
                printed += 1
    finally:
        stopped.cancel()
        await source.aclose()


async def _amqp_events(settings: Settings, pattern: str, since: str | None = None) -> AsyncGenerator[Envelope]:
    bus = await connect_amqp(settings, source="/gennaker/cli")
    received: asyncio.Queue[Envelope] = asyncio.Queue()

    async def deliver(envelope: Envelope, context: MessageContext) -> None:
        await received.put(envelope)

    try:
        await bus.consume(
            Endpoint(service=TAP_SERVICE, kind="events", patterns=(pattern,), raw_handler=deliver, durable=False)
        )
        log.info("following events", pattern=pattern)
        replayed: set[str] = set()
        if since:
            for envelope in await _missed(bus, pattern, since):
                replayed.add(envelope.id)
                yield envelope
        while True:
            envelope = await received.get()
            if envelope.id not in replayed:
                yield envelope
    finally:
        await bus.close()


async def _missed(bus: Bus, pattern: str, since: str) -> list[Envelope]:
    """The events after ``since`` that Echo's history keeps and ``pattern`` matches."""
    try:
        reply = await bus.ask(ListRecentEvents(after=since, limit=5000), timeout=5)
    except BusError as error:
        print(f"gennaker: cannot replay events after {since}: {error}", file=sys.stderr)
        return []
    if not isinstance(reply, RecentEvents):
        return []
    if not reply.found:
        print(
            f"gennaker: event {since} is no longer in the recent history; replaying all that is kept", file=sys.stderr
        )
    events = [Envelope.model_validate(event) for event in reply.events]
    return [event for event in events if topic_matches(pattern, _routing_key(event))]


def _routing_key(envelope: Envelope) -> str:
    try:
        return parse_cloudevent_type(envelope.type)[0]
    except ValueError:
        return envelope.type


async def _gateway_events(settings: Settings, args: argparse.Namespace) -> AsyncGenerator[Envelope]:
    params = [("pattern", args.pattern)]
    params += [(name, value) for name in ("application", "execution") if (value := getattr(args, name))]
    if since := getattr(args, "since", None):
        params.append(("lastEventId", since))
    async with GatewayClient.for_settings(settings) as gateway:
        async for data in gateway.stream("/events/stream", params):
            try:
                yield Envelope.model_validate_json(data)
            except ValidationError:
                print(f"gennaker: skipped an event that is not a CloudEvent: {data[:200]}", file=sys.stderr)


def load_event(type_name: str, data_json: str) -> tuple[Event | None, dict[str, Any]]:
    """Validate ``data_json`` for ``type_name``: a Gennaker external event (by name or CloudEvents type)
    comes back validated, a foreign CloudEvents type (``com.example.build.finished``) as ``None``.

    Exit status 2 for bad data, an unknown Gennaker name, or an internal type: the CLI publishes as an
    outsider (``POST /events``, or RabbitMQ's external exchange), never as one of our services.
    """
    import schemas.catalog  # noqa: F401  (loads every message model into the registry)

    try:
        data = json.loads(data_json)
    except ValueError as error:
        raise CliError(f"--data is not valid JSON: {error}", code=2) from None
    if not isinstance(data, dict):
        raise CliError('--data must be a JSON object of the event\'s fields, e.g. \'{"result": "SUCCESS"}\'', code=2)
    name, version = type_name, None
    if type_name.casefold().startswith(CLOUDEVENT_TYPE_PREFIX):
        try:
            name, version = parse_cloudevent_type(type_name)
        except ValueError as error:
            raise CliError(str(error), code=2) from None
    elif not is_gennaker_name(type_name):
        return None, data
    if name not in registry:
        raise CliError(f"unknown event type {name!r}: Gennaker's names are its own; {INSTEAD}", code=2)
    model = registry.model(name)
    if not model.published_from_outside:
        raise CliError(
            f"{name!r} is an internal {model.message_kind} that only Gennaker's services publish; {INSTEAD}", code=2
        )
    if not issubclass(model, Event):
        raise CliError(f"{name!r} is a {model.message_kind}, not an event; only events can be published", code=2)
    try:
        event = registry.load(name, version or model.message_version, data)
    except UnknownMessageType as error:
        raise CliError(str(error), code=2) from None
    except ValidationError as error:
        raise CliError(f"invalid {name} event: {describe_problems(error)}", code=2) from None
    assert isinstance(event, Event)
    return event, data


def run_publish(args: argparse.Namespace, settings: Settings) -> int:
    """Validate locally, then publish as an outsider; prints the published envelope's id."""
    event, data = load_event(args.type, args.data)
    message_id = asyncio.run(publish(settings, event, data, args.type, args.subject))
    print(f"published {event.message_type if event else args.type} {message_id}")
    return 0


async def publish(
    settings: Settings, event: Event | None, data: dict[str, Any], type_name: str, subject: str | None
) -> str:
    """Publish through the external path on RabbitMQ, or hand it to the gateway; returns the envelope id."""
    if settings.amqp_url:
        bus = await connect_amqp(settings, source="/gennaker/cli")
        try:
            if event is None:
                envelope = Envelope(source="/gennaker/cli", type=type_name, subject=subject, data=data)
            else:
                envelope = bus.envelope(event, subject=subject)
            await bus.publish_external(envelope.to_bytes(), routing_key=event.message_type if event else type_name)
            return envelope.id
        finally:
            await bus.close()
    async with GatewayClient.for_settings(settings) as gateway:
        answer = await gateway.request("POST", "/events", body={"type": type_name, "data": data, "subject": subject})
    return str(answer.get("id", "?")) if isinstance(answer, dict) else "?"
