"""Which failures of aio-pika mean "the broker is away for now", and how to say so to a person."""

from __future__ import annotations

import aiormq

TRANSIENT_ERRORS = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    RuntimeError,
)
"""What a lost connection or a closed channel raises: worth waiting for the broker and trying again."""


def in_words(error: BaseException) -> str:
    """What went wrong with the broker, for a person: aio-pika names channels by their object repr."""
    if isinstance(error, aiormq.exceptions.ChannelInvalidStateError | RuntimeError):
        return "its channel to RabbitMQ is closed"
    if isinstance(error, aiormq.exceptions.AMQPConnectionError):
        return "the connection to RabbitMQ failed"
    message = str(error)
    return message if message and "<" not in message else type(error).__name__
