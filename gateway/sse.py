"""The server-sent events wire format, kept apart from what the gateway streams.

One frame per message, blank-line terminated; a line starting with ``:`` is a comment that clients
ignore and proxies see as traffic, which is what a heartbeat needs.
"""

from __future__ import annotations

from aiohttp import web

MEDIA_TYPE = "text/event-stream"


def frame(*, data: str, event: str | None = None, id: str | None = None) -> bytes:
    """One event; ``data`` spanning lines is sent as several ``data:`` lines, as the spec requires."""
    lines = []
    if id is not None:
        lines.append(f"id: {_one_line(id)}")
    if event is not None:
        lines.append(f"event: {_one_line(event)}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    """A comment frame, e.g. a heartbeat."""
    return f": {_one_line(text)}\n\n".encode()


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


async def open_stream(request: web.Request) -> web.StreamResponse:
    """Send the headers of an event stream that proxies will neither buffer nor cache."""
    response = web.StreamResponse(
        headers={"Content-Type": MEDIA_TYPE, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    return response
