"""What the sub-commands share: the CLI's error type, stop signals, and connecting to the bus."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the bus is imported by the commands that connect to one, when they do
    from bus import Bus, DeadLetterArchive
    from gennaker.settings import Settings


def _log() -> Any:
    """The CLI's logger; structlog is imported when something is logged, not by every command's ``--help``."""
    import structlog

    return structlog.get_logger("gennaker.cli")


class CliError(Exception):
    """A failure the user can fix: printed as ``gennaker: <message>``, exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def stop_event() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT; a second signal exits at once (status 130)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            _log().warning("second signal, exiting without finishing", signal=signal.Signals(signum).name)
            sys.stderr.flush()
            os._exit(130)
        _log().info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    return stop


def optional_module(name: str, what: str) -> Any:
    """Import ``name``, or fail with a :class:`CliError` saying which part of Gennaker is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and name.startswith(error.name):
            raise CliError(f"{what} is not part of this build of Gennaker (module {name} is missing)") from None
        raise


async def connect_amqp(settings: Settings, *, source: str) -> Bus:
    """The RabbitMQ bus at ``GENNAKER_AMQP_URL``, which must be set."""
    if not settings.amqp_url:
        raise CliError("GENNAKER_AMQP_URL is not set; set it to the RabbitMQ URL, e.g. amqp://guest:guest@localhost/")
    from gennaker.settings import redact_url

    amqp = optional_module("bus.amqp", "the RabbitMQ bus")
    try:
        bus: Bus = await amqp.AmqpBus.connect(settings.amqp_url, source=source, retry=settings.retry_policy())
    except Exception as error:
        message = str(error).replace(settings.amqp_url, redact_url(settings.amqp_url))
        raise CliError(
            f"cannot connect to RabbitMQ at {redact_url(settings.amqp_url)} (GENNAKER_AMQP_URL): {message}; "
            "check the URL and that the broker is running"
        ) from None
    _log().info("connected to RabbitMQ", url=redact_url(settings.amqp_url))
    return bus


async def connect_bus(
    settings: Settings, *, source: str, dead_letters: DeadLetterArchive | None = None
) -> tuple[Bus, str]:
    """RabbitMQ when ``GENNAKER_AMQP_URL`` is set, else a fresh in-process bus keeping its dead
    letters in ``dead_letters`` (default: memory); and its description."""
    from bus import MemoryBus
    from gennaker.settings import redact_url

    if settings.amqp_url:
        return await connect_amqp(settings, source=source), f"amqp {redact_url(settings.amqp_url)}"
    return MemoryBus(source=source, retry=settings.retry_policy(), dead_letters=dead_letters), "memory"
