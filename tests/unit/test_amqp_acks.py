"""Which acknowledgements one flush of :class:`bus.amqp_acks.TogetherAcks` sends: ``multiple`` only
over deliveries that were all settled, and every settled delivery acknowledged exactly once."""

from __future__ import annotations

from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from bus.amqp_acks import TogetherAcks


class Delivery:
    """What ``TogetherAcks.take`` reads of a delivery: its channel and its tag."""

    def __init__(self, channel: object, delivery_tag: int) -> None:
        self.channel = channel
        self.delivery_tag = delivery_tag


@given(
    st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.permutations(range(1, n + 1)),
            st.sets(st.integers(min_value=1, max_value=n)),
            st.sets(st.integers(min_value=1, max_value=n), max_size=10),
        )
    )
)
def test_no_flush_acknowledges_a_delivery_not_settled_and_every_settled_one_is_acknowledged_once(
    case: tuple[int, list[int], set[int], set[int]],
) -> None:
    count, order, abandoned, flush_after = case
    acks, channel = TogetherAcks(), object()
    for tag in range(1, count + 1):  # the broker delivers in tag order
        acks.take(cast(Any, Delivery(channel, tag)))
    acked: set[int] = set()
    settled: set[int] = set()

    def flush() -> None:
        highest, alone = acks._runs()
        if highest is not None:
            assert highest not in acked, "the tag named with multiple is itself still unacknowledged"
            covered = {tag for tag in range(1, highest + 1) if tag not in acked}
            assert covered <= settled, f"multiple up to {highest} would cover {sorted(covered - settled)}"
            acked.update(covered)
        for tag in alone:
            assert tag in settled and tag not in acked, f"lone ack of {tag}: not settled, or acknowledged already"
            acked.add(tag)

    for step, tag in enumerate(order, start=1):
        if tag not in abandoned:  # a handler cancelled by a stop never settles its delivery
            settled.add(tag)
            acks._settled.add(tag)
        if step in flush_after:
            flush()
    flush()
    assert acked == settled
