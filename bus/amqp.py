"""The :class:`Bus` on RabbitMQ, through aio-pika.

Topology (declared idempotently on connect and on first use):

* ``gennaker.commands`` (direct): routing key = service; queue ``gennaker.<service>.commands``.
* ``gennaker.queries`` (direct): routing key = service; queue ``gennaker.<service>.queries``;
  replies come back through RabbitMQ's direct reply-to (``amq.rabbitmq.reply-to``).
* ``gennaker.events`` (topic): routing key = event type; each subscriber binds its own queue.
* ``gennaker.external`` (topic), bound into ``gennaker.events`` with ``#``: the one exchange outside
  systems may write to (``deploy/rabbitmq``). A delivery names the exchange it was first published
  to, whatever bindings carried it on, so a consumer knows from the broker — not from anything the
  publisher wrote — that it came from outside; :func:`bus.dispatch.dispatch` then refuses internal types.
* ``gennaker.retry`` (headers): a failed message is republished here with its queue's name as
  routing key and a delay header; it waits in ``gennaker.retry.<ms>`` (a TTL queue whose dead-letter
  exchange is the default exchange) and so returns, after the delay, to exactly the queue it
  failed on and to no other subscriber.
* ``gennaker.dead`` (fanout) → ``gennaker.dead-letters``: messages that could not be handled, with
  the reason and traceback in headers.

Durable queues are quorum queues when the broker supports them; messages are persistent and
published with confirms; a consumer acknowledges only after its handler returned and any retry or
dead letter it caused was confirmed, so a crash at any point redelivers rather than loses.

This module holds the connection, the topology and publishing; a consumed endpoint is
:mod:`bus.amqp_consumption`, the headers of retries and dead letters :mod:`bus.amqp_headers`, and
which broker failures are transient :mod:`bus.amqp_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from pamqp.commands import Basic
from pamqp.common import Arguments

from bus.amqp_consumption import AmqpConsumption
from bus.amqp_errors import TRANSIENT_ERRORS, in_words
from bus.amqp_headers import DELAY_HEADER, dead_copy, dead_letter_of, replay_copy, retry_copy
from bus.availability import failing_fast
from bus.base import Bus
from bus.dead_letter import DeadLetter
from bus.dispatch import Verdict, dead_reply
from bus.endpoint import (
    COMMANDS_EXCHANGE,
    DEAD_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EVENTS_EXCHANGE,
    EXTERNAL_EXCHANGE,
    QUERIES_EXCHANGE,
    RETRY_EXCHANGE,
    Endpoint,
    private_queue_name,
    queue_name,
)
from bus.envelope import CONTENT_TYPE, Envelope, new_id
from bus.errors import BrokerUnavailable, BusClosed, QueryTimeout
from bus.overflow import QueueFull, refused
from bus.retry import RetryPolicy
from schemas import Query

log = structlog.get_logger("gennaker.bus.amqp")

REPLY_TO = "amq.rabbitmq.reply-to"
PUBLISH_RETRY_SECONDS = 60.0
Properties = Basic.Properties
PERSISTENT = aio_pika.DeliveryMode.PERSISTENT.value
NOT_PERSISTENT = aio_pika.DeliveryMode.NOT_PERSISTENT.value


class AmqpBus(Bus):
    """The :class:`Bus` on RabbitMQ. Create it with :meth:`connect`; close it with :meth:`close`.

    The connection is robust: after a broker restart aio-pika reconnects and re-declares queues and
    consumers, and :meth:`send` / :meth:`publish` wait for the connection and publish again, so a
    call that returned was confirmed by the broker and a call that is waiting will not give up
    silently (it raises after a minute without a broker).
    """

    def __init__(self, connection: AbstractRobustConnection, *, source: str, retry: RetryPolicy | None) -> None:
        super().__init__(source=source, retry=retry)
        self._connection = connection
        self._channel: AbstractChannel | None = None
        self._reply_channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._declared: set[str] = set()
        self._queue_arguments: dict[str, Arguments] = {}
        self._quorum = True
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._consumptions: set[AmqpConsumption] = set()
        self._publish_lock = asyncio.Lock()
        self._closed = False
        self._broker = "RabbitMQ"
        """Where the broker is, for messages (host, port and virtual host; never the credentials)."""

    @classmethod
    async def connect(cls, url: str, *, source: str = "/gennaker", retry: RetryPolicy | None = None) -> AmqpBus:
        """Connect to the broker at ``url`` and declare Gennaker's exchanges.

        Raises ``ConnectionError`` naming the URL when the broker does not answer.
        """
        try:
            connection = await aio_pika.connect_robust(url, client_properties={"connection_name": source})
        except (OSError, aiormq.exceptions.AMQPError) as error:
            raise ConnectionError(f"cannot reach RabbitMQ at {url}: {error}; is the broker running?") from error
        bus = cls(connection, source=source, retry=retry)
        parts = urlsplit(url)
        bus._broker = f"{parts.hostname or 'localhost'}:{parts.port or 5672}{parts.path if len(parts.path) > 1 else ''}"
        await bus._setup()
        connection.reconnect_callbacks.add(bus._on_reconnect)
        connection.close_callbacks.add(bus._on_connection_lost)
        return bus

    def _on_connection_lost(self, *_: object) -> None:
        if not self._closed:
            self.interruptions += 1
            log.warning("lost the connection to RabbitMQ; reconnecting", broker=self._where())

    def _where(self) -> str:
        return self._broker

    def outage(self) -> str | None:
        if self._closed:
            return "the bus is closed"
        if not self._connection.connected.is_set():
            return f"the connection to RabbitMQ at {self._where()} is lost; reconnecting"
        return None

    async def _setup(self) -> None:
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = channel
        kinds = {
            COMMANDS_EXCHANGE: aio_pika.ExchangeType.DIRECT,
            QUERIES_EXCHANGE: aio_pika.ExchangeType.DIRECT,
            EVENTS_EXCHANGE: aio_pika.ExchangeType.TOPIC,
            EXTERNAL_EXCHANGE: aio_pika.ExchangeType.TOPIC,
            RETRY_EXCHANGE: aio_pika.ExchangeType.HEADERS,
            DEAD_EXCHANGE: aio_pika.ExchangeType.FANOUT,
        }
        for name, kind in kinds.items():
            self._exchanges[name] = await channel.declare_exchange(name, kind, durable=True)
        await self._exchanges[EVENTS_EXCHANGE].bind(self._exchanges[EXTERNAL_EXCHANGE], routing_key="#")
        dead = await self._declare_durable(DEAD_LETTER_QUEUE)
        await dead.bind(self._exchanges[DEAD_EXCHANGE], routing_key="")
        await self._setup_replies()

    async def _setup_replies(self) -> None:
        """Consume direct reply-to on a channel of its own; queries are published on that channel."""
        self._reply_channel = await self._connection.channel(publisher_confirms=False)
        underlay = await self._reply_channel.get_underlay_channel()
        await underlay.basic_consume(REPLY_TO, self._on_reply, no_ack=True)

    async def _on_reconnect(self, *_: object) -> None:
        # aio-pika restores declared queues and consumers; direct reply-to is a pseudo-queue it
        # cannot restore, so asks in flight during an outage time out and new ones work again.
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await self._setup_replies()

    async def _on_reply(self, message: aiormq.abc.DeliveredMessage) -> None:
        correlation = message.header.properties.correlation_id
        future = self._pending.get(correlation or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    def _channel_or_raise(self) -> AbstractChannel:
        if self._closed or self._channel is None:
            raise BusClosed("the AMQP bus is closed")
        return self._channel

    async def _declare_durable(
        self, name: str, channel: AbstractChannel | None = None, extra: Arguments = None
    ) -> AbstractQueue:
        """Declare a durable queue, as a quorum queue when the broker allows it, with ``extra`` arguments.

        A queue that already exists with other arguments is used as it is (passively), so
        upgrading never fails on a queue an older version declared. Declaring on ``channel``
        (a consumer's own) makes aio-pika re-declare and re-consume it after a reconnect.
        """
        if name not in self._queue_arguments:
            self._queue_arguments[name] = await self._probe_arguments(name, extra or {})
        arguments = self._queue_arguments[name]
        target = channel or self._channel_or_raise()
        if arguments is None:
            return await target.declare_queue(name, passive=True)
        return await target.declare_queue(name, durable=True, arguments=arguments)

    async def _probe_arguments(self, name: str, extra: dict[str, Any]) -> Arguments:
        """The arguments ``name`` can be declared with: quorum, classic, or None for "as it exists"."""
        channel = self._channel_or_raise()
        if self._quorum:
            try:
                quorum = {"x-queue-type": "quorum", **extra}
                await channel.declare_queue(name, durable=True, arguments=quorum)
                return quorum
            except aiormq.exceptions.ChannelPreconditionFailed:
                await self._reopen_channel()
                return None
            except aiormq.exceptions.AMQPError:
                log.warning("broker refused a quorum queue; using classic queues", queue=name)
                self._quorum = False
                await self._reopen_channel()
        await self._channel_or_raise().declare_queue(name, durable=True, arguments=extra or None)
        return dict(extra)

    async def _reopen_channel(self) -> None:
        """A refused declaration closes the channel: open a fresh one with the same settings."""
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        for name in list(self._exchanges):
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)

    async def _ensure_queue(self, name: str, exchange: str, routing_key: str) -> AbstractQueue:
        queue = await self._declare_durable(name)
        await queue.bind(self._exchanges[exchange], routing_key=routing_key)
        self._declared.add(name)
        return queue

    async def _ensure_delay_queue(self, delay_ms: int) -> None:
        name = f"{RETRY_EXCHANGE}.{delay_ms}"
        if name in self._declared:
            return
        queue = await self._channel_or_raise().declare_queue(
            name,
            durable=True,
            arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": ""},
        )
        await queue.bind(self._exchanges[RETRY_EXCHANGE], arguments={"x-match": "all", DELAY_HEADER: str(delay_ms)})
        self._declared.add(name)

    async def _publish(
        self, exchange: str, body: bytes, properties: Properties, routing_key: str, *, mandatory: bool
    ) -> None:
        """Publish to ``exchange`` (``""``: the default one) and wait for the broker's confirm, riding
        out a reconnect.

        Straight to the channel's aiormq channel (what aio-pika's ``Exchange.publish`` calls too),
        with the AMQP properties built once by the caller: an ``aio_pika.Message`` per publish,
        turned into those same properties again inside ``Exchange.publish``, cost each message
        about 8 us of CPU, as much as building its envelope.
        """
        deadline = asyncio.get_running_loop().time() + PUBLISH_RETRY_SECONDS
        while True:
            self._fail_fast_while_away()
            try:
                # the concrete aiormq channel: its basic_publish takes ``wait``, the abstract one's does not
                channel = cast(aiormq.Channel, await self._channel_or_raise().get_underlay_channel())
                # wait=False: not each publish's own socket drain, only the broker's confirm, which
                # says more (stored) and comes later anyway; the channel's publishes no longer queue
                # behind one another's writes
                await channel.basic_publish(
                    body,
                    exchange=exchange,
                    routing_key=routing_key,
                    properties=properties,
                    mandatory=mandatory,
                    wait=False,
                )
                return
            except BusClosed:
                raise
            except aiormq.exceptions.DeliveryError as error:
                if not isinstance(error.frame, aiormq.spec.Basic.Nack):
                    raise
                # a bounded queue (x-max-length, reject-publish) is full; an event still reached
                # every other queue bound to it, so only a command or direct put fails its caller
                refused(exchange, routing_key)
                if exchange in (EVENTS_EXCHANGE, EXTERNAL_EXCHANGE):
                    return
                raise QueueFull(f"a full queue refused the message to {exchange or 'the default exchange'}") from error
            except TRANSIENT_ERRORS as error:
                if failing_fast():
                    raise BrokerUnavailable(f"nothing was sent: {self.outage() or in_words(error)}") from error
                if asyncio.get_running_loop().time() > deadline:
                    raise BrokerUnavailable(
                        f"RabbitMQ unavailable for {PUBLISH_RETRY_SECONDS:g}s: {in_words(error)}"
                    ) from error
                log.warning("publish failed, waiting for the broker", error=in_words(error))
                await asyncio.sleep(0.5)

    @staticmethod
    def _properties(envelope: Envelope) -> Properties:
        # Only what a consumer needs before it parses the body: the CloudEvents AMQP binding's
        # content type (structured mode) and the id. Type, time, source and correlation are in the
        # body; repeating them as properties costs every message measurable marshalling time.
        return Properties(content_type=CONTENT_TYPE, delivery_mode=PERSISTENT, message_id=envelope.id)

    def _fail_fast_while_away(self) -> None:
        """Raise :class:`BrokerUnavailable` now if the caller asked to fail fast and the broker is away
        (a robust channel would otherwise wait for the connection to come back)."""
        if failing_fast() and (reason := self.outage()) is not None:
            raise BrokerUnavailable(f"nothing was sent: {reason}")

    async def send_envelope(self, envelope: Envelope, *, to: str) -> None:
        queue = queue_name(to, "commands")
        self._fail_fast_while_away()
        if queue not in self._declared:
            with self._unavailable_as_error():
                await self._ensure_queue(queue, COMMANDS_EXCHANGE, to)
        await self._publish(COMMANDS_EXCHANGE, envelope.to_bytes(), self._properties(envelope), to, mandatory=True)

    async def publish_envelope(self, envelope: Envelope, *, routing_key: str) -> None:
        properties = self._properties(envelope)
        await self._publish(EVENTS_EXCHANGE, envelope.to_bytes(), properties, routing_key, mandatory=False)

    async def publish_raw(self, body: bytes, *, routing_key: str) -> None:
        properties = Properties(delivery_mode=PERSISTENT, message_id=new_id())
        await self._publish(EVENTS_EXCHANGE, body, properties, routing_key, mandatory=False)

    async def publish_external(self, body: bytes, *, routing_key: str) -> None:
        properties = Properties(content_type=CONTENT_TYPE, delivery_mode=PERSISTENT, message_id=new_id())
        await self._publish(EXTERNAL_EXCHANGE, body, properties, routing_key, mandatory=False)

    async def put_raw(self, queue: str, body: bytes) -> None:
        properties = Properties(delivery_mode=PERSISTENT, message_id=new_id())
        await self._publish("", body, properties, queue, mandatory=True)

    async def _ask_for_body(self, envelope: Envelope, query: Query, *, timeout: float, to: str | None) -> bytes:
        service = to or query.owner()
        queue = queue_name(service, "queries")
        if (reason := self.outage()) is not None:  # its reply could not come back either
            raise BrokerUnavailable(f"cannot ask {service}: {reason}")
        if queue not in self._declared:
            with self._unavailable_as_error():
                channel = self._channel_or_raise()
                declared = await channel.declare_queue(queue, durable=True)
                await declared.bind(self._exchanges[QUERIES_EXCHANGE], routing_key=service)
            self._declared.add(queue)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            if self._reply_channel is None:
                raise BusClosed("the AMQP bus is closed")
            properties = Properties(
                content_type=CONTENT_TYPE,
                delivery_mode=NOT_PERSISTENT,
                message_id=envelope.id,
                correlation_id=envelope.id,
                reply_to=REPLY_TO,
                expiration=str(max(int(timeout * 1000), 1)),  # milliseconds
            )
            with self._unavailable_as_error():
                underlay = await self._reply_channel.get_underlay_channel()
                await underlay.basic_publish(
                    envelope.to_bytes(), exchange=QUERIES_EXCHANGE, routing_key=service, properties=properties
                )
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise QueryTimeout.waiting_for(query.message_type, service, timeout) from None
        finally:
            self._pending.pop(envelope.id, None)
        return reply

    @contextlib.contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        """A transport failure inside the block is raised as :class:`BrokerUnavailable`, in words."""
        try:
            yield
        except BusClosed:
            raise
        except TRANSIENT_ERRORS as error:
            raise BrokerUnavailable(self.outage() or in_words(error)) from error

    async def consume(self, endpoint: Endpoint) -> AmqpConsumption:
        self._fail_fast_while_away()
        with self._unavailable_as_error():
            channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=endpoint.prefetch)
        queue: AbstractQueue
        if not endpoint.durable:
            queue = await channel.declare_queue(private_queue_name(), durable=False, exclusive=True, auto_delete=True)
        elif endpoint.kind == "queries":
            queue = await channel.declare_queue(endpoint.queue, durable=True)
        else:
            bounded: Arguments = None
            if endpoint.max_length is not None:
                bounded = {"x-max-length": endpoint.max_length, "x-overflow": "reject-publish"}
            queue = await self._declare_durable(endpoint.queue, channel, bounded)
        if endpoint.kind == "events":
            exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
            for pattern in endpoint.patterns:
                await queue.bind(exchange, routing_key=pattern)
        else:
            name = COMMANDS_EXCHANGE if endpoint.kind == "commands" else QUERIES_EXCHANGE
            exchange = await channel.get_exchange(name, ensure=False)
            await queue.bind(exchange, routing_key=endpoint.service)
        self._declared.add(queue.name)
        consumption = AmqpConsumption(
            self, endpoint, channel, queue, settle=self._settle, stopped=self._consumptions.discard
        )
        await consumption.start()
        self._consumptions.add(consumption)
        return consumption

    async def _settle(self, queue: str, service: str, message: AbstractIncomingMessage, verdict: Verdict) -> None:
        """Carry out ``verdict``: anything it publishes is confirmed before the consumption acknowledges."""
        if message.reply_to:
            reply = verdict.reply
            if reply is None and verdict.action == "dead":
                reply = dead_reply(verdict, service)
            if reply is not None:
                properties = Properties(
                    content_type=CONTENT_TYPE, delivery_mode=NOT_PERSISTENT, correlation_id=message.correlation_id
                )
                await self._publish("", reply, properties, message.reply_to, mandatory=False)
        if verdict.action == "retry":
            await self._ensure_delay_queue(verdict.delay_ms)
            retry = retry_copy(message, verdict)
            await self._publish(RETRY_EXCHANGE, retry.body, retry.properties, queue, mandatory=True)
        elif verdict.action == "dead":
            dead = dead_copy(message, verdict, queue)
            await self._publish(DEAD_EXCHANGE, dead.body, dead.properties, "", mandatory=True)

    async def _drain_dead_letters(self) -> tuple[AbstractChannel, list[tuple[AbstractIncomingMessage, DeadLetter]]]:
        """Take every dead letter without acknowledging; closing the channel puts them all back."""
        channel = await self._connection.channel(publisher_confirms=False)
        queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
        letters: list[tuple[AbstractIncomingMessage, DeadLetter]] = []
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            letters.append((message, dead_letter_of(message)))
        return channel, letters

    async def dead_letters(self) -> list[DeadLetter]:
        channel, letters = await self._drain_dead_letters()
        await channel.close()
        return sorted((letter for _, letter in letters), key=lambda letter: letter.dead_at)

    async def replay(self, ids: Sequence[str] | None = None) -> int:
        channel, letters = await self._drain_dead_letters()
        replayed = 0
        try:
            for message, letter in letters:
                if ids is not None and letter.id not in ids:
                    continue
                copy = replay_copy(message)
                await self._publish("", copy.body, copy.properties, letter.queue, mandatory=True)
                await message.ack()
                replayed += 1
        finally:
            await channel.close()
        return replayed

    async def close(self) -> None:
        if self._closed:
            return
        for consumption in list(self._consumptions):
            await consumption.stop()
        self._closed = True
        for future in self._pending.values():
            future.cancel()
        await self._connection.close()


def default_source(service: str) -> str:
    """A CloudEvents ``source`` naming this host and service, e.g. ``/gennaker/orca/web-1``."""
    return f"/gennaker/{service}/{socket.gethostname()}"
