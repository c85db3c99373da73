"""Where Orca meets templated pipelines: ``orca.StartExecution`` of one, and Gate's plan.

A ``templatedPipeline`` config (``schema: "v2"``) is rendered before anything else looks at it:
the template it references is asked of Front50 with the command's authority (Front50 checks READ
on the template's application), rendered (:mod:`.render`) and then handled as the pipeline it
stands for — limits, concurrency and all. A config that cannot be rendered is answered with
``orca.command.rejected`` naming the config's field, and nothing is stored. A redelivered start
renders again; the execution id fixes what is stored, so it is stored once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from bus.context import MessageContext
from bus.endpoint import Handler
from schemas import Query, Reply
from schemas.authority import Authority
from schemas.json_types import Json
from schemas.limits import PipelineLimits, pipeline_problem
from schemas.orca_engine import ExecutionCommandRejected, StartExecution
from schemas.pipeline_templates import (
    GetPipelineTemplate,
    PipelineTemplateFound,
    PlanTemplatedPipeline,
    TemplatedPipelinePlan,
    is_templated,
    parse_reference,
)
from workers.orca.pipeline_templates.errors import TemplateError
from workers.orca.pipeline_templates.render import render

log = structlog.get_logger("gennaker.orca.templates")

Ask = Callable[[Query], Awaitable[Reply]]


class TemplatedPipelines:
    """Renders templated configs with templates from Front50; bounded by ``limits`` like any pipeline."""

    def __init__(self, limits: PipelineLimits, *, front50_timeout: float = 5.0) -> None:
        self.limits = limits
        self.front50_timeout = front50_timeout

    async def rendered(self, config: Json, trigger: Json, authority: Authority, ask: Ask) -> Json:
        """The pipeline ``config`` stands for; :class:`TemplateError` when it cannot be rendered."""
        template = config.get("template")
        reference = parse_reference(template.get("reference") if isinstance(template, dict) else None)
        if reference is None:
            raise TemplateError(
                "a templated pipeline names its template as spinnaker://<id>[:<tag>|@sha256:<digest>]",
                "template.reference",
            )
        query = GetPipelineTemplate(id=reference.id, tag=reference.tag, digest=reference.digest, authority=authority)
        found = await ask(query)
        if not isinstance(found, PipelineTemplateFound):
            raise TypeError(f"Front50 answered {type(found).__name__} to GetPipelineTemplate")
        if found.refused is not None:
            raise TemplateError(found.refused, "template.reference", status=403)
        if found.template is None:
            raise TemplateError(f"pipeline template {reference.decorated()} not found", "template.reference", 404)
        pipeline = render(config, found.template, trigger)
        exceeded = pipeline_problem(pipeline, self.limits)
        if exceeded is not None:
            raise TemplateError(f"the rendered pipeline is too large: {exceeded.message}", "template.reference")
        return pipeline

    def starting(self, handler: Handler) -> Handler:
        """``orca.StartExecution``'s ``handler``, given the rendered pipeline of a templated config."""

        async def start_execution(command: StartExecution, context: MessageContext) -> None:
            if not is_templated(command.pipeline):
                await handler(command, context)
                return
            try:
                pipeline = await self.rendered(
                    command.pipeline, command.trigger, command.authority, self._asker(context)
                )
            except TemplateError as error:
                log.info("templated pipeline refused", execution_id=command.execution_id, field=error.field)
                rejected = ExecutionCommandRejected(
                    command_type=command.message_type,
                    execution_id=command.execution_id,
                    status=error.status,
                    reason=error.reason,
                    field=error.field,
                )
                await context.publish(rejected, subject=command.execution_id)
                return
            await handler(command.model_copy(update={"pipeline": pipeline}), context)

        return start_execution

    async def plan(self, query: PlanTemplatedPipeline, context: MessageContext) -> TemplatedPipelinePlan:
        """The pipeline a templated config would run as, or why it cannot run (Gate's ``/plan``)."""
        if not is_templated(query.pipeline):
            return TemplatedPipelinePlan(
                status=400,
                reason="only a pipeline of type 'templatedPipeline' and schema 'v2' is planned",
                field="type",
            )
        try:
            pipeline = await self.rendered(query.pipeline, query.trigger, query.authority, self._asker(context))
        except TemplateError as error:
            return TemplatedPipelinePlan(status=error.status, reason=error.reason, field=error.field)
        return TemplatedPipelinePlan(pipeline=pipeline)

    def _asker(self, context: MessageContext) -> Ask:
        async def ask(query: Query) -> Reply:
            return await context.ask(query, timeout=self.front50_timeout)

        return ask
