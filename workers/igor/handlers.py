"""Igor's queries: masters, jobs, job configs, builds, properties and console text, as Igor's
controllers answer them (console text is cut at ``max_bytes``, at most ``MAX_CONSOLE_BYTES``).

Every query carries the caller's authority; a master it may not READ is refused (403), an unknown
one is "Master 'x' not found" (404), and a master that does not answer is a 502 naming it. Job
names are Igor's: a job in folders is ``folder/job/name``.
"""

from __future__ import annotations

from typing import Any

from bus.context import MessageContext
from schemas.authority import Permission
from schemas.igor import (
    BuildReply,
    GetBuild,
    GetBuildConsole,
    GetBuildProperties,
    GetJobConfig,
    ListBuildMasters,
    ListBuilds,
    ListJobs,
)
from schemas.json_types import Json
from workers.igor.jenkins import JenkinsClient, JenkinsRefused, MasterUnavailable, generic_build, igor_job_name
from workers.igor.masters import Masters, Refused
from workers.igor.stage_task import read_properties

JOB_FIELDS = "name,url,color"
MAX_JOBS = 10_000


def _jobs(node: Json, prefix: list[str], found: list[str]) -> None:
    """Every job under ``node`` by Igor's full name; folders are not listed."""
    for child in node.get("jobs") or []:
        if not isinstance(child, dict) or len(found) >= MAX_JOBS:
            continue
        path = [*prefix, str(child.get("name"))]
        if "jobs" in child:
            _jobs(child, path, found)
        else:
            found.append(igor_job_name(path))


def job_config(job: str, config: Json) -> Json:
    """Igor's ``JobConfig``: name, url, buildable, ``parameterDefinitionList``."""
    definitions = [
        {
            "name": definition.get("name"),
            "type": definition.get("type"),
            "description": definition.get("description"),
            "defaultParameterValue": definition.get("defaultParameterValue"),
            "choices": definition.get("choices"),
        }
        for holder in config.get("property") or []
        for definition in (holder or {}).get("parameterDefinitions") or []
    ]
    return {
        "name": job,
        "displayName": config.get("name"),
        "url": config.get("url"),
        "buildable": config.get("buildable", True),
        "color": config.get("color"),
        "parameterDefinitionList": definitions,
    }


class BuildQueries:
    """Answers Igor's queries from the masters' APIs."""

    def __init__(self, masters: Masters) -> None:
        self.masters = masters

    async def _answer(self, master: str, authority: Any, work: Any) -> BuildReply:
        try:
            client = self.masters.require(master, authority, Permission.READ)
            return BuildReply(value=await work(client))
        except Refused as refused:
            return BuildReply(status=refused.status, error=refused.reason)
        except JenkinsRefused as refused:
            return BuildReply(status=404 if refused.status == 404 else 400, error=refused.text)
        except MasterUnavailable as away:
            return BuildReply(status=502, error=str(away))

    async def list_masters(self, query: ListBuildMasters, context: MessageContext) -> BuildReply:
        if query.type and query.type.lower() != "jenkins":
            return BuildReply(value=[])
        return BuildReply(value=self.masters.names(query.authority))

    async def list_jobs(self, query: ListJobs, context: MessageContext) -> BuildReply:
        async def work(client: JenkinsClient) -> list[str]:
            found: list[str] = []
            _jobs(await client.jobs_tree(f"{JOB_FIELDS}", client.config.item_depth), [], found)
            return found

        return await self._answer(query.master, query.authority, work)

    async def get_job_config(self, query: GetJobConfig, context: MessageContext) -> BuildReply:
        async def work(client: JenkinsClient) -> Json:
            return job_config(query.job, await client.job_config(query.job))

        return await self._answer(query.master, query.authority, work)

    async def list_builds(self, query: ListBuilds, context: MessageContext) -> BuildReply:
        async def work(client: JenkinsClient) -> list[Json]:
            return [generic_build(query.job, build) for build in await client.builds(query.job)]

        return await self._answer(query.master, query.authority, work)

    async def get_build(self, query: GetBuild, context: MessageContext) -> BuildReply:
        async def work(client: JenkinsClient) -> Json:
            return generic_build(query.job, await client.build(query.job, query.number))

        return await self._answer(query.master, query.authority, work)

    async def get_properties(self, query: GetBuildProperties, context: MessageContext) -> BuildReply:
        async def work(client: JenkinsClient) -> Json:
            return await read_properties(client, query.job, query.number, query.file_name)

        return await self._answer(query.master, query.authority, work)

    async def get_console(self, query: GetBuildConsole, context: MessageContext) -> BuildReply:
        """A build's console text, cut at ``max_bytes`` (READ on the master)."""

        async def work(client: JenkinsClient) -> Json:
            text, truncated = await client.console(query.job, query.number, query.max_bytes)
            return {"text": text, "truncated": truncated, "bytes": len(text.encode())}

        return await self._answer(query.master, query.authority, work)
