"""``Bus.ask_raw`` hands a relaying asker the reply's JSON as written, still checking what it is."""

from __future__ import annotations

from typing import Any, ClassVar

import pydantic_core
import pytest

from bus import EncodedReply, Endpoint, Envelope, MemoryBus, MessageContext, QueryFailed, QueryTimeout, RawReply
from bus.replies import ERROR_REPLY_TYPE, raw_reply_or_raise, with_data
from schemas import Query, Reply, message, registry
from tests.contract.messages import Answer, AskSomething


@message
class Tally(Reply):
    """Version 2 renamed ``n`` to ``count``: a v1 reply is upcast before it is relayed."""

    message_type: ClassVar[str] = "rawtest.Tally"
    message_version: ClassVar[int] = 2
    count: int
    items: list[str]


@registry.upcaster("rawtest.Tally", 1)
def _tally_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"count": data["n"], "items": data["items"]}


@message
class CountThem(Query):
    """Asks for a :class:`Tally`."""

    message_type: ClassVar[str] = "rawtest.CountThem"
    reply_model: ClassVar[type[Reply]] = Tally


def reply_body(type_: str, data: dict[str, Any], subject: str | None = None) -> bytes:
    return with_data(Envelope(source="/test", type=type_, subject=subject), data)


async def test_the_reply_arrives_as_the_json_its_replier_wrote() -> None:
    cached = EncodedReply(Answer(text='cached "quoted" ,"data": text'))

    async def answer(query: AskSomething, context: MessageContext) -> EncodedReply:
        return cached

    async with MemoryBus() as bus:
        await bus.consume(Endpoint(service="raw", kind="queries", handlers={AskSomething.message_type: answer}))
        raw = await bus.ask_raw(AskSomething(question="?"), to="raw")
    assert raw == RawReply(Answer, cached.json, cached.tag)
    assert raw.model() == Answer(text='cached "quoted" ,"data": text')
    assert raw.field("text") == b'"cached \\"quoted\\" ,\\"data\\": text"'
    with pytest.raises(KeyError, match="Answer has no field 'texts'; it has text"):
        raw.field("texts")


async def test_errors_and_deadlines_raise_as_ask_does() -> None:
    async def broken(query: AskSomething, context: MessageContext) -> Answer:
        raise RuntimeError("database unavailable")

    async with MemoryBus() as bus:
        await bus.consume(Endpoint(service="raw", kind="queries", handlers={AskSomething.message_type: broken}))
        with pytest.raises(QueryFailed, match="database unavailable"):
            await bus.ask_raw(AskSomething(question="?"), to="raw")
        with pytest.raises(QueryTimeout, match="nobody"):
            await bus.ask_raw(AskSomething(question="?"), to="nobody", timeout=0.05)


def test_an_older_version_is_upcast_and_written_again_as_the_current_one() -> None:
    raw = raw_reply_or_raise(reply_body("io.gennaker.rawtest.Tally.v1", {"n": 2, "items": ["a", "b"]}), CountThem())
    assert raw == RawReply(Tally, b'{"count":2,"items":["a","b"]}')
    assert raw.field("items") == b'["a","b"]'  # two fields: decoded, then the one written again


def test_a_body_laid_out_otherwise_is_decoded_whole() -> None:
    current = "io.gennaker.rawtest.Tally.v2"
    data_first = pydantic_core.to_json(
        {"data": {"count": 1, "items": []}, "specversion": "1.0", "source": "/x", "type": current}
    )
    assert raw_reply_or_raise(data_first, CountThem()) == RawReply(Tally, b'{"count":1,"items":[]}')
    tricky = reply_body(current, {"count": 3, "items": []}, subject=',"data":{"count":9,"items":[]}}')
    assert raw_reply_or_raise(tricky, CountThem()) == RawReply(Tally, b'{"count":3,"items":[]}')
    error = reply_body(ERROR_REPLY_TYPE, {"error": "ValueError: no", "service": "front50"})
    with pytest.raises(QueryFailed, match="CountThem failed in front50: ValueError: no"):
        raw_reply_or_raise(error, CountThem())
    with pytest.raises(QueryFailed, match="not a valid CloudEvent"):
        raw_reply_or_raise(b'{"specversion":"1.0","data":{}', CountThem())


async def test_an_answer_unchanged_from_the_one_held_does_not_travel_again() -> None:
    current = {"reply": EncodedReply(Answer(text="first"))}
    seen: list[bytes] = []

    async def answer(query: AskSomething, context: MessageContext) -> EncodedReply | Answer:
        return Answer(text="computed") if query.question == "plain" else current["reply"]

    async with MemoryBus() as bus:
        original = bus._ask_for_body

        async def recorded(*args: Any, **kwargs: Any) -> bytes:
            seen.append(body := await original(*args, **kwargs))
            return body

        bus._ask_for_body = recorded  # type: ignore[method-assign]
        await bus.consume(Endpoint(service="held", kind="queries", handlers={AskSomething.message_type: answer}))
        first = await bus.ask_raw(AskSomething(question="?"), to="held")
        assert first.tag == current["reply"].tag and first.json == b'{"text":"first"}'
        assert await bus.ask_raw(AskSomething(question="?"), to="held", known=first) is first
        assert seen[-1].endswith(b'"unchanged":true,"data":{}}')

        current["reply"] = EncodedReply(Answer(text="second"))
        changed = await bus.ask_raw(AskSomething(question="?"), to="held", known=first)
        assert (changed.json, changed.tag) == (b'{"text":"second"}', current["reply"].tag)
        plain = await bus.ask_raw(AskSomething(question="plain"), to="held", known=first)
        assert (plain.json, plain.tag) == (b'{"text":"computed"}', None)
        assert await bus.ask(AskSomething(question="?"), to="held") == Answer(text="second")
