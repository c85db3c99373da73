"""Label selectors as the API server reads ``?labelSelector=``.

Terms: ``=``, ``==``, ``!=``, ``in``, ``notin``, ``key`` and ``!key``, joined by commas; and the
``LabelSelector`` objects workloads carry in ``spec.selector`` (:func:`label_selector`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from schemas.json_types import Json
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


def label_selector(selector: Any) -> Match:
    """A predicate for a ``LabelSelector`` object (``matchLabels`` and ``matchExpressions`` with ``In``,
    ``NotIn``, ``Exists``, ``DoesNotExist``), as a workload's ``spec.selector`` is; nothing matches an
    absent one."""
    if not isinstance(selector, dict):
        return lambda labels: False
    wanted: Labels = dict(selector.get("matchLabels") or {})
    expressions: list[Json] = [item for item in selector.get("matchExpressions") or [] if isinstance(item, dict)]

    def expression(item: Json, labels: Labels) -> bool:
        key, operator = str(item.get("key")), item.get("operator")
        values = {str(value) for value in item.get("values") or []}
        if operator == "In":
            return labels.get(key) in values
        if operator == "NotIn":
            return labels.get(key) not in values
        if operator == "Exists":
            return key in labels
        return key not in labels

    return lambda labels: (
        all(labels.get(key) == value for key, value in wanted.items())
        and all(expression(item, labels) for item in expressions)
    )
