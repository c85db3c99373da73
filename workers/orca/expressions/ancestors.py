"""Which stages' outputs a stage sees by bare name, nearest first, as Orca's ``StageContext`` does.

Orca looks a name up in the stage's own (augmented) context, and only when it is missing there in
the ``outputs`` of the stage's ancestors, taking the first ancestor that has it. The order of the
ancestors is Orca's (``StageExecution.ancestors()``):

1. the stage itself (its own outputs, e.g. those of an earlier task of the stage);
2. when it has requisites: the stages it requires (in the execution's stage order), then the
   synthetic stages those stages own, then, for each required stage in turn, *its* ancestors;
3. otherwise, for a synthetic stage: the before-stages of its parent when it is an after-stage,
   then the parent, then the parent's ancestors.

So a stage sees what every stage upstream of it produced, the closest one winning, and never what a
parallel branch or a later stage produced. Stages are matched by ``refId`` among the stages with the
same parent (the engine's own graph rule; Orca's refIds are unique across the execution, so the two
agree). Works on stored JSON so it serves every caller of :func:`~.context.stage_root`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

type StageJson = Mapping[str, Any]


class _Index:
    """The execution's stages by id and by (parent id, refId), with their position for ordering."""

    def __init__(self, stages: Sequence[Any]) -> None:
        self.stages = [stage for stage in stages if isinstance(stage, dict)]
        self.position = {id(stage): n for n, stage in enumerate(self.stages)}
        self.by_id = {stage.get("id"): stage for stage in self.stages}
        self.by_ref: dict[tuple[Any, Any], StageJson] = {}
        self.children: dict[Any, list[StageJson]] = {}
        for stage in self.stages:
            self.by_ref.setdefault((stage.get("parentStageId"), stage.get("refId")), stage)
            if stage.get("parentStageId") is not None:
                self.children.setdefault(stage.get("parentStageId"), []).append(stage)

    def in_order(self, stages: Iterable[StageJson]) -> list[StageJson]:
        found = list(stages)
        if len(found) < 2:
            return found
        return sorted(found, key=lambda stage: self.position.get(id(stage), len(self.stages)))


def ancestors(stage: StageJson, stages: Sequence[Any]) -> list[StageJson]:
    """``stage`` and its ancestors among ``stages`` (the execution's), nearest first; may repeat one."""
    index = _Index(stages)
    found: list[StageJson] = [stage]
    visited: set[Any] = set()
    to_expand = [stage]  # depth first, as Orca recurses, but with a stack: a 5,000-stage chain is fine
    while to_expand:
        expanded = _expand(to_expand.pop(), index, visited)
        found.extend(expanded.emitted)
        to_expand.extend(reversed(expanded.next))
    return found


def ancestor_outputs(stage: StageJson, stages: Sequence[Any]) -> dict[str, Any]:
    """Every output name ``stage`` may read by bare name, with the value of the nearest ancestor having it."""
    merged: dict[str, Any] = {}
    for ancestor in ancestors(stage, stages):
        outputs = ancestor.get("outputs")
        if outputs and isinstance(outputs, dict):
            for key, value in outputs.items():
                merged.setdefault(key, value)
    return merged


class _Expanded(NamedTuple):
    emitted: list[StageJson]
    next: list[StageJson]


def _expand(stage: StageJson, index: _Index, visited: set[Any]) -> _Expanded:
    """The ancestors one step from ``stage``, and those to expand next (Orca's ``getAncestorsImpl``)."""
    visited.add(stage.get("id"))
    requisites = stage.get("requisiteStageRefIds") or []
    parent_id = stage.get("parentStageId")
    if requisites:
        required = index.in_order(
            candidate
            for ref_id in dict.fromkeys(requisites)
            if (candidate := index.by_ref.get((parent_id, ref_id))) is not None and candidate.get("id") not in visited
        )
        owned = index.in_order(
            child
            for candidate in required
            for child in index.children.get(candidate.get("id"), [])
            if child.get("syntheticStageOwner") is not None
        )
        return _Expanded([*required, *owned], required)
    if parent_id is None or parent_id in visited:
        return _Expanded([], [])
    befores = []
    if stage.get("syntheticStageOwner") == "STAGE_AFTER":
        befores = [
            sibling
            for sibling in index.children.get(parent_id, [])
            if sibling.get("syntheticStageOwner") == "STAGE_BEFORE"
        ]
    parent = index.by_id.get(parent_id)
    if parent is None:
        return _Expanded(befores, [])
    return _Expanded([*befores, parent], [parent])
