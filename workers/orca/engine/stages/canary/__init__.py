"""Orca's ``kayentaCanary`` stage (Spinnaker's orca-kayenta module): the stage's settings
(:mod:`.settings`), the interval planning (:mod:`.intervals`, pure) and the stage definitions
with the aggregation of the intervals' scores (:mod:`.stages`)."""

from workers.orca.engine.stages.canary.settings import CanaryConfigInvalid
from workers.orca.engine.stages.canary.stages import (
    KAYENTA_CANARY,
    RUN_CANARY_INTERVALS,
    AggregateCanaryResultsTask,
    KayentaCanaryStage,
    RunCanaryIntervalsStage,
    canary_stage_types,
)

__all__ = [
    "KAYENTA_CANARY",
    "RUN_CANARY_INTERVALS",
    "AggregateCanaryResultsTask",
    "CanaryConfigInvalid",
    "KayentaCanaryStage",
    "RunCanaryIntervalsStage",
    "canary_stage_types",
]
