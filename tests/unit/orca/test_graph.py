"""A pipeline's DAG is judged well formed, or not, whatever its shape and size."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from workers.orca.engine.graph import downstream, problems, siblings, upstream
from workers.orca.engine.model import Execution, Stage

CYCLE = "stages form a cycle through requisiteStageRefIds"


def stages(requisites: dict[str, list[str]]) -> list[Stage]:
    return [
        Stage(id=f"s{ref}", ref_id=ref, type="wait", name=ref, requisite_stage_ref_ids=before)
        for ref, before in requisites.items()
    ]


def test_a_long_chain_a_diamond_and_repeated_requisites_are_no_cycle() -> None:
    chain = {str(n): [str(n - 1)] if n > 1 else [] for n in range(1, 5001)}
    assert problems(stages(chain)) == []
    assert problems(stages({"1": [], "2": ["1"], "3": ["1"], "4": ["2", "3", "2"]})) == []


def test_a_ring_anywhere_and_a_stage_requiring_itself_are_a_cycle() -> None:
    chain = {str(n): [str(n - 1)] if n > 1 else [] for n in range(1, 2001)}
    chain["1000"] = ["999", "1500"]  # 1000 waits on 1500, which waits (through the chain) on 1000
    assert problems(stages(chain)) == [CYCLE]
    assert problems(stages({"1": [], "2": ["2"]})) == [CYCLE]


def _reachable(requisites: dict[str, list[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    frontier = list(requisites[start])
    while frontier:
        name = frontier.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            frontier.extend(requisites[name])
    return False


@given(st.integers(2, 30).flatmap(lambda n: st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)))))
def test_a_cycle_is_found_exactly_when_some_stage_waits_on_itself(edges: list[tuple[int, int]]) -> None:
    size = max((max(edge) for edge in edges), default=1) + 1
    requisites: dict[str, list[str]] = {str(n): [] for n in range(size)}
    for stage, requisite in edges:
        requisites[str(stage)].append(str(requisite))
    has_cycle = any(_reachable(requisites, name, name) for name in requisites)
    assert (problems(stages(requisites)) == [CYCLE]) is has_cycle


def test_lookups_follow_stages_added_in_place_and_removed() -> None:
    top = stages({"1": [], "2": ["1"], "3": ["1"]})
    execution = Execution(id="e", application="app", name="p", build_time=1, stages=top)
    assert [stage.ref_id for stage in downstream(execution, top[0])] == ["2", "3"]
    assert execution.children(top[0]) == [] and execution.stage("before") is None

    before = Stage(id="before", ref_id="1<1", type="wait", name="b", parent_stage_id=top[0].id, synthetic_role="before")
    after = Stage(id="after", ref_id="1>1", type="wait", name="a", parent_stage_id=top[0].id, synthetic_role="after")
    execution.stages[0:0] = [before]  # in place, as synthetic stages are inserted
    execution.stages.append(after)
    assert execution.stage("before") is before and execution.children(top[0]) == [before, after]
    assert execution.children(top[0], "after") == [after] and siblings(execution, before) == [before]
    assert [stage.ref_id for stage in execution.top_level_stages] == ["1", "2", "3"]
    assert upstream(execution, top[2]) == [top[0]] and execution.stage_by_ref("1<1") is None

    execution.stages = [stage for stage in execution.stages if stage.parent_stage_id is None]
    assert execution.stage("before") is None and execution.children(top[0]) == []
    assert execution.stage_by_ref("3") is top[2]
