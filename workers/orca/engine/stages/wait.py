"""``wait``: do nothing for ``waitTime`` seconds, or until someone sets ``skipRemainingWait``.

The task asks to be run again when the wait is over (a durable timer), so nothing in memory
waits; setting ``skipRemainingWait`` (``orca.UpdateStage``) runs it again at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun


def wait_ms(stage: Stage) -> int:
    """``waitTime`` (seconds, number or numeric string) in milliseconds; 0 when absent."""
    value = stage.context.get("waitTime", 0)
    try:
        return max(0, int(float(value) * 1000))
    except (TypeError, ValueError):
        raise ValueError(f"waitTime must be a number of seconds, not {value!r}") from None


class WaitTask:
    """Orca's ``WaitTask``: SUCCEEDED once ``waitTime`` has passed since the stage started."""

    name = "wait"

    def run(self, run: TaskRun) -> TaskResult:
        if run.stage.context.get("skipRemainingWait") is True:
            return TaskResult.succeeded()
        try:
            wait = wait_ms(run.stage)
        except ValueError as error:
            return TaskResult.terminal(str(error))
        remaining = (run.stage.start_time or run.now) + wait - run.now
        if remaining <= 0:
            return TaskResult.succeeded()
        return TaskResult.running(backoff_ms=remaining)


class WaitStage:
    type = "wait"

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (WaitTask(),)
