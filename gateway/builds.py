"""Gate's ``/v2/builds`` and ``/v3/builds``: CI masters, their jobs and builds, read from Igor.

Shapes are Gate's (which relays Igor's): the masters and a master's jobs are lists of names (a job
in folders is ``folder/job/name``), a job's config is Igor's ``JobConfig``, builds are Igor's
``GenericBuild`` (newest first). Version 2 puts the job in the path after the fixed segments
(``/v2/builds/{master}/builds/{job…}``, ``/v2/builds/{master}/build/{number}/{job…}``); version 3
takes it as ``?job=``. ``/v3/builds/{master}/build/{number}/consoleText?job=`` is the build's
console text as plain text, its first ``maxBytes`` (default and most: 1 MiB; ``X-More-Data: true``
when cut); Spinnaker's Gate has no Jenkins console route (its ``/ci/builds/{id}/output`` serves
other CI providers), so this one follows our ``/v3/builds`` routes. Igor judges the caller's
authority on the master: READ, else a 403; an unknown master is a 404 ("Master 'x' not found"), one
that does not answer a 502 naming it.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web
from pydantic import Field, RootModel

from gateway.api_model import ApiModel
from gateway.auth.middleware import authority_of
from gateway.command_results import ask
from gateway.gate_api import GateError, SpinnakerJson, gate_json, gate_operation, gate_route
from gateway.routing import Response, Route, read_query
from schemas.igor import (
    MAX_CONSOLE_BYTES,
    MAX_JOB,
    BuildReply,
    GetBuild,
    GetBuildConsole,
    GetJobConfig,
    ListBuildMasters,
    ListBuilds,
    ListJobs,
)

TAG = "builds"


class MastersQuery(ApiModel):
    """``type``: only masters of this CI type (``jenkins``); empty: all."""

    type: str = Field("", max_length=64)


class JobQuery(ApiModel):
    """Version 3 names the job in the query."""

    job: str = Field(min_length=1, max_length=MAX_JOB)


class ConsoleQuery(JobQuery):
    """The job, and how much of the console text to return at most (from its start)."""

    max_bytes: int = Field(MAX_CONSOLE_BYTES, ge=1, le=MAX_CONSOLE_BYTES)


class Names(RootModel[list[str]]):
    """Names: masters, or a master's jobs."""


class Builds(RootModel[list[SpinnakerJson]]):
    """Igor's GenericBuilds, newest first."""


async def _relay(request: web.Request, query: Any) -> web.Response:
    reply = await ask(request, query, BuildReply)
    if reply.status != 200:
        raise GateError(reply.status, reply.error or "Igor refused the request", field="master")
    return gate_json(reply.value)


def _number(request: web.Request) -> int:
    text = request.match_info["number"]
    if not text.isdigit() or int(text) < 1:
        raise GateError(400, f"build number must be a positive integer, not {text[:32]!r}", field="number")
    return int(text)


def _job(request: web.Request) -> str:
    job = request.match_info.get("job") or read_query(request, JobQuery).job
    if len(job) > MAX_JOB:
        raise GateError(400, f"job names are at most {MAX_JOB} characters", field="job")
    return job


@gate_route
async def list_masters(request: web.Request) -> web.Response:
    """The build masters the caller may READ."""
    query = read_query(request, MastersQuery)
    return await _relay(request, ListBuildMasters(type=query.type, authority=authority_of(request)))


@gate_route
async def list_jobs(request: web.Request) -> web.Response:
    """A master's jobs."""
    master = request.match_info["master"]
    return await _relay(request, ListJobs(master=master, authority=authority_of(request)))


@gate_route
async def job_config(request: web.Request) -> web.Response:
    """A job's configuration and parameter definitions."""
    asked = GetJobConfig(master=request.match_info["master"], job=_job(request), authority=authority_of(request))
    return await _relay(request, asked)


@gate_route
async def list_builds(request: web.Request) -> web.Response:
    """A job's builds, newest first."""
    asked = ListBuilds(master=request.match_info["master"], job=_job(request), authority=authority_of(request))
    return await _relay(request, asked)


@gate_route
async def get_build(request: web.Request) -> web.Response:
    """One build of a job."""
    master, number = request.match_info["master"], _number(request)
    asked = GetBuild(master=master, job=_job(request), number=number, authority=authority_of(request))
    return await _relay(request, asked)


@gate_route
async def build_console(request: web.Request) -> web.Response:
    """A build's console text as plain text; ``X-More-Data: true`` when it was cut at ``maxBytes``."""
    master, number = request.match_info["master"], _number(request)
    query = read_query(request, ConsoleQuery)
    asked = GetBuildConsole(
        master=master, job=query.job, number=number, max_bytes=query.max_bytes, authority=authority_of(request)
    )
    reply = await ask(request, asked, BuildReply)
    if reply.status != 200 or not isinstance(reply.value, dict):
        raise GateError(reply.status, reply.error or "Igor refused the request", field="master")
    more = {"X-More-Data": "true"} if reply.value.get("truncated") else {}
    return web.Response(text=str(reply.value.get("text") or ""), content_type="text/plain", headers=more)


_route = functools.partial(gate_operation, TAG, "GET")


def _versions() -> list[Route]:
    routes: list[Route] = []
    masters = Response("Master names", Names)
    jobs = Response("Job names", Names)
    config = Response("The job's configuration", SpinnakerJson)
    builds = Response("Builds", Builds)
    build = Response("The build", SpinnakerJson)
    for version in ("v2", "v3"):
        name = f"{version}_"
        routes.append(
            _route(
                f"/{version}/builds",
                list_masters,
                "Get build masters",
                masters,
                400,
                504,
                query=MastersQuery,
                operation_id=name + "list_masters",
            )
        )
        routes.append(
            _route(
                f"/{version}/builds/{{master}}/jobs",
                list_jobs,
                "Get jobs for build master",
                jobs,
                403,
                404,
                502,
                504,
                operation_id=name + "list_jobs",
            )
        )
    routes += [
        _route("/v2/builds/{master}/jobs/{job:.+}", job_config, "Get job config", config, 403, 404, 502, 504),
        _route(
            "/v2/builds/{master}/builds/{job:.+}", list_builds, "Get builds for build master", builds, 403, 404, 502
        ),
        _route(
            "/v2/builds/{master}/build/{number}/{job:.+}",
            get_build,
            "Get build for build master",
            build,
            400,
            403,
            404,
            502,
        ),
        _route(
            "/v3/builds/{master}/job",
            job_config,
            "Get job config",
            config,
            400,
            403,
            404,
            502,
            query=JobQuery,
            operation_id="v3_job_config",
        ),
        _route(
            "/v3/builds/{master}/builds",
            list_builds,
            "Get builds for build master",
            builds,
            400,
            403,
            404,
            502,
            query=JobQuery,
            operation_id="v3_list_builds",
        ),
        _route(
            "/v3/builds/{master}/build/{number}",
            get_build,
            "Get build for build master",
            build,
            400,
            403,
            404,
            502,
            query=JobQuery,
            operation_id="v3_get_build",
        ),
        _route(
            "/v3/builds/{master}/build/{number}/consoleText",
            build_console,
            "Get a build's console output",
            Response("The console text (its first maxBytes)", media_type="text/plain"),
            400,
            403,
            404,
            502,
            query=ConsoleQuery,
            operation_id="v3_build_console",
        ),
    ]
    return routes


ROUTES = tuple(_versions())
