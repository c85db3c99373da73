"""Stage types: the engine's extension point. One module per type Orca runs itself; types other
services provide are registered by name and service (:class:`~workers.orca.engine.stages.external.ExternalStage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workers.orca.engine.expression_language import Expressions
from workers.orca.engine.stages.base import (
    Outbound,
    StageDefinition,
    TaskDefinition,
    TaskResult,
    TaskRun,
)
from workers.orca.engine.stages.check_preconditions import CheckPreconditionsStage
from workers.orca.engine.stages.evaluate_variables import EvaluateVariablesStage
from workers.orca.engine.stages.external import ExternalStage
from workers.orca.engine.stages.manual_judgment import ManualJudgmentStage
from workers.orca.engine.stages.pipeline import PipelineStage
from workers.orca.engine.stages.wait import WaitStage
from workers.orca.engine.stages.webhook import WebhookStage


class UnknownStageType(LookupError):
    """No stage type of that name is known to this Orca."""


class StageTypes:
    """Stage type name → definition."""

    def __init__(self, definitions: Iterable[StageDefinition]) -> None:
        self._definitions = {definition.type: definition for definition in definitions}

    @classmethod
    def standard(
        cls,
        expressions: Expressions,
        external: Mapping[str, str] | None = None,
        heartbeats: Mapping[str, int] | None = None,
        extra: Iterable[StageDefinition] = (),
    ) -> StageTypes:
        """Orca's own stage types, plus ``external`` (stage type → the service that provides it,
        whose tasks must heartbeat within ``heartbeats[service]`` ms when given) and ``extra``
        definitions (stage types composed of others, such as deploy strategies)."""
        own: list[StageDefinition] = [
            WaitStage(),
            EvaluateVariablesStage(),
            ManualJudgmentStage(),
            CheckPreconditionsStage(expressions),
            WebhookStage(),
            PipelineStage(),
        ]
        beats = heartbeats or {}
        provided: list[StageDefinition] = [
            ExternalStage(type, service, beats.get(service), expressions) for type, service in (external or {}).items()
        ]
        return cls([*own, *provided, *extra])

    def names(self) -> frozenset[str]:
        """Every registered stage type (:data:`schemas.stage_types.STAGE_TYPES` must equal it)."""
        return frozenset(self._definitions)

    def find(self, type: str) -> StageDefinition | None:
        """The definition of ``type``, or ``None``."""
        return self._definitions.get(type)

    def get(self, type: str) -> StageDefinition:
        """The definition of ``type``; raises :class:`UnknownStageType` naming the known ones."""
        try:
            return self._definitions[type]
        except KeyError:
            known = ", ".join(sorted(self._definitions))
            raise UnknownStageType(f"no stage type {type!r} in this Orca; known types: {known}") from None


__all__ = [
    "Outbound",
    "StageDefinition",
    "StageTypes",
    "TaskDefinition",
    "TaskResult",
    "TaskRun",
    "UnknownStageType",
]
