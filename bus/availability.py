"""Whether a caller waits for the broker to come back or is told at once that it is away.

A worker's handler rides out a short broker outage: its effects are worth the wait, and its
message is redelivered if the wait fails. A caller answering a person (the gateway's requests)
wants the opposite: within :func:`fail_fast`, a bus whose broker is away raises
:class:`~bus.errors.BrokerUnavailable` at once instead of waiting, so the person hears "try again
shortly" (503 with ``Retry-After``) instead of a hang or an internal error::

    with fail_fast():
        await bus.send(command)   # BrokerUnavailable now, while the connection is down
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_FAIL_FAST: ContextVar[bool] = ContextVar("gennaker_bus_fail_fast", default=False)


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """Within this block (and the tasks it starts), bus calls do not wait for a broker that is away."""
    token = _FAIL_FAST.set(True)
    try:
        yield
    finally:
        _FAIL_FAST.reset(token)


def failing_fast() -> bool:
    """Whether the current caller asked not to wait for the broker."""
    return _FAIL_FAST.get()
