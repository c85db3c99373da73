"""The pieces of the event stream that need no server: SSE framing, filters, the tap's buffer."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from bus import Envelope
from gateway import sse
from gateway.events_stream import EventStreamQuery, EventTap


def envelope(subject: str | None = None, **data: object) -> Envelope:
    return Envelope(source="/test", type="io.gennaker.test.Happened.v1", subject=subject, data=data)


def test_frame_carries_id_event_and_each_line_of_data() -> None:
    assert sse.frame(id="1", event="t", data="a\nb") == b"id: 1\nevent: t\ndata: a\ndata: b\n\n"


def test_frame_and_comment_cannot_be_broken_by_newlines_in_fields() -> None:
    assert sse.frame(id="1\n\nevent: x", data="d") == b"id: 1  event: x\ndata: d\n\n"
    assert sse.comment("a\nb") == b": a b\n\n"


def test_application_filter_matches_subject_or_data_application() -> None:
    query = EventStreamQuery(application="shop")

    assert query.admits(envelope(subject="shop"))
    assert query.admits(envelope(application="shop"))
    assert not query.admits(envelope(subject="other", application="other"))


def test_execution_filter_matches_subject_or_data_execution_id_and_combines_with_application() -> None:
    query = EventStreamQuery(application="shop", execution="e-1")

    assert query.admits(envelope(application="shop", executionId="e-1"))
    assert not query.admits(envelope(application="shop", executionId="e-2"))
    assert not query.admits(envelope(subject="e-1", application="other"))


def test_no_filter_admits_everything() -> None:
    assert EventStreamQuery().admits(envelope())
    assert EventStreamQuery().pattern == ["#"]


@pytest.mark.parametrize("pattern", ["", "orca..x", " orca", "orca.#."])
def test_patterns_must_be_topic_patterns(pattern: str) -> None:
    with pytest.raises(ValidationError, match="topic pattern"):
        EventStreamQuery(pattern=[pattern])


async def test_closing_the_tap_releases_a_delivery_blocked_on_a_full_buffer() -> None:
    tap = EventTap(EventStreamQuery(), buffer=2)
    await tap.deliver(envelope(), context=None)  # type: ignore[arg-type]
    await tap.deliver(envelope(), context=None)  # type: ignore[arg-type]
    blocked = asyncio.create_task(tap.deliver(envelope(), context=None))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not blocked.done()

    tap.close()

    await asyncio.wait_for(blocked, 1)
    assert await tap.next(0.01) is None
    await tap.deliver(envelope("after"), context=None)  # type: ignore[arg-type]


async def test_next_times_out_to_none_then_returns_events_in_order() -> None:
    tap = EventTap(EventStreamQuery(), buffer=8)
    assert await tap.next(0.01) is None
    first, second = envelope("1"), envelope("2")
    await tap.deliver(first, context=None)  # type: ignore[arg-type]
    await tap.deliver(second, context=None)  # type: ignore[arg-type]
    assert [await tap.next(1), await tap.next(1)] == [first, second]
