"""Messages every service understands, whatever its domain: liveness pings."""

from __future__ import annotations

from typing import ClassVar

from schemas.base import Event, Query, Reply
from schemas.registry import message


@message
class Pong(Reply):
    """A service's answer to :class:`Ping`: who answered and which version it runs."""

    message_type: ClassVar[str] = "system.Pong"
    service: str
    version: str
    instance: str


@message
class Ping(Query):
    """Asks one service whether it is alive; the gateway's ``/health`` sends one to each worker."""

    message_type: ClassVar[str] = "system.Ping"
    reply_model: ClassVar[type[Reply]] = Pong


@message
class WorkerStarted(Event):
    """A worker process began consuming; operators see it in ``gennaker events tail``."""

    message_type: ClassVar[str] = "system.worker.started"
    service: str
    version: str
    instance: str


@message
class WorkerStopped(Event):
    """A worker process stopped consuming after a graceful shutdown."""

    message_type: ClassVar[str] = "system.worker.stopped"
    service: str
    instance: str
    reason: str
