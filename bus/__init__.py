"""Transport only: the CloudEvents envelope, the ``Bus`` interface, and its two implementations.

This package knows nothing of Spinnaker. Services depend on :class:`Bus`; ``AmqpBus`` carries it
over RabbitMQ and ``MemoryBus`` in process.
"""

from bus.availability import fail_fast
from bus.base import Bus, Consumption
from bus.context import MessageContext, Sender
from bus.dead_letter import DeadLetter, DeadLetterArchive
from bus.encoded import EncodedReply
from bus.endpoint import Endpoint, Handler, RawHandler
from bus.envelope import Envelope, new_id
from bus.errors import BrokerUnavailable, BusClosed, BusError, PermanentError, QueryFailed, QueryTimeout
from bus.memory import MemoryBus
from bus.replies import RawReply
from bus.retry import RetryPolicy
from bus.topic import topic_matches

__all__ = [
    "BrokerUnavailable",
    "Bus",
    "BusClosed",
    "BusError",
    "Consumption",
    "DeadLetter",
    "DeadLetterArchive",
    "EncodedReply",
    "Endpoint",
    "Envelope",
    "Handler",
    "MemoryBus",
    "MessageContext",
    "PermanentError",
    "QueryFailed",
    "QueryTimeout",
    "RawHandler",
    "RawReply",
    "RetryPolicy",
    "Sender",
    "fail_fast",
    "new_id",
    "topic_matches",
]
