"""How a rejected configuration or message is put into words, the same way everywhere.

The bus's dead-letter reasons, the settings loader and ``gennaker events publish`` all name each
field pydantic rejected as ``dotted.path: message``; lists of named things (accounts, sinks,
users) all refuse a name given twice. One wording, so an operator reads one kind of error.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError


def describe_problems(error: ValidationError) -> str:
    """Every rejected field as ``loc: msg``, joined by ``"; "`` (``<root>`` for the input as a whole),
    e.g. ``accounts.0.name: Field required; retry_max_attempts: Input should be greater than 0``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in error.errors()
    )


def listed_twice(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted; empty when every name is unique."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    return sorted(repeated)
