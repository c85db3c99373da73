"""The ``#name(…)`` function registry, so the engine can add helpers this package cannot provide.

A helper is a plain function of a :class:`HelperContext` and its evaluated
arguments. :data:`DEFAULT_HELPERS` holds every helper that needs nothing but the
expression root; helpers that need I/O or another service (``#fromUrl``,
``#pipelineId`` …) are absent and fail with a reason saying so, until the engine
passes its own registry: ``process(value, root, helpers={**DEFAULT_HELPERS, "pipelineId": lookup})``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import ExpressionError
from .limits import Limits
from .values import Value, type_name


@dataclass(frozen=True, slots=True)
class HelperContext:
    """What a helper may see: the expression root, the limits, and the stage being evaluated."""

    root: Mapping[str, Value]
    limits: Limits
    current_stage_id: str | None = None

    def execution(self, function: str) -> dict[str, Value]:
        """The root's ``execution`` map; stage-locating helpers cannot work without it."""
        execution = self.root.get("execution")
        if not isinstance(execution, dict):
            raise ExpressionError(f"#{function} needs the pipeline execution, but the expression root has none")
        return execution

    def stages(self, function: str) -> list[dict[str, Value]]:
        stages = self.execution(function).get("stages") or []
        if not isinstance(stages, list):
            raise ExpressionError(f"#{function}: execution.stages is {type_name(stages)}, not a list")
        return [stage for stage in stages if isinstance(stage, dict)]


type Helper = Callable[[HelperContext, list[Value]], Value]
type HelperRegistry = Mapping[str, Helper]

# Spinnaker helpers that need the network or another service. The engine may register
# them; until then calling one says why it is missing instead of "unknown function".
NEEDS_ENGINE = {
    "fromUrl": "it fetches a URL",
    "jsonFromUrl": "it fetches a URL",
    "yamlFromUrl": "it fetches a URL",
    "propertiesFromUrl": "it fetches a URL",
    "pipelineId": "it looks up a pipeline in Front50",
    "pipelineIdInApplication": "it looks up a pipeline in Front50",
    "cfServiceKey": "it reads Cloud Foundry service keys",
    "readYaml": "YAML parsing is not provided by the expression package",
    "manifestLabelValue": "it is not implemented yet",
}


def lookup(registry: HelperRegistry, name: str) -> Helper:
    """The helper called ``#name``, or an error naming what is available."""
    helper = registry.get(name)
    if helper is not None:
        return helper
    if name in NEEDS_ENGINE:
        raise ExpressionError(f"function #{name} is not available here: {NEEDS_ENGINE[name]}")
    available = ", ".join(f"#{n}" for n in sorted(registry))
    raise ExpressionError(f"unknown function #{name}; available: {available}")


def arity(name: str, args: list[Value], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"#{name}() takes {expected} argument(s) but was given {len(args)}")


def string_arg(name: str, value: Value) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"#{name}() expects a string, got {type_name(value)}")
    return value
