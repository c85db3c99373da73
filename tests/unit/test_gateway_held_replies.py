"""The gateway holds the last tagged reply per query, within its bound."""

from __future__ import annotations

from bus import RawReply
from gateway.held_replies import HeldReplies
from tests.contract.messages import Answer, AskSomething


def test_only_tagged_replies_are_held_and_the_oldest_go_first() -> None:
    held = HeldReplies(max_bytes=800)
    key = HeldReplies.key(AskSomething(question="a"))
    held.keep(key, RawReply(Answer, b'{"text":"untagged"}'))
    assert held.get(key) is None
    for number in range(20):
        held.keep(HeldReplies.key(AskSomething(question=str(number))), RawReply(Answer, b"x" * 90, f"t{number}"))
    assert held.get(HeldReplies.key(AskSomething(question="19"))) == RawReply(Answer, b"x" * 90, "t19")
    assert held.get(HeldReplies.key(AskSomething(question="0"))) is None
    assert len(held) == 8
