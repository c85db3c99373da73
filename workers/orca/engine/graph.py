"""The pipeline's DAG: which stages come before and after which, and whether it is well formed.

Stages name their requisites by ``refId`` (``requisiteStageRefIds``); a stage with none starts
with the execution, and a stage starts once every requisite let it (SUCCEEDED, FAILED_CONTINUE
or SKIPPED) — the join of parallel branches. Synthetic stages form a DAG of their own among their
siblings (the stages of the same parent and role), as Orca's ``StageGraphBuilder`` builds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.orca.engine.model import Execution, Stage, group_of
from workers.orca.engine.status import ExecutionStatus


def initial_stages(execution: Execution) -> list[Stage]:
    """The top-level stages with no requisites: they start with the execution."""
    return [stage for stage in execution.top_level_stages if not stage.requisite_stage_ref_ids]


def siblings(execution: Execution, stage: Stage) -> list[Stage]:
    """The stages of ``stage``'s graph: the top-level ones, or its parent's synthetic stages of its role."""
    return list(execution.index.groups.get(group_of(stage), []))


def upstream(execution: Execution, stage: Stage) -> list[Stage]:
    """The stages ``stage`` requires."""
    index, group = execution.index, group_of(stage)
    found = [other for ref_id in stage.requisite_stage_ref_ids for other in index.by_ref.get((group, ref_id), [])]
    return index.in_order(found)


def downstream(execution: Execution, stage: Stage) -> list[Stage]:
    """The stages that require ``stage``."""
    return list(execution.index.dependents.get((group_of(stage), stage.ref_id), []))


def all_downstream(execution: Execution, stage: Stage) -> list[Stage]:
    """Every stage after ``stage``, transitively (what a restart of ``stage`` runs again)."""
    found: dict[str, Stage] = {}
    frontier = downstream(execution, stage)
    while frontier:
        following = frontier.pop()
        if following.id not in found:
            found[following.id] = following
            frontier.extend(downstream(execution, following))
    return list(found.values())


def ready_to_start(execution: Execution, stage: Stage) -> bool:
    """NOT_STARTED, and every requisite let it run (Orca's ``allUpstreamStagesComplete``)."""
    return stage.status is ExecutionStatus.NOT_STARTED and all(
        requisite.status.lets_downstream_run for requisite in upstream(execution, stage)
    )


def other_branches_incomplete(execution: Execution) -> bool:
    """Some branch still runs or has a stage ready to start (Orca's ``otherBranchesIncomplete``)."""
    return any(
        stage.status in (ExecutionStatus.RUNNING, ExecutionStatus.PAUSED, ExecutionStatus.SUSPENDED)
        or ready_to_start(execution, stage)
        for stage in execution.top_level_stages
    )


def problems(stages: Sequence[Stage]) -> list[str]:
    """What is wrong with ``stages`` as a DAG: missing or repeated ``refId``, requisites naming no
    stage, cycles. Empty when it can run."""
    found: list[str] = []
    ref_ids: set[str] = set()
    for index, stage in enumerate(stages):
        if not stage.ref_id:
            found.append(f"stages[{index}] ({stage.name!r}) has no refId")
        elif stage.ref_id in ref_ids:
            found.append(f"stages[{index}].refId {stage.ref_id!r} is used by another stage")
        ref_ids.add(stage.ref_id)
    requisites: dict[str, list[str]] = {}
    for index, stage in enumerate(stages):
        for name in stage.requisite_stage_ref_ids:
            if name not in ref_ids:
                found.append(f"stages[{index}].requisiteStageRefIds names {name!r}, which no stage has as refId")
        requisites[stage.ref_id] = [name for name in stage.requisite_stage_ref_ids if name in ref_ids]
    if not found and _has_cycle(requisites):
        found.append("stages form a cycle through requisiteStageRefIds")
    return found


def _has_cycle(requisites: dict[str, list[str]]) -> bool:
    """Whether some stages wait on each other in a ring: Kahn's topological sort, each stage and
    requisite looked at once (a 2,000-stage chain is 2,000 steps, not 2,000 passes over it)."""
    waiting = {name: len(set(before)) for name, before in requisites.items()}
    dependents: dict[str, list[str]] = {name: [] for name in requisites}
    for name, before in requisites.items():
        for requisite in set(before):
            dependents[requisite].append(name)
    free = [name for name, count in waiting.items() if count == 0]
    ordered = 0
    while free:
        name = free.pop()
        ordered += 1
        for dependent in dependents[name]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                free.append(dependent)
    return ordered < len(waiting)
