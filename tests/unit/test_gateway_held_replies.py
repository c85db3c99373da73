"""The gateway holds the last tagged reply per query, within its bound."""

from __future__ import annotations

import schemas.canary_configs
import schemas.front50
import schemas.pipeline_templates
from bus import RawReply
from gateway.command_results import PATTERNS
from gateway.held_replies import ANNOUNCED, HeldReplies
from schemas import Event
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


def test_every_event_front50_publishes_reaches_the_subscription_that_ends_current_replies() -> None:
    events = [
        kind
        for module in (schemas.front50, schemas.canary_configs, schemas.pipeline_templates)
        for kind in vars(module).values()
        if isinstance(kind, type) and issubclass(kind, Event) and kind.__module__ == module.__name__
    ]
    assert len(events) >= 10
    assert [kind.message_type for kind in events if not kind.message_type.startswith("front50.")] == []
    assert all(f"{service}.#" in PATTERNS for service in ANNOUNCED)
