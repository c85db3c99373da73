"""The in-memory topic matcher agrees with RabbitMQ's documented rules."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bus import topic_matches

WORDS = st.sampled_from(["orca", "stage", "completed", "echo", "a", "b"])


def reference(pattern: str, key: str) -> bool:
    """RabbitMQ's rules as a regular expression over ``"." + key``: each word brings its own dot."""
    tokens = {"*": r"\.[^.]+", "#": r"(?:\.[^.]+)*"}
    regex = "".join(tokens.get(word, r"\." + re.escape(word)) for word in pattern.split("."))
    return re.fullmatch(regex, "." + key) is not None


def test_documented_examples() -> None:
    assert topic_matches("orca.*", "orca.started")
    assert not topic_matches("orca.*", "orca.stage.completed")
    assert topic_matches("orca.#", "orca.stage.completed")
    assert topic_matches("orca.#", "orca")
    assert topic_matches("#", "anything.at.all")
    assert topic_matches("*.stage.*", "orca.stage.completed")
    assert not topic_matches("*.stage.*", "stage.completed")
    assert topic_matches("#.completed", "orca.stage.completed")
    assert not topic_matches("echo.*", "orca.started")


@given(
    st.lists(st.one_of(WORDS, st.just("*"), st.just("#")), min_size=1, max_size=4),
    st.lists(WORDS, min_size=1, max_size=5),
)
def test_matches_the_reference_rules(pattern: list[str], key: list[str]) -> None:
    assert topic_matches(".".join(pattern), ".".join(key)) == reference(".".join(pattern), ".".join(key))
