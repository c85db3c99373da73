"""A templated pipeline's stage graph: the template's stages with the configuration's overrides.

The rules are those of Orca's ``V2ConfigStageInjectionTransform``:

1. a configuration stage whose ``refId`` is a template stage's replaces it;
2. configuration stages that declare ``requisiteStageRefIds`` join the graph, which is then put in
   dependency order (a cycle is an error);
3. stages with an ``inject`` rule (the template's first, then the configuration's) are taken out
   and put back where the rule says: ``first`` (before every root), ``last`` (after every leaf),
   ``before: [refIds]`` (between the targets and what they required), ``after: [refIds]``
   (between the targets and what required them).

Pure: stages are JSON objects, copied, never changed in place. Errors are :class:`TemplateError`
naming the configuration's field.
"""

from __future__ import annotations

import copy

from schemas.json_types import Json
from workers.orca.pipeline_templates.errors import TemplateError


def _ref(stage: Json) -> str:
    return str(stage.get("refId"))


def _requisites(stage: Json) -> list[str]:
    stage["requisiteStageRefIds"] = list(dict.fromkeys(str(r) for r in stage.get("requisiteStageRefIds") or []))
    return list(stage["requisiteStageRefIds"])


def _add(stage: Json, ref: str) -> None:
    if ref not in _requisites(stage):
        stage["requisiteStageRefIds"].append(ref)


def stage_graph(template_stages: list[Json], config_stages: list[Json]) -> list[Json]:
    """The stages of the rendered pipeline, in dependency order (the module docstring)."""
    stages = [copy.deepcopy(stage) for stage in template_stages]
    overrides = [copy.deepcopy(stage) for stage in config_stages]
    for stage in [*stages, *overrides]:
        _requisites(stage)
    positions = {_ref(stage): index for index, stage in enumerate(stages)}
    for override in overrides:
        if _ref(override) in positions:
            stages[positions[_ref(override)]] = override
    present = {_ref(stage) for stage in stages}
    for position, override in enumerate(overrides):
        if _ref(override) in present:
            continue
        if override["requisiteStageRefIds"]:
            stages.append(override)
        elif not override.get("inject"):
            raise TemplateError(
                f"stage {_ref(override)!r} is neither a template stage nor placed by requisiteStageRefIds or an "
                "inject rule (first, last, before, after)",
                f"stages[{position}]",
            )
    stages = _ordered(stages, "stages")
    overridden = {_ref(override) for override in overrides}
    stages = _inject([stage for stage in stages if _ref(stage) not in overridden], stages, "pipeline.stages")
    stages = _inject(overrides, stages, "stages")
    for stage in stages:
        stage.pop("inject", None)
    return stages


def _ordered(stages: list[Json], field: str) -> list[Json]:
    """``stages`` with each after the stages it requires (depth first, in the given order)."""
    graph = {_ref(stage): stage for stage in stages}
    done: set[str] = set()
    visiting: set[str] = set()
    result: list[Json] = []

    def visit(ref: str) -> None:
        stage = graph.get(ref)
        if stage is None or ref in done:
            return
        visiting.add(ref)
        for parent in stage["requisiteStageRefIds"]:
            if parent in visiting:
                raise TemplateError(f"the stages form a cycle (found at stage {ref!r})", field)
            visit(parent)
        visiting.discard(ref)
        done.add(ref)
        result.append(stage)

    for ref in graph:
        visit(ref)
    return result


def _inject(rules_from: list[Json], stages: list[Json], field: str) -> list[Json]:
    """``stages`` with every stage of ``rules_from`` that has an ``inject`` rule moved where it says."""
    for position, source in enumerate(list(rules_from)):
        rule = source.get("inject")
        if not rule:
            continue
        where = f"{field}[{position}].inject"
        if not isinstance(rule, dict):
            raise TemplateError("an inject rule is an object: {first | last | before | after}", where)
        stage = source
        stages = [other for other in stages if _ref(other) != _ref(stage)]
        if rule.get("first") is True:
            for other in stages:
                if not other["requisiteStageRefIds"]:
                    other["requisiteStageRefIds"].append(_ref(stage))
            stages.insert(0, stage)
        elif rule.get("last") is True:
            required = {parent for other in stages for parent in other["requisiteStageRefIds"]}
            for other in stages:
                if _ref(other) not in required:
                    _add(stage, _ref(other))
            stages.append(stage)
        elif rule.get("before"):
            stages = _before(stage, _targets(rule["before"], where), stages, where)
        elif rule.get("after"):
            stages = _after(stage, _targets(rule["after"], where), stages, where)
        else:
            raise TemplateError(f"stage {_ref(stage)!r} has no valid inject rule (first, last, before, after)", where)
        _ordered(stages, where)
    return stages


def _targets(value: object, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str | int) and not isinstance(item, bool) for item in items):
        raise TemplateError("inject targets are stage refIds", where)
    return [str(item) for item in items]


def _find(ref: str, target: str, stages: list[Json], where: str) -> int:
    for index, stage in enumerate(stages):
        if _ref(stage) == target:
            return index
    raise TemplateError(f"could not inject {ref!r} stage: unknown target stage id {target!r}", where)


def _before(stage: Json, targets: list[str], stages: list[Json], where: str) -> list[Json]:
    indexes: list[int] = []
    for target in targets:
        index = _find(_ref(stage), target, stages, where)
        for parent in stages[index]["requisiteStageRefIds"]:
            _add(stage, parent)
        stages[index]["requisiteStageRefIds"] = [_ref(stage)]
        indexes.append(index)
    stages.insert(max(indexes), stage)
    return stages


def _after(stage: Json, targets: list[str], stages: list[Json], where: str) -> list[Json]:
    indexes: list[int] = []
    for target in targets:
        indexes.append(_find(_ref(stage), target, stages, where))
        _add(stage, target)
        for other in stages:
            if target in other["requisiteStageRefIds"]:
                other["requisiteStageRefIds"] = [
                    _ref(stage) if parent == target else parent for parent in other["requisiteStageRefIds"]
                ]
                other["requisiteStageRefIds"] = list(dict.fromkeys(other["requisiteStageRefIds"]))
    stages.insert(max(indexes) + 1, stage)
    return stages
