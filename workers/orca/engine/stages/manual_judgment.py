"""``manualJudgment``: RUNNING until someone answers with ``orca.JudgeStage``.

``continue`` lets the pipeline go on; ``stop`` fails the stage (TERMINAL, or what its failure
options say), as Orca's ``ManualJudgmentTask`` does. Who judged, the answer and the chosen input
are kept in the context as ``judgedBy``, ``judgmentStatus`` and ``judgmentInput``. No timer runs
while waiting unless the stage sets ``stageTimeoutMs``.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun


class WaitForJudgmentTask:
    name = "waitForJudgment"

    def run(self, run: TaskRun) -> TaskResult:
        judgment = str(run.stage.context.get("judgmentStatus") or "").lower()
        if judgment == "continue":
            return TaskResult.succeeded()
        if judgment == "stop":
            who = run.stage.context.get("judgedBy") or "someone"
            return TaskResult.terminal(f"stopped by {who} at manual judgment {run.stage.name!r}")
        return TaskResult.running(backoff_ms=None)


class ManualJudgmentStage:
    type = "manualJudgment"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (WaitForJudgmentTask(),)
