"""Igor's one seam to a Jenkins master: its remote access API over HTTP.

What Igor asks, as its ``JenkinsClient`` asks it: ``api/json?tree=…`` on the root and on jobs
(folders are ``job/a/job/b``), ``buildWithParameters`` / ``build`` (201 with a ``Location`` naming
the queue item), ``queue/item/N/api/xml`` (the ``executable``'s number once the build started),
builds' ``api/xml`` with a ``tree``, ``artifact/…``, ``consoleText``, ``stop``, ``submitDescription`` and
``queue/cancelItem``. Every request carries basic auth (user and API token); with ``csrf`` a POST
first takes a crumb from ``crumbIssuer`` (fetched again once when Jenkins refuses it).

Reads are retried with a doubling back-off on a refused connection, a timeout or a 5xx; POSTs
are not (Jenkins would queue the build twice: :mod:`workers.igor.triggers` guards those).
Failures are :class:`MasterUnavailable` (the master did not answer well: worth retrying later)
or :class:`JenkinsRefused` (it answered 4xx: the request is wrong).
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from schemas.igor import JenkinsMasterConfig
from schemas.json_types import Json

log = structlog.get_logger("gennaker.igor.jenkins")

READ_ATTEMPTS = 3
READ_BACKOFF = 0.2


class MasterUnavailable(Exception):
    """The master could not be reached or answered 5xx."""

    def __init__(self, master: str, reason: str) -> None:
        super().__init__(f"Jenkins master '{master}' is unavailable: {reason}")
        self.master = master


class JenkinsRefused(Exception):
    """The master answered 4xx: ``status`` and Jenkins' text."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def job_parts(job: str) -> list[str]:
    """A job's folder path: ``a/job/b`` (Igor's names) and ``a/b`` both mean folder ``a``, job ``b``."""
    parts = [part for part in job.split("/") if part]
    if len(parts) >= 3 and len(parts) % 2 == 1 and all(parts[i] == "job" for i in range(1, len(parts), 2)):
        return parts[0::2]
    return parts


def igor_job_name(parts: list[str]) -> str:
    """Igor's name of a job in folders: ``a/job/b``."""
    return "/job/".join(parts)


def job_path(job: str) -> str:
    """The URL path of a job: ``job/a/job/b``."""
    return "/".join(f"job/{quote(part, safe='')}" for part in job_parts(job))


def nested_tree(fields: str, depth: int) -> str:
    """The ``tree`` that reads ``depth`` folder levels of jobs in one request."""
    tree = f"jobs[{fields}]"
    for _ in range(depth - 1):
        tree = f"jobs[{fields},{tree}]"
    return tree


BUILD_TREE = (
    "number,url,result,building,duration,timestamp,fullDisplayName,description,"
    "artifacts[fileName,displayPath,relativePath],actions[parameters[name,value]]"
)
JOB_TREE = (
    "name,url,fullName,buildable,color,"
    "property[parameterDefinitions[name,type,description,choices,defaultParameterValue[value]]]"
)


async def _head(reply: aiohttp.ClientResponse, size: int) -> bytes:
    """At most ``size`` bytes of a body, read no further than needed."""
    chunks: list[bytes] = []
    read = 0
    async for chunk in reply.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        read += len(chunk)
        if read >= size:
            break
    return b"".join(chunks)[:size]


class JenkinsClient:
    """A Jenkins master's API for Igor (one :class:`aiohttp.ClientSession` per client)."""

    def __init__(self, config: JenkinsMasterConfig) -> None:
        self.config = config
        self.name = config.name
        self.root = config.address.rstrip("/")
        password = config.password.get_secret_value() if config.password else ""
        auth = aiohttp.encode_basic_auth(config.username, password) if config.username else None
        self._headers = {"Authorization": auth} if auth else {}
        self._session: aiohttp.ClientSession | None = None
        self._crumb: tuple[str, str] | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout)
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # --- transport ---------------------------------------------------------------------------------

    async def _get(
        self, path: str, params: dict[str, str] | None = None, *, limit: int | None = None
    ) -> tuple[int, bytes, str]:
        """GET with retries; answers (status, body, content type) of a 2xx to 4xx answer. With
        ``limit``, at most ``limit + 1`` bytes of the body are read (so a longer one shows)."""
        delay = READ_BACKOFF
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                async with self.session().get(f"{self.root}/{path}", params=params, allow_redirects=True) as reply:
                    body = await reply.read() if limit is None else await _head(reply, limit + 1)
                    if reply.status < 500:
                        return reply.status, body, reply.content_type
                    reason = f"HTTP {reply.status} for GET /{path}"
            except (aiohttp.ClientError, TimeoutError) as failed:
                reason = f"{type(failed).__name__}: {failed}"
            if attempt == READ_ATTEMPTS:
                raise MasterUnavailable(self.name, reason)
            log.warning("jenkins read failed, retrying", master=self.name, path=path, reason=reason, attempt=attempt)
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def _json(self, path: str, tree: str | None = None) -> Json:
        status, body, _ = await self._get(path, {"tree": tree} if tree else None)
        if status >= 400:
            raise JenkinsRefused(status, body.decode(errors="replace")[:500])
        found = json.loads(body)
        if not isinstance(found, dict):
            raise MasterUnavailable(self.name, f"/{path} answered no JSON object")
        return found

    async def _crumb_header(self, fresh: bool = False) -> dict[str, str]:
        if not self.config.csrf:
            return {}
        if self._crumb is None or fresh:
            issued = await self._json("crumbIssuer/api/json")
            self._crumb = (str(issued["crumbRequestField"]), str(issued["crumb"]))
        return {self._crumb[0]: self._crumb[1]}

    async def _post(
        self, path: str, data: dict[str, str] | None = None, key: str | None = None
    ) -> aiohttp.ClientResponse:
        """POST once (a crumb refused is fetched again once); answers the response, body read."""
        for fresh in (False, True):
            headers = await self._crumb_header(fresh)
            if key:
                headers["Idempotency-Key"] = key
            try:
                async with self.session().post(
                    f"{self.root}/{path}", data=data or {}, headers=headers, allow_redirects=False
                ) as reply:
                    await reply.read()
            except (aiohttp.ClientError, TimeoutError) as failed:
                raise MasterUnavailable(self.name, f"{type(failed).__name__}: {failed}") from failed
            if reply.status == 403 and self.config.csrf and not fresh:
                continue
            if reply.status >= 500:
                raise MasterUnavailable(self.name, f"HTTP {reply.status} for POST /{path}")
            return reply
        raise AssertionError("unreachable")

    # --- Igor's calls ------------------------------------------------------------------------------

    async def jobs_tree(self, fields: str, depth: int) -> Json:
        """The root with ``depth`` levels of jobs in one request."""
        return await self._json("api/json", nested_tree(fields, depth))

    async def folder(self, parts: list[str], fields: str, depth: int) -> Json:
        """A folder with ``depth`` levels of jobs in one request."""
        path = "/".join(f"job/{quote(part, safe='')}" for part in parts)
        return await self._json(f"{path}/api/json", nested_tree(fields, depth))

    async def job_config(self, job: str) -> Json:
        return await self._json(f"{job_path(job)}/api/json", JOB_TREE)

    async def builds(self, job: str) -> list[Json]:
        found = await self._json(f"{job_path(job)}/api/json", f"builds[{BUILD_TREE}]")
        return [build for build in found.get("builds") or [] if isinstance(build, dict)]

    async def build(self, job: str, number: int) -> Json:
        """One build, read from ``api/xml`` with a ``tree`` as Igor reads it."""
        status, body, _ = await self._get(f"{job_path(job)}/{number}/api/xml", {"tree": BUILD_TREE})
        if status >= 400:
            raise JenkinsRefused(status, body.decode(errors="replace")[:500])
        try:
            return from_xml(ElementTree.fromstring(body))
        except ElementTree.ParseError as bad:
            raise MasterUnavailable(self.name, f"build {number} of '{job}' is no XML: {bad}") from bad

    async def trigger(self, job: str, parameters: dict[str, str], key: str | None = None) -> int:
        """Queue a build; answers the queue item's id (from the ``Location`` of Jenkins' 201).

        ``key`` goes out as ``Idempotency-Key`` (the same for every try of one stage start); Jenkins
        ignores it, so Igor's own store is what keeps a retry from queueing a second build."""
        action = "buildWithParameters" if parameters else "build"
        reply = await self._post(f"{job_path(job)}/{action}", parameters, key)
        if reply.status != 201:
            text = (await reply.text())[:500]
            if reply.status in (400, 404, 409):
                raise JenkinsRefused(reply.status, text or f"HTTP {reply.status}")
            raise JenkinsRefused(
                reply.status,
                f"Received a non-201 status when submitting job '{job}' to master '{self.name}': "
                f"HTTP {reply.status} {text}".strip(),
            )
        location = reply.headers.get("Location", "").rstrip("/")
        tail = location.rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise JenkinsRefused(502, f"Could not find Location header for job '{job}'")
        return int(tail)

    async def queued(self, item: int) -> tuple[int | None, bool]:
        """A queue item's build number once it started (else ``None``) and whether it was cancelled."""
        status, body, _ = await self._get(f"queue/item/{item}/api/xml")
        if status == 404:
            raise JenkinsRefused(404, f"Queued job '{item}' not found for master '{self.name}'.")
        if status >= 400:
            raise JenkinsRefused(status, body.decode(errors="replace")[:500])
        root = ElementTree.fromstring(body)
        number = root.findtext("executable/number")
        cancelled = (root.findtext("cancelled") or "").lower() == "true"
        return (int(number) if number and number.isdigit() else None), cancelled

    async def artifact(self, job: str, number: int, relative_path: str) -> bytes | None:
        path = "/".join(quote(part, safe="") for part in relative_path.split("/"))
        status, body, _ = await self._get(f"{job_path(job)}/{number}/artifact/{path}")
        return body if status < 400 else None

    async def console(self, job: str, number: int, max_bytes: int) -> tuple[str, bool]:
        """The first ``max_bytes`` of a build's console text, and whether there was more."""
        status, body, _ = await self._get(f"{job_path(job)}/{number}/consoleText", limit=max_bytes)
        if status >= 400:
            raise JenkinsRefused(status, body[:500].decode(errors="replace"))
        return body[:max_bytes].decode(errors="replace"), len(body) > max_bytes

    async def stop(self, job: str, number: int) -> None:
        await self._post(f"{job_path(job)}/{number}/stop")

    async def cancel_queued(self, item: int) -> None:
        await self._post("queue/cancelItem", {"id": str(item)})

    async def describe(self, job: str, number: int, description: str) -> None:
        await self._post(f"{job_path(job)}/{number}/submitDescription", {"description": description})


LISTS = frozenset({"artifacts", "actions", "parameters", "builds", "jobs", "causes"})
"""Elements Jenkins repeats for a list: read as lists even when there is one."""
NUMBERS = frozenset({"number", "duration", "timestamp", "estimatedDuration", "id"})


def from_xml(element: ElementTree.Element) -> Json:
    """Jenkins' XML of an object as its JSON: repeated list elements gathered, numbers and booleans typed."""
    found: Json = {}
    for child in element:
        value: Any
        if len(child):
            value = from_xml(child)
        else:
            text = child.text or ""
            if child.tag in NUMBERS and text.lstrip("-").isdigit():
                value = int(text)
            elif text in ("true", "false"):
                value = text == "true"
            else:
                value = text
        if child.tag in LISTS:
            found.setdefault(child.tag, []).append(value)
        else:
            found[child.tag] = value
    return found


def generic_build(job: str, build: Json) -> Json:
    """Igor's ``GenericBuild`` of a Jenkins build."""
    building = bool(build.get("building"))
    result: Any = "BUILDING" if building else build.get("result") or "NOT_BUILT"
    artifacts = [
        {
            "fileName": artifact.get("fileName"),
            "displayPath": artifact.get("displayPath"),
            "relativePath": artifact.get("relativePath"),
        }
        for artifact in build.get("artifacts") or []
        if isinstance(artifact, dict)
    ]
    return {
        "building": building,
        "fullDisplayName": build.get("fullDisplayName"),
        "name": job,
        "number": build.get("number"),
        "duration": build.get("duration"),
        "timestamp": str(build.get("timestamp", "")),
        "result": result,
        "artifacts": artifacts,
        "url": build.get("url"),
        "id": str(build.get("number")),
        "description": build.get("description"),
    }


def parameters_of(build: Json) -> dict[str, Any]:
    """A build's parameters from its ``ParametersAction``."""
    found: dict[str, Any] = {}
    for action in build.get("actions") or []:
        if isinstance(action, dict):
            for parameter in action.get("parameters") or []:
                if isinstance(parameter, dict) and "name" in parameter:
                    found[str(parameter["name"])] = parameter.get("value")
    return found
