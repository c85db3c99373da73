"""Jenkins triggers: a build Igor announces starts the pipelines whose ``jenkins`` trigger names its job.

A trigger ``{type: "jenkins", enabled, master, job, propertyFile}`` matches ``igor.build.completed``
for that master and job when the build succeeded (SUCCESS only, as Echo's build event handler
takes them: an UNSTABLE build starts nothing). The execution's trigger carries ``buildNumber``,
``link`` (the build's URL), ``buildInfo`` (Igor's ``GenericBuild``) and, with a ``propertyFile``,
the file read by Igor as ``properties`` (asked with the authority the pipeline runs with). The
execution is keyed by master, job, build number and pipeline, timed by the build, so a build
announced twice starts each pipeline once.
"""

from __future__ import annotations

import structlog

from bus import Envelope, MessageContext
from schemas.base import cloudevent_type
from schemas.igor import BuildCompleted, BuildReply, GetBuildProperties
from schemas.json_types import Json
from workers.echo.triggers.keys import fire_key
from workers.echo.triggers.pipelines import PipelineIndex
from workers.echo.triggers.starts import RunAs, execution_trigger, start_pipeline

log = structlog.get_logger("gennaker.echo.triggers")

BUILD_COMPLETED = cloudevent_type(BuildCompleted.message_type, BuildCompleted.message_version)
SUCCESSFUL = ("SUCCESS",)


class JenkinsTriggers:
    """Starts the pipelines whose ``jenkins`` triggers a finished build matches."""

    def __init__(self, index: PipelineIndex, identity: RunAs | None = None) -> None:
        self.index = index
        self.identity = identity or RunAs()

    async def handle(self, envelope: Envelope, context: MessageContext) -> None:
        if envelope.type != BUILD_COMPLETED:
            return
        await self.index.ensure_loaded(context.bus)
        event = BuildCompleted.model_validate(envelope.data)
        build = event.build
        if build.get("result") not in SUCCESSFUL or not isinstance(build.get("number"), int):
            return
        for config, trigger in list(self.index.triggers("jenkins")):
            if trigger.get("master") != event.master or trigger.get("job") != event.job:
                continue
            properties = await self._properties(context, trigger, event)
            key = fire_key(
                f"jenkins/{event.master}/{event.job}/{build['number']}/{config['id']}",
                int(str(build.get("timestamp") or 0) or 0),
            )
            await start_pipeline(
                context,
                config,
                execution_trigger(
                    trigger,
                    buildNumber=build["number"],
                    link=build.get("url"),
                    buildInfo=build,
                    properties=properties,
                    eventId=envelope.id,
                ),
                key=key,
                trigger_type="jenkins",
                event_id=envelope.id,
                identity=self.identity,
            )

    async def _properties(self, context: MessageContext, trigger: Json, event: BuildCompleted) -> Json:
        file_name = trigger.get("propertyFile")
        if not isinstance(file_name, str) or not file_name:
            return {}
        authority = await self.identity.authority(context, trigger)
        if isinstance(authority, str):
            return {}
        asked = GetBuildProperties(
            master=event.master,
            job=event.job,
            number=int(event.build["number"]),
            file_name=file_name[:1024],
            authority=authority,
        )
        reply = await context.ask(asked, timeout=self.identity.timeout)
        if not isinstance(reply, BuildReply) or reply.status != 200 or not isinstance(reply.value, dict):
            log.warning("could not read the build's properties", master=event.master, job=event.job, file=file_name)
            return {}
        return reply.value
