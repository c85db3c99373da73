"""AMQP topic-pattern matching, so the in-memory bus routes events exactly as RabbitMQ does.

Words are separated by dots; ``*`` matches exactly one word and ``#`` matches zero or more.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def topic_matches(pattern: str, routing_key: str) -> bool:
    """True when ``routing_key`` matches the AMQP topic ``pattern``."""
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
