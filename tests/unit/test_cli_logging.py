"""Every process logs JSON lines with a timestamp, level and the context bound around the message."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from bus import Endpoint, MemoryBus, MessageContext
from gennaker.logging import configure_logging
from tests.contract.messages import DoWork


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("INFO", stream=out)
    yield out
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    for handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_lines_carry_context(stream: io.StringIO) -> None:
    with structlog.contextvars.bound_contextvars(service="orca", correlation_id="c1", message_id="m1"):
        structlog.get_logger("gennaker.test").info("stage started", stage="deploy")
    structlog.get_logger("gennaker.test").debug("not at INFO")
    [entry] = lines(stream)
    assert entry["event"] == "stage started"
    assert entry["level"] == "info"
    assert entry["logger"] == "gennaker.test"
    assert entry["service"] == "orca" and entry["correlation_id"] == "c1" and entry["message_id"] == "m1"
    assert entry["stage"] == "deploy"
    assert isinstance(entry["timestamp"], str) and entry["timestamp"].endswith("Z")


async def test_a_handlers_lines_carry_the_message_it_handles(stream: io.StringIO) -> None:
    bus = MemoryBus(source="/logging")
    handled = asyncio.Event()

    async def handle(work: DoWork, context: MessageContext) -> None:
        structlog.get_logger("gennaker.test").info("working", job=work.job)
        structlog.get_logger("gennaker.test").info("named", message_type="mine")
        logging.getLogger("aio_pika").warning("library line")
        handled.set()

    with structlog.contextvars.bound_contextvars(service="runner"):
        await bus.consume(Endpoint(service="logged", kind="commands", handlers={"contract.DoWork": handle}))
        sent = await bus.send(DoWork(job="j1"), to="logged", subject="execution-1")
        await asyncio.wait_for(handled.wait(), 5)
        structlog.get_logger("gennaker.test").info("after")
    await bus.close()
    working, named, library, after = lines(stream)
    expected = {
        "service": "logged",
        "correlation_id": sent.correlationid,
        "message_id": sent.id,
        "message_type": "io.gennaker.contract.DoWork.v1",
        "subject": "execution-1",
        "attempt": 1,
    }
    assert working == {**working, **expected, "job": "j1"}
    assert library == {**library, **expected, "event": "library line"}
    assert named["message_type"] == "mine", "a field the line names itself wins"
    assert after["service"] == "runner" and "message_id" not in after, "only while the handler runs"


def test_library_logs_come_out_as_json_from_warning_up(stream: io.StringIO) -> None:
    logging.getLogger("aio_pika").info("chatter")
    logging.getLogger("aio_pika").warning("connection lost to %s", "rabbit")
    [entry] = lines(stream)
    assert entry == {**entry, "event": "connection lost to rabbit", "level": "warning", "logger": "aio_pika"}


def test_exceptions_are_rendered_into_the_line(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger("gennaker.test").exception("handler crashed")
    [entry] = lines(stream)
    assert "RuntimeError: boom" in str(entry["exception"])


def test_service_can_be_bound_for_the_whole_process() -> None:
    out = io.StringIO()
    try:
        configure_logging("debug", service="front50", stream=out)
        structlog.get_logger("gennaker.test").debug("hello")
        [entry] = lines(out)
        assert entry["service"] == "front50"
        assert entry["level"] == "debug"
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)


def test_secrets_in_a_lines_fields_are_written_as_the_marker(stream: io.StringIO) -> None:
    trigger = {"type": "webhook", "secret": "s3cret-in-a-trigger"}
    structlog.get_logger("gennaker.test").info("saving", trigger=trigger, password="hunter2", token="gnk_abc")
    text = stream.getvalue()
    for secret in ("s3cret-in-a-trigger", "hunter2", "gnk_abc"):
        assert secret not in text
    [entry] = lines(stream)
    assert entry["trigger"] == {"type": "webhook", "secret": "**********"} and entry["password"] == "**********"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr is in a person's shell."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "format"), [(Terminal(), "auto"), (io.StringIO(), "console")])
def test_a_person_reads_lines_not_json(stream: io.StringIO, format: str) -> None:
    try:
        configure_logging("INFO", stream=stream, format=format)  # type: ignore[arg-type]
        structlog.get_logger("gennaker.test").info("stage started", stage="deploy", token="gnk_abc")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger("gennaker.test").exception("handler crashed")
        logging.getLogger("aio_pika").warning("connection lost")
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.reset_defaults()
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    first = text.splitlines()[0]
    assert not first.startswith("{") and "stage started" in first and "stage" in first and "deploy" in first
    assert "gnk_abc" not in text, "secrets stay hidden on a terminal too"
    assert "RuntimeError: boom" in text and "connection lost" in text
    assert ("\x1b[" in text) is isinstance(stream, Terminal), "colours only on a terminal"


def test_json_can_be_asked_for_on_a_terminal() -> None:
    out = Terminal()
    try:
        configure_logging("INFO", stream=out, format="json")
        structlog.get_logger("gennaker.test").info("stage started")
    finally:
        structlog.reset_defaults()
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
    assert json.loads(out.getvalue())["event"] == "stage started"
