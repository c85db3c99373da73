"""A small, safe subset of JSONPath for reading a value out of a webhook's response.

Orca reads ``statusJsonPath``, ``progressJsonPath`` and ``statusUrlJsonPath`` with Jayway
JsonPath; pipelines almost always use plain member and index steps, so that is what this reads:
``$.a.b[0].c``, ``$['a b'][2]``, ``a.b`` (the ``$`` is optional). Filters, wildcards, slices,
recursive descent and scripts are refused with :class:`JsonPathError` — nothing is evaluated.

>>> read("$.build.steps[1].state", {"build": {"steps": [{}, {"state": "DONE"}]}})
'DONE'
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)      # .name
      | \[(?P<index>-?\d+)\]                       # [0]
      | \[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]  # ['key']
    """,
    re.VERBOSE,
)
MAX_LENGTH = 512


class JsonPathError(ValueError):
    """A path outside the supported subset, or one that names nothing in the document."""


def parse(path: str) -> list[str | int]:
    """``path``'s steps: member names (``str``) and list indexes (``int``)."""
    if not isinstance(path, str) or not path.strip():
        raise JsonPathError("a JSON path must be a non-empty string such as '$.status'")
    if len(path) > MAX_LENGTH:
        raise JsonPathError(f"a JSON path must be at most {MAX_LENGTH} characters")
    rest = path.strip()
    if rest.startswith("$"):
        rest = rest[1:]
    elif not rest.startswith(("[", ".")):
        rest = "." + rest
    steps: list[str | int] = []
    position = 0
    while position < len(rest):
        match = _STEP.match(rest, position)
        if match is None:
            raise JsonPathError(
                f"unsupported JSON path {path!r} at {rest[position:]!r}: use member and index steps "
                "only, e.g. '$.a.b[0]' or \"$['a b'][1]\""
            )
        if match.group("name") is not None:
            steps.append(match.group("name"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("key"))
        position = match.end()
    return steps


def read(path: str, document: Any) -> Any:
    """The value at ``path`` in ``document``; :class:`JsonPathError` when a step names nothing."""
    value = document
    for step in parse(path):
        indexed = isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value)
        named = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (indexed or named):
            raise JsonPathError(f"no value at {path!r} in the response (missing {step!r})")
        value = value[step]
    return value
