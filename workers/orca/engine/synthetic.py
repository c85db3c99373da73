"""Synthetic stages: the stages a stage adds around its own tasks (Orca's ``StageGraphBuilder``).

A stage type may declare stages to run before its tasks (``STAGE_BEFORE``: a deploy's one
``createServerGroup`` per cluster), after them (``STAGE_AFTER``: a red/black strategy's
``disableCluster`` and ``shrinkCluster``), when it fails and asks for it (``rollback.onFailure``,
Orca's ``onFailureStages``), and to undo it when the pipeline rolls back (saga compensation). Each
is a stage of its own in the execution, with its ``parentStageId`` and ``syntheticStageOwner``,
its tasks and its status, so Deck and ``spin`` show each step.

A definition opts in by having any of these methods, each returning stages in pipeline JSON
(``type``, ``name``, the context; ``refId`` / ``requisiteStageRefIds`` among themselves, or none
to run them one after another)::

    def before_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]: ...
    def after_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]: ...
    def failure_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]: ...
    def compensation(self, stage: Stage, execution: Execution) -> Sequence[Json]: ...

A pipeline author may declare a stage's compensation in its JSON (``"compensation": [{"type":
"webhook", …}]``); it wins over the stage type's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from bus import new_id
from schemas.json_types import Json
from workers.orca.engine.model import Execution, Stage

Role = Literal["before", "after", "failure", "compensation"]
OWNER: dict[Role, str] = {
    "before": "STAGE_BEFORE",
    "after": "STAGE_AFTER",
    "failure": "STAGE_AFTER",
    "compensation": "STAGE_AFTER",
}
_MARK: dict[Role, str] = {"before": "<", "after": ">", "failure": ">onFailure", "compensation": ">rollback"}
_METHOD: dict[Role, str] = {
    "before": "before_stages",
    "after": "after_stages",
    "failure": "failure_stages",
    "compensation": "compensation",
}
_GRAPH_KEYS = ("refId", "requisiteStageRefIds", "type", "name")


def declared(definition: object, stage: Stage, role: Role, execution: Execution) -> list[Json]:
    """The stages of ``role`` for ``stage``: the author's ``compensation`` for compensation (and for
    a failure when the type declares none), else what its definition declares."""
    authored = _authored_compensation(stage)
    if role == "compensation" and authored:
        return authored
    method: Any = getattr(definition, _METHOD[role], None)
    found = [dict(spec) for spec in method(stage, execution)] if callable(method) else []
    if role == "failure" and not found:
        return authored
    return found


def plan(execution: Execution, parent: Stage, role: Role, specs: Sequence[Json]) -> list[Stage]:
    """Add ``specs`` to ``execution`` as ``parent``'s synthetic stages of ``role``; returns them."""
    if not specs:
        return []
    chained = not any("refId" in spec or "requisiteStageRefIds" in spec for spec in specs)
    prefix = f"{parent.ref_id}{_MARK[role]}"
    children: list[Stage] = []
    for index, spec in enumerate(specs):
        local = str(spec.get("refId") or index + 1)
        requisites = (
            [str(index)] if chained and index > 0 else [str(ref) for ref in spec.get("requisiteStageRefIds") or []]
        )
        stage_type = str(spec.get("type") or "")
        children.append(
            Stage(
                id=new_id(),
                ref_id=f"{prefix}{local}",
                type=stage_type,
                name=str(spec.get("name") or stage_type),
                context={key: value for key, value in spec.items() if key not in _GRAPH_KEYS},
                requisite_stage_ref_ids=[f"{prefix}{ref}" for ref in requisites],
                parent_stage_id=parent.id,
                synthetic_stage_owner=OWNER[role],
                synthetic_role=role,
            )
        )
    position = _end_of_family(execution, parent)
    execution.stages[position:position] = children
    return children


def initial(children: Sequence[Stage]) -> list[Stage]:
    """The stages of a freshly planned group that start first (no requisites)."""
    return [child for child in children if not child.requisite_stage_ref_ids]


def descendants(execution: Execution, stage: Stage) -> list[Stage]:
    """Every synthetic stage under ``stage``, at any depth."""
    found: list[Stage] = []
    frontier = execution.children(stage)
    while frontier:
        child = frontier.pop()
        found.append(child)
        frontier.extend(execution.children(child))
    return found


def remove_descendants(execution: Execution, stage: Stage) -> None:
    """Forget ``stage``'s synthetic stages (a restart plans them again)."""
    gone = {child.id for child in descendants(execution, stage)}
    execution.stages = [other for other in execution.stages if other.id not in gone]


def _authored_compensation(stage: Stage) -> list[Json]:
    value = stage.context.get("compensation")
    if isinstance(value, dict):
        return [dict(value)]
    if isinstance(value, list):
        return [dict(item) for item in value if isinstance(item, dict)]
    return []


def _end_of_family(execution: Execution, parent: Stage) -> int:
    family = {parent.id, *(child.id for child in descendants(execution, parent))}
    last = max(index for index, stage in enumerate(execution.stages) if stage.id in family)
    return last + 1
