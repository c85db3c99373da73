"""Why Orca refuses an operator's command the execution's state makes pointless, in words.

Cancelling an execution that has finished and judging a stage that was judged already (or has
finished) change nothing: the transitions ignore them, so a redelivery is harmless. Whoever sent
the command still deserves to know it did nothing, and why: the handler asks :func:`refusal`
against the very state the commit loaded (so two judgments racing each other are told apart: the
first is taken, the second refused) and answers ``orca.command.rejected`` with the status and the
reason found here (409 Conflict, as Gate answers a request the resource's state rules out).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.orca_engine import CancelExecution, JudgeStage
from workers.orca.engine.model import Execution


@dataclass(frozen=True)
class Refusal:
    """``status`` (HTTP-like) and the ``reason`` a person reads; ``field`` names the culprit, if any."""

    status: int
    reason: str
    field: str | None = None


REFUSED = (CancelExecution, JudgeStage)
"""The commands answered with a refusal when they would do nothing."""


def refusal_applies(command: object) -> bool:
    """``command`` is one whose sender is told when it did nothing."""
    return isinstance(command, REFUSED)


def refusal(execution: Execution, command: object) -> Refusal | None:
    """Why ``command`` does nothing to ``execution`` as it stands; ``None`` when it does something
    (or is not one of the commands refused here)."""
    if isinstance(command, CancelExecution):
        return _cancel(execution)
    if isinstance(command, JudgeStage):
        return _judge(execution, command.stage_id)
    return None


def _cancel(execution: Execution) -> Refusal | None:
    if not execution.status.complete:
        return None
    by = f" by {execution.canceled_by}" if execution.canceled and execution.canceled_by else ""
    return Refusal(
        409, f"execution {execution.id} has already finished ({execution.status.value}{by}): there is nothing to cancel"
    )


def _judge(execution: Execution, stage_id: str) -> Refusal | None:
    stage = execution.stage(stage_id)
    if stage is None:
        return Refusal(404, f"execution {execution.id} has no stage {stage_id}", "stageId")
    label = f"stage {stage.ref_id} {stage.name!r}"
    judged = stage.context.get("judgmentStatus")
    if judged:
        by = stage.context.get("judgedBy") or "someone"
        return Refusal(409, f"{label} was already judged {judged!r} by {by}: a judgment is given once")
    if stage.status.complete:
        return Refusal(409, f"{label} has already finished ({stage.status.value}): there is nothing to judge")
    if execution.status.complete:
        return Refusal(
            409, f"execution {execution.id} has already finished ({execution.status.value}): there is nothing to judge"
        )
    return None
