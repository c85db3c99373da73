"""Orca refuses an execution over the pipeline limits, whoever sends it.

An ad-hoc start (``POST /pipelines/start``, or anything publishing ``orca.StartExecution``) carries
its pipeline in the command and never passes Front50's save, so Orca applies the same bounds
(:mod:`schemas.limits`) before storing anything: over a limit, or with a name that hides
characters, the command is answered with ``orca.command.rejected`` 400 naming the field, the limit
and the value, and nothing is stored.
"""

from __future__ import annotations

import structlog

from bus.context import MessageContext
from bus.endpoint import Handler
from schemas.limits import PipelineLimits, names_problem, pipeline_problem
from schemas.orca_engine import ExecutionCommandRejected, StartExecution

log = structlog.get_logger("gennaker.orca")


def limit_start_execution(handler: Handler, limits: PipelineLimits) -> Handler:
    """``orca.StartExecution``'s ``handler``, refusing a pipeline over ``limits`` first."""

    async def start_execution(command: StartExecution, context: MessageContext) -> None:
        exceeded = pipeline_problem(command.pipeline, limits) or names_problem(command.pipeline)
        if exceeded is None:
            await handler(command, context)
            return
        log.warning("execution refused: over a pipeline limit", execution_id=command.execution_id, field=exceeded.field)
        rejected = ExecutionCommandRejected(
            command_type=command.message_type,
            execution_id=command.execution_id,
            status=400,
            reason=exceeded.message,
            field=exceeded.field,
        )
        await context.publish(rejected, subject=command.execution_id)

    return start_execution
