"""Answers each Front50 command exactly once, however often the bus delivers it.

Delivery is at least once, so a command may arrive again after it was applied (a consumer died
before its ack, or the result event was lost). The first delivery stores its outcome — the result
event — under the command's envelope id in ``front50_applied_commands``; any later delivery finds it
and re-publishes the same event without touching the data again.

Saves are safe even if the process dies between the write and the outcome record: the written
document carries ``lastCommand`` and the store returns it instead of writing again. Deletes leave
no document to carry a mark, so their outcome is recorded as *pending* before the delete runs and
the delete (idempotent) is re-run on redelivery until the outcome is marked done.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import structlog

from bus.context import MessageContext
from schemas import Command, Event, registry
from schemas.front50 import CommandRejected
from workers.front50.errors import Rejected
from workers.front50.store import Front50Store

log = structlog.get_logger("gennaker.front50")

Apply = Callable[[Event], Awaitable[None]]


async def answer_once(
    store: Front50Store,
    context: MessageContext,
    command: Command,
    decide: Callable[[], Awaitable[Event]],
    apply: Apply | None = None,
) -> Event:
    """Publish the one result event of ``command``: a stored one, or ``decide()``'s (then ``apply`` it).

    ``decide`` checks the input and, for saves, writes; it raises :class:`Rejected` to refuse.
    ``apply`` carries out a delete the event describes; it must be safe to run twice.
    """
    command_id = context.envelope.id
    record = await store.outcome(command_id)
    if record is not None:
        event = _stored_event(record)
        if record.get("pending") and apply is not None:
            await apply(event)
            await store.finish_outcome(command_id)
        log.info("command seen before, re-publishing its result", result=event.message_type)
    else:
        try:
            event = await decide()
        except Rejected as rejected:
            event = CommandRejected(
                command_type=command.message_type,
                status=rejected.status,
                reason=rejected.reason,
                field=rejected.field,
                task_id=_task_id(command),
            )
            log.info("command rejected", status=rejected.status, field=rejected.field, reason=rejected.reason)
        pending = apply is not None and not isinstance(event, CommandRejected)
        await store.record_outcome(
            command_id, command.message_type, event.message_type, event.model_dump(mode="json"), pending=pending
        )
        if pending and apply is not None:
            await apply(event)
            await store.finish_outcome(command_id)
    # after every write and before the event that tells the asker it is done: read caches on every
    # replica see the change before anyone can ask for it (even a redelivery bumps: it may finish a write)
    await store.bump_revision()
    await context.publish(event)
    return event


def _stored_event(record: dict[str, object]) -> Event:
    model = registry.model(str(record["eventType"]))
    event = model.model_validate(json.loads(str(record["event"])))
    if not isinstance(event, Event):
        raise TypeError(f"stored outcome of {record['_id']} is a {model.__name__}, not an event")
    return event


def _task_id(command: Command) -> str | None:
    """Commands sent by an Orca task carry its id; echoing it lets the task match the rejection."""
    task_id = getattr(command, "task_id", None)
    return task_id if isinstance(task_id, str) else None
