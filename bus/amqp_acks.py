"""Acknowledgements of one consumer channel sent together: one ``basic.ack`` per run of settled deliveries.

A consumer whose handlers finish in batches (a sink delivers hundreds of events in one request)
would otherwise send the broker one acknowledgement per message. :class:`TogetherAcks` collects
the deliveries settled in the same moment (the same turn of the event loop) and acknowledges the
run with ``multiple`` on its highest delivery tag, which covers every earlier tag of the channel:
so it does that only up to the first delivery still being handled. A settled delivery behind one
still being handled is acknowledged on its own, as without batching, so a slow handler never holds
the others' acknowledgements back nor fills the prefetch window.

Delivery tags count per channel; after a reconnect the robust channel delivers on a new one, whose
tags start again: deliveries of the old channel are forgotten (the broker redelivers them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import AbstractChannel
from aiormq.exceptions import ChannelInvalidStateError


class TogetherAcks:
    """The unacknowledged deliveries of one consumer, acknowledged in runs."""

    def __init__(self) -> None:
        self._channel: AbstractChannel | None = None
        self._taken: deque[int] = deque()
        """Delivery tags handed to handlers and not yet covered by an acknowledgement, in order."""
        self._settled: set[int] = set()
        """Tags in :attr:`_taken` ready to be acknowledged."""
        self._acked_alone: set[int] = set()
        """Tags in :attr:`_taken` already acknowledged on their own."""
        self._stuck = False
        """A delivery of this channel will never be acknowledged here (its settling failed): no
        ``multiple`` may cover it, so every later one is acknowledged on its own."""
        self._flushing = False
        self._writing = asyncio.Lock()

    def take(self, message: AbstractIncomingMessage) -> None:
        """``message`` goes to its handler now; call before the handler runs."""
        channel, tag = message.channel, message.delivery_tag
        if channel is not self._channel:
            self._channel = channel
            self._taken.clear()
            self._settled.clear()
            self._acked_alone.clear()
            self._stuck = False
        if tag is not None and not self._stuck:
            self._taken.append(tag)

    async def ack(self, message: AbstractIncomingMessage) -> None:
        """Acknowledge ``message`` (settled: its verdict was carried out), with others settled now."""
        tag = message.delivery_tag
        if tag is None or self._stuck or message.channel is not self._channel:
            # alone: behind a delivery that stays unacknowledged, or of a channel that is gone
            # (where the ack fails and the broker has put the message back already)
            await message.ack()
            return
        self._settled.add(tag)
        if self._flushing:
            return  # the flush under way sends it
        self._flushing = True
        try:
            await asyncio.sleep(0)  # handlers finishing in this same moment settle meanwhile
        finally:
            self._flushing = False
        # One flush writes at a time: a run may pass a tag acknowledged alone only once that ack is
        # on the wire, or its ``multiple`` would reach the broker first and the lone ack then name a
        # tag acknowledged already, which the broker answers by closing the channel.
        async with self._writing:
            highest, alone = self._runs()
            channel = self._channel
            if channel is None:
                return
            if highest is not None:
                await channel.basic_ack(delivery_tag=highest, multiple=True)
            for tag in alone:
                await channel.basic_ack(delivery_tag=tag, multiple=False)

    def _runs(self) -> tuple[int | None, list[int]]:
        """The tag to acknowledge with ``multiple`` (the settled run at the front), and the settled
        tags behind a delivery still being handled, to acknowledge each on its own."""
        highest: int | None = None
        while self._taken and (self._taken[0] in self._settled or self._taken[0] in self._acked_alone):
            tag = self._taken.popleft()
            if tag in self._settled:
                self._settled.discard(tag)
                highest = tag
            else:
                self._acked_alone.discard(tag)
        alone = sorted(self._settled)
        self._settled.clear()
        if not self._stuck:
            self._acked_alone.update(alone)
        return highest, alone

    def forget(self, message: AbstractIncomingMessage) -> None:
        """``message`` will not be acknowledged (settling it failed; it goes back to the queue when
        its channel closes): from now on this channel's deliveries are acknowledged one by one."""
        with contextlib.suppress(ChannelInvalidStateError):
            if message.channel is self._channel:
                self._stuck = True
                self._taken.clear()
                self._acked_alone.clear()
