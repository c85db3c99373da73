"""A query handler may answer with a reply it serialised once; the bus still checks its type."""

from __future__ import annotations

import pytest

from bus import EncodedReply, Endpoint, MemoryBus, MessageContext, QueryFailed
from schemas.system import Pong
from tests.contract.messages import Answer, AskSomething


async def test_an_encoded_reply_reaches_the_asker_as_its_model() -> None:
    cached = EncodedReply(Answer(text="cached"))

    async def answer(query: AskSomething, context: MessageContext) -> EncodedReply:
        return cached

    async with MemoryBus() as bus:
        await bus.consume(Endpoint(service="encoded", kind="queries", handlers={AskSomething.message_type: answer}))
        first = await bus.ask(AskSomething(question="?"), to="encoded")
        second = await bus.ask(AskSomething(question="?"), to="encoded")
    assert first == second == Answer(text="cached")
    assert first is not second


async def test_an_encoded_reply_of_the_wrong_type_is_an_error_reply() -> None:
    async def answer(query: AskSomething, context: MessageContext) -> EncodedReply:
        return EncodedReply(Pong(service="x", version="1", instance="i"))

    async with MemoryBus() as bus:
        await bus.consume(Endpoint(service="encoded", kind="queries", handlers={AskSomething.message_type: answer}))
        with pytest.raises(QueryFailed, match="handler returned Pong, expected Answer"):
            await bus.ask(AskSomething(question="?"), to="encoded")
