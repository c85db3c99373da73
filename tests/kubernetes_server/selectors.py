"""Label selectors as the API server reads ``?labelSelector=``.

Terms: ``=``, ``==``, ``!=``, ``in``, ``notin``, ``key`` and ``!key``, joined by commas.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.kubernetes_server.errors import ApiFailure

Labels = dict[str, str]
Match = Callable[[Labels], bool]
SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if current else parts


def _requirement(text: str) -> Match:
    found = SET.match(text)
    if found:
        key, operator = found.group(1), found.group(2)
        values = {value.strip() for value in found.group(3).split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for operator in ("!=", "==", "="):
        if operator in text:
            key, _, value = (part.strip() for part in text.partition(operator))
            if operator == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    text = text.strip()
    if text.startswith("!"):
        return lambda labels: text[1:] not in labels
    if not text:
        raise ApiFailure(400, "BadRequest", "unable to parse requirement: empty label selector term")
    return lambda labels: text in labels


def parse(selector: str | None) -> Match:
    """A predicate on an object's labels; everything matches an absent or empty selector."""
    if not selector:
        return lambda labels: True
    requirements = [_requirement(part) for part in _split(selector)]
    return lambda labels: all(requirement(labels) for requirement in requirements)
