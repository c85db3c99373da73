"""One log format for every Gennaker process: JSON lines on stderr, one object per event.

Each line carries an ISO-8601 UTC ``timestamp``, ``level``, ``logger``, ``event`` and whatever is
bound in context variables: the bus binds ``correlation_id``, ``message_id``, ``message_type`` and
``subject`` while a message is handled, and the runner binds ``service``. Libraries that log
through the standard library (aio-pika, aiohttp, pymongo) come out in the same format, from
WARNING up, so stdout stays free for what the CLI prints. Values under a secret's key
(``secret``, ``password``, ``token``…, :mod:`schemas.secrets`) are written as the marker, wherever
in a line's fields they are.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from schemas.secrets import redact

LIBRARY_LEVEL = logging.WARNING


def configure_logging(level: str = "INFO", *, service: str | None = None, stream: TextIO | None = None) -> None:
    """Send structlog and stdlib logging to ``stream`` (stderr) as JSON at ``level``.

    ``service`` is bound for the whole process (``gennaker worker NAME``); ``gennaker up`` binds
    it per worker instead. Calling it again reconfigures.
    """
    out: TextIO = stream or _Stderr()  # type: ignore[assignment]
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        hide_secrets,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_NamedWriteLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(max(numeric, LIBRARY_LEVEL))
    if service is not None:
        structlog.contextvars.bind_contextvars(service=service)


def hide_secrets(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """structlog processor: every secret in the line's fields replaced by the marker."""
    hidden: EventDict = redact(event)
    return hidden


class _Stderr:
    """Whatever ``sys.stderr`` is at the moment of writing, so a replaced stderr (tests) still works."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _NamedLogger(structlog.WriteLogger):
    """A write logger that remembers its name, so ``add_logger_name`` works without stdlib loggers."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedLogger:
        name = str(args[0]) if args else "gennaker"
        return _NamedLogger(self._file, name)
