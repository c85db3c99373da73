"""One log format for every Gennaker process: JSON lines on stderr, one object per event, or
readable lines when stderr is a terminal (``log_format``: ``auto``, the default, picks the console
renderer for a TTY and JSON otherwise; ``json`` and ``console`` force one).

Each line carries an ISO-8601 UTC ``timestamp``, ``level``, ``logger``, ``event`` and whatever is
bound in context variables (the runner binds ``service``) and, while a message is handled, its
``service``, ``correlation_id``, ``message_id``, ``message_type``, ``subject`` and ``attempt``
(:mod:`bus.log_fields`). Libraries that log
through the standard library (aio-pika, aiohttp, pymongo) come out in the same format, from
WARNING up, so stdout stays free for what the CLI prints. Values under a secret's key
(``secret``, ``password``, ``token``…, :mod:`schemas.secrets`) are written as the marker, wherever
in a line's fields they are.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from bus.log_fields import add_message_fields
from schemas.secrets import redact

LIBRARY_LEVEL = logging.WARNING


LogFormat = Literal["auto", "json", "console"]


def configure_logging(
    level: str = "INFO", *, service: str | None = None, stream: TextIO | None = None, format: LogFormat = "auto"
) -> None:
    """Send structlog and stdlib logging to ``stream`` (stderr) at ``level``: as JSON, or for a
    person (``format="console"``, or ``"auto"`` on a terminal), coloured on a terminal.

    ``service`` is bound for the whole process (``gennaker worker NAME``); ``gennaker up`` binds
    it per worker instead. Calling it again reconfigures.
    """
    out: TextIO = stream or _Stderr()  # type: ignore[assignment]
    terminal = _is_terminal(out)
    console = format == "console" or (format == "auto" and terminal)
    # the console renderer draws exceptions itself; JSON needs them formatted into the line first
    rendering: list[Processor] = (
        # plain tracebacks: a rich one shows each frame's local variables, secrets among them
        [structlog.dev.ConsoleRenderer(colors=terminal, exception_formatter=structlog.dev.plain_traceback)]
        if console
        else [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Processor] = [
        add_message_fields,
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
            *rendering,
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
                *rendering,
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


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed stream
        return False


class _Stderr:
    """Whatever ``sys.stderr`` is at the moment of writing, so a replaced stderr (tests) still works."""

    def isatty(self) -> bool:
        return _is_terminal(sys.stderr)

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
