"""Which HTTP statuses Echo tries again: one answer for every notification channel and sink.

A throttled (429) or failing (5xx) outside system may take the same request later, so the message
waits and is redelivered; any other refusal is final for that request. Sinks wait on a few more
(see :func:`workers.echo.sinks.outcome.transient`).
"""

from __future__ import annotations


def worth_retrying(status: int) -> bool:
    """``status`` says "not now" rather than "never": 429 Too Many Requests or any 5xx."""
    return status == 429 or status >= 500
