"""When an execution should be looked at again if nothing happens to it: its ``checkAfter``.

Every commit stores it (:mod:`workers.orca.engine.commit`) and the reconciler
(:mod:`workers.orca.engine.reconciler`) takes the executions past it, so it lives apart from both.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.base import Command
from workers.orca.engine.model import Execution
from workers.orca.engine.outgoing import Outgoing
from workers.orca.engine.status import ExecutionStatus as S

ACTIVE = (S.NOT_STARTED, S.RUNNING)


def next_check(execution: Execution, outgoing: Sequence[Outgoing], now: int, stall_ms: int) -> int | None:
    """When to look at ``execution`` again if nothing happens to it (``None``: no need)."""
    if execution.status not in ACTIVE:
        return None
    candidates = [execution.check_after] if execution.check_after is not None else []
    if any(_for_orca_now(item) for item in outgoing):
        candidates.append(now + stall_ms)
    candidates.extend(
        task.wakes_at + stall_ms
        for stage in execution.stages
        for task in stage.tasks
        if task.status is S.RUNNING and task.wakes_at is not None
    )
    return min(candidates) if candidates else None


def _for_orca_now(item: Outgoing) -> bool:
    """A command Orca itself handles now: if it is lost, only a re-drive moves the execution on.
    (Another service's task is watched by its own heartbeat and the stage's timeout.)"""
    message = item.message
    return isinstance(message, Command) and item.due_at is None and (item.to or message.owner()) == "orca"
