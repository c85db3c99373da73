"""How much a pipeline may ask for, and which names are names: the bounds every service applies alike.

A pipeline of 5,000 stages, or one whose stages nest compensations inside compensations without
end, makes every later step of Orca and every read of Front50 pay for it; a name holding NUL, a
newline or a right-to-left override misleads whoever reads it in a log or in Deck. The rules live
here, in the schemas, so the gateway, Front50 (on save) and Orca (on an ad-hoc start, which never
passes Front50) refuse the same inputs with the same message: a 400 naming the field, the limit
and the value.

The bounds are settings (``pipeline_limits`` in :mod:`gennaker.settings`), with defaults generous
for hand-written pipelines.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NAME_MAX_LENGTH = 256
"""The longest name (of an application, pipeline or stage), in characters."""

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Characters that reorder how text is shown (Trojan Source), so a name reads as something else."""


def name_problem(value: str, *, max_length: int = NAME_MAX_LENGTH) -> str | None:
    """Why ``value`` cannot be a name (``None``: it can): too long, or holding a character that hides.

    Refused are control characters (NUL, newlines, escapes: Unicode category Cc), line and
    paragraph separators, and bidirectional overrides and isolates.
    """
    if len(value) > max_length:
        return f"is {len(value)} characters long; the limit is {max_length}"
    for position, char in enumerate(value):
        if char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return (
                f"holds the control or bidirectional character U+{ord(char):04X} at position {position}; "
                "names may not hold control or text-direction characters"
            )
    return None


def _checked_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(f"the name {problem}")
    return value


Name = Annotated[str, AfterValidator(_checked_name)]
"""A ``str`` field holding a name: refused by pydantic when :func:`name_problem` finds one."""


class PipelineLimits(BaseModel):
    """How large a pipeline may be: stages, how deeply stages nest, and bytes.

    ``max_stages`` counts every stage the config declares: the pipeline's own, the compensations
    a stage declares (and theirs), and the clusters of a ``deploy`` stage, each of which becomes a
    stage. ``max_depth`` bounds how deeply such stages nest (a top-level stage is depth 1).
    ``max_stage_bytes`` bounds one stage's JSON (its context, as Orca stores it) and
    ``max_pipeline_bytes`` the whole config.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_stages: int = Field(500, ge=1)
    max_depth: int = Field(8, ge=1)
    max_stage_bytes: int = Field(256 * 1024, ge=1024)
    max_pipeline_bytes: int = Field(1024 * 1024, ge=1024)


@dataclass(frozen=True)
class LimitExceeded:
    """A pipeline over a limit: the field to blame and a message naming the limit and the value."""

    field: str
    message: str


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def _nested(stage: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The stages ``stage`` declares inside itself, with the key that holds each."""
    compensation = stage.get("compensation")
    if isinstance(compensation, dict):
        yield "compensation", compensation
    elif isinstance(compensation, list):
        for index, item in enumerate(compensation):
            yield f"compensation[{index}]", item
    if stage.get("type") == "deploy" and isinstance(stage.get("clusters"), list):
        for index, item in enumerate(stage["clusters"]):
            yield f"clusters[{index}]", item


def pipeline_problem(pipeline: dict[str, Any], limits: PipelineLimits) -> LimitExceeded | None:
    """The first limit ``pipeline`` (Spinnaker's pipeline JSON) is over, or ``None``."""
    total = _size(pipeline)
    if total > limits.max_pipeline_bytes:
        return LimitExceeded(
            "pipeline",
            f"the pipeline is {total} bytes of JSON; the limit (max_pipeline_bytes) is {limits.max_pipeline_bytes}",
        )
    stages = pipeline.get("stages")
    if not isinstance(stages, list):
        return None
    count = 0
    pending: list[tuple[str, Any, int]] = [(f"stages[{i}]", stage, 1) for i, stage in enumerate(stages)]
    pending.reverse()
    while pending:
        path, stage, depth = pending.pop()
        if not isinstance(stage, dict):
            continue
        count += 1
        if count > limits.max_stages:
            return LimitExceeded(
                "stages",
                f"the pipeline declares more than {limits.max_stages} stages (max_stages), counting compensations "
                "and deploy clusters; split it into pipelines that trigger each other",
            )
        if depth > limits.max_depth:
            return LimitExceeded(path, f"stages nest {depth} deep here; the limit (max_depth) is {limits.max_depth}")
        if depth == 1:
            size = _size(stage)
            if size > limits.max_stage_bytes:
                return LimitExceeded(
                    path, f"the stage is {size} bytes of JSON; the limit (max_stage_bytes) is {limits.max_stage_bytes}"
                )
        pending.extend((f"{path}.{key}", child, depth + 1) for key, child in reversed(list(_nested(stage))))
    return None


def names_problem(pipeline: dict[str, Any]) -> LimitExceeded | None:
    """The first name of ``pipeline`` (its own, its application's, a stage's) :func:`name_problem` refuses."""
    for field in ("name", "application"):
        value = pipeline.get(field)
        if isinstance(value, str) and (problem := name_problem(value)) is not None:
            return LimitExceeded(field, f"{field}: the name {problem}")
    stages = pipeline.get("stages")
    for index, stage in enumerate(stages if isinstance(stages, list) else []):
        value = stage.get("name") if isinstance(stage, dict) else None
        if isinstance(value, str) and (problem := name_problem(value)) is not None:
            return LimitExceeded(f"stages[{index}].name", f"stages[{index}].name: the name {problem}")
    return None
