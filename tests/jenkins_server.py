"""A local server speaking the parts of Jenkins' remote access API that Igor uses, for the tests.

No Jenkins can be installed on these machines, so this server answers as Jenkins documents its
remote API (``/api/json`` and ``/api/xml`` on every object, the ``tree`` parameter with ``{m,n}``
ranges, ``buildWithParameters``, the build queue, the crumb issuer):

* every request needs HTTP basic auth with a user and its API token (401 otherwise);
* with ``csrf`` on, a POST needs the crumb from ``GET /crumbIssuer/api/json`` in the header it
  names (``Jenkins-Crumb``), else 403 "No valid crumb was included in the request";
* jobs live in folders (``/job/a/job/b/``); an unknown job is a 404;
* ``POST …/buildWithParameters`` (or ``…/build``) answers 201 with ``Location: <root>/queue/item/N/``;
  a value that is not one of a choice parameter's choices is a 400, as Jenkins refuses it;
* a queue item waits ``queue_delay`` seconds (``why`` says so), then names its ``executable``;
* a build runs ``duration`` seconds, then ends with the job's ``result`` (``SUCCESS``,
  ``UNSTABLE``, ``FAILURE``); ``POST …/N/stop`` aborts it (``ABORTED``); ``…/N/artifact/<path>``,
  ``…/N/consoleText`` and ``…/N/submitDescription`` work on it.

Time is read from the clock when asked, so nothing runs in the background. Tests script a job
with :class:`JobSpec` and may replace ``artifacts`` with a function of the build's parameters.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

USER, TOKEN = "igor", "11aa22bb33cc44dd55ee66ff77889900aa"
CRUMB_FIELD = "Jenkins-Crumb"


@dataclass
class Parameter:
    """A job's parameter definition: ``string``, ``choice`` or ``boolean``."""

    name: str
    kind: str = "string"
    default: str = ""
    choices: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        classes = {
            "string": "StringParameterDefinition",
            "choice": "ChoiceParameterDefinition",
            "boolean": "BooleanParameterDefinition",
        }
        described: dict[str, Any] = {
            "_class": f"hudson.model.{classes[self.kind]}",
            "name": self.name,
            "type": classes[self.kind],
            "description": "",
            "defaultParameterValue": {"name": self.name, "value": self.default},
        }
        if self.kind == "choice":
            described["choices"] = list(self.choices)
            described["defaultParameterValue"]["value"] = self.default or (self.choices[0] if self.choices else "")
        return described


type Artifacts = dict[str, bytes] | Callable[[dict[str, str]], dict[str, bytes]]


@dataclass
class JobSpec:
    """How a job behaves when built."""

    parameters: list[Parameter] = field(default_factory=list)
    result: str = "SUCCESS"
    duration: float = 0.05
    queue_delay: float = 0.0
    artifacts: Artifacts = field(default_factory=dict)
    buildable: bool = True


@dataclass
class Build:
    number: int
    parameters: dict[str, str]
    started: float
    duration: float
    result: str
    artifacts: dict[str, bytes]
    description: str | None = None
    aborted_at: float | None = None

    def building(self, now: float) -> bool:
        return self.aborted_at is None and now < self.started + self.duration

    def outcome(self, now: float) -> str | None:
        if self.aborted_at is not None:
            return "ABORTED"
        return None if self.building(now) else self.result


@dataclass
class Job:
    path: tuple[str, ...]
    spec: JobSpec
    builds: list[Build] = field(default_factory=list)
    next_number: int = 1


@dataclass
class QueueItem:
    id: int
    job: Job
    parameters: dict[str, str]
    queued_at: float
    delay: float
    build: Build | None = None
    cancelled: bool = False


class JenkinsServer:
    """The state behind :func:`jenkins_app`: folders, jobs, the queue, the builds, request counts."""

    def __init__(self, *, csrf: bool = True, user: str = USER, token: str = TOKEN) -> None:
        self.csrf = csrf
        self.user, self.token = user, token
        self.jobs: dict[tuple[str, ...], Job] = {}
        self.folders: set[tuple[str, ...]] = set()
        self.queue: dict[int, QueueItem] = {}
        self._ids = itertools.count(1)
        self.crumb = secrets.token_hex(16)
        self.requests: list[tuple[str, str]] = []
        self.idempotency_keys: list[str] = []
        self.root = ""

    def add_job(self, full_name: str, spec: JobSpec | None = None) -> Job:
        """Add a job by its full name (``folder/sub/job``); its folders are created."""
        path = tuple(full_name.split("/"))
        for depth in range(1, len(path)):
            self.folders.add(path[:depth])
        job = Job(path, spec or JobSpec())
        self.jobs[path] = job
        return job

    def job(self, full_name: str) -> Job:
        return self.jobs[tuple(full_name.split("/"))]

    def enqueue(self, full_name: str, parameters: dict[str, str] | None = None) -> QueueItem:
        """Queue a build as somebody pressing "Build Now" in Jenkins would."""
        item = QueueItem(
            next(self._ids), self.job(full_name), parameters or {}, time.time(), self.job(full_name).spec.queue_delay
        )
        self.queue[item.id] = item
        return item

    # --- time moves on when asked -------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        for item in self.queue.values():
            if item.build is None and not item.cancelled and now >= item.queued_at + item.delay:
                job = item.job
                artifacts = job.spec.artifacts
                files = artifacts(item.parameters) if callable(artifacts) else dict(artifacts)
                started = item.queued_at + item.delay  # when an executor took it, as Jenkins would have
                build = Build(job.next_number, item.parameters, started, job.spec.duration, job.spec.result, files)
                job.next_number += 1
                job.builds.append(build)
                item.build = build

    # --- shapes ------------------------------------------------------------------------------------

    def job_url(self, path: tuple[str, ...]) -> str:
        return self.root + "/" + "".join(f"job/{name}/" for name in path)

    def build_json(self, job: Job, build: Build, now: float) -> dict[str, Any]:
        url = f"{self.job_url(job.path)}{build.number}/"
        outcome = build.outcome(now)
        ended = build.aborted_at if build.aborted_at is not None else build.started + build.duration
        return {
            "_class": "hudson.model.FreeStyleBuild",
            "number": build.number,
            "id": str(build.number),
            "url": url,
            "displayName": f"#{build.number}",
            "fullDisplayName": f"{' » '.join(job.path)} #{build.number}",
            "description": build.description,
            "building": build.building(now),
            "result": outcome,
            "timestamp": int(build.started * 1000),
            "duration": int((ended - build.started) * 1000) if outcome else 0,
            "estimatedDuration": int(job.spec.duration * 1000),
            "artifacts": [
                {"displayPath": name.rsplit("/", 1)[-1], "fileName": name.rsplit("/", 1)[-1], "relativePath": name}
                for name in sorted(build.artifacts)
            ],
            "actions": [
                {
                    "_class": "hudson.model.ParametersAction",
                    "parameters": [{"name": key, "value": value} for key, value in build.parameters.items()],
                },
                {"_class": "hudson.model.CauseAction", "causes": [{"shortDescription": "Started by remote host"}]},
            ],
        }

    def job_json(self, job: Job, now: float) -> dict[str, Any]:
        completed = [build for build in job.builds if build.outcome(now) is not None]
        summary = {"_class": "hudson.model.FreeStyleBuild"}

        def brief(build: Build | None) -> dict[str, Any] | None:
            return None if build is None else {**summary, **self.build_json(job, build, now)}

        last_completed = completed[-1] if completed else None
        colour = "notbuilt"
        if last_completed is not None:
            colour = {"SUCCESS": "blue", "UNSTABLE": "yellow", "FAILURE": "red", "ABORTED": "aborted"}[
                last_completed.outcome(now) or "SUCCESS"
            ]
        definitions = [parameter.describe() for parameter in job.spec.parameters]
        return {
            "_class": "hudson.model.FreeStyleProject",
            "name": job.path[-1],
            "fullName": "/".join(job.path),
            "displayName": job.path[-1],
            "url": self.job_url(job.path),
            "buildable": job.spec.buildable,
            "color": colour,
            "nextBuildNumber": job.next_number,
            "inQueue": any(i.job is job and i.build is None and not i.cancelled for i in self.queue.values()),
            "builds": [brief(build) for build in reversed(job.builds)],
            "lastBuild": brief(job.builds[-1] if job.builds else None),
            "lastCompletedBuild": brief(last_completed),
            "property": [{"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": definitions}]
            if definitions
            else [],
        }

    def folder_json(self, path: tuple[str, ...], now: float) -> dict[str, Any]:
        children: list[dict[str, Any]] = []
        for folder in sorted(self.folders):
            if len(folder) == len(path) + 1 and folder[: len(path)] == path:
                children.append({**self.folder_json(folder, now), "color": None})
        for job_path, job in sorted(self.jobs.items()):
            if len(job_path) == len(path) + 1 and job_path[: len(path)] == path:
                children.append(self.job_json(job, now))
        if not path:
            return {"_class": "hudson.model.Hudson", "mode": "NORMAL", "url": self.root + "/", "jobs": children}
        return {
            "_class": "com.cloudbees.hudson.plugins.folder.Folder",
            "name": path[-1],
            "fullName": "/".join(path),
            "url": self.job_url(path),
            "jobs": children,
        }

    def queue_json(self, item: QueueItem, now: float) -> dict[str, Any]:
        waiting = item.build is None and not item.cancelled
        shape: dict[str, Any] = {
            "_class": "hudson.model.Queue$WaitingItem" if waiting else "hudson.model.Queue$LeftItem",
            "id": item.id,
            "blocked": False,
            "buildable": waiting,
            "cancelled": item.cancelled,
            "inQueueSince": int(item.queued_at * 1000),
            "why": f"In the quiet period. Expires in {max(0.0, item.queued_at + item.delay - now):.1f} sec"
            if waiting
            else None,
            "task": {"name": item.job.path[-1], "url": self.job_url(item.job.path)},
            "executable": None,
        }
        if item.build is not None:
            shape["executable"] = {
                "_class": "hudson.model.FreeStyleBuild",
                "number": item.build.number,
                "url": f"{self.job_url(item.job.path)}{item.build.number}/",
            }
        return shape


# --- the tree parameter and XML ---------------------------------------------------------------------


def parse_tree(text: str) -> dict[str, Any]:
    """``a,b[c,d]{0,5}`` → ``{"a": None, "b": ({"c": None, "d": None}, (0, 5))}``."""
    position = 0

    def level() -> dict[str, Any]:
        nonlocal position
        fields: dict[str, Any] = {}
        while position < len(text):
            match = re.compile(r"[A-Za-z0-9_$]+").match(text, position)
            if match is None:
                raise ValueError(f"bad tree at {position}: {text!r}")
            name, position = match.group(), match.end()
            children: dict[str, Any] | None = None
            window: tuple[int, int | None] | None = None
            if position < len(text) and text[position] == "[":
                position += 1
                children = level()
                if position >= len(text) or text[position] != "]":
                    raise ValueError(f"unclosed [ in tree {text!r}")
                position += 1
            if position < len(text) and text[position] == "{":
                end = text.index("}", position)
                low, _, high = text[position + 1 : end].partition(",")
                window = (int(low or 0), int(high) if high else None)
                position = end + 1
            fields[name] = (children, window)
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            break
        return fields

    parsed = level()
    if position != len(text):
        raise ValueError(f"bad tree at {position}: {text!r}")
    return parsed


def apply_tree(value: Any, tree: dict[str, Any] | None) -> Any:
    """``value`` cut to ``tree`` as Jenkins' ``tree`` parameter cuts it (``_class`` kept)."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_tree(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    cut: dict[str, Any] = {"_class": value["_class"]} if "_class" in value else {}
    for name, (children, window) in tree.items():
        if name not in value:
            continue
        found = value[name]
        if window is not None and isinstance(found, list):
            found = found[window[0] : window[1]]
        cut[name] = apply_tree(found, children) if children is not None else found
    return cut


def to_xml(tag: str, value: Any) -> str:
    """Jenkins' XML rendering: an element per field, a list as repeated elements, no nulls."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(to_xml(tag, item) for item in value)
    if isinstance(value, dict):
        inner = "".join(to_xml(key, item) for key, item in value.items() if key != "_class")
        attrs = f' _class="{escape(value["_class"])}"' if "_class" in value else ""
        return f"<{tag}{attrs}>{inner}</{tag}>"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"<{tag}>{escape(text)}</{tag}>"


def _root_tag(shape: dict[str, Any]) -> str:
    name = str(shape.get("_class", "object")).rsplit(".", 1)[-1].rsplit("$", 1)[-1]
    return name[:1].lower() + name[1:]


# --- the app --------------------------------------------------------------------------------------


def jenkins_app(server: JenkinsServer) -> web.Application:
    """The aiohttp application over ``server``."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
        server.requests.append((request.method, request.path_qs))
        if request.method == "POST" and "Idempotency-Key" in request.headers:
            server.idempotency_keys.append(request.headers["Idempotency-Key"])
        server.root = f"{request.scheme}://{request.host}"
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{server.user}:{server.token}".encode()).decode()
        if header != f"Basic {expected}":
            return web.Response(status=401, text="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
        if server.csrf and request.method == "POST" and request.headers.get(CRUMB_FIELD) != server.crumb:
            return web.Response(status=403, text="No valid crumb was included in the request")
        return await handler(request)

    def render(request: web.Request, shape: dict[str, Any], fmt: str) -> web.Response:
        tree_text = request.query.get("tree")
        if tree_text:
            try:
                shape = apply_tree(shape, parse_tree(tree_text))
            except ValueError as bad:
                return web.Response(status=400, text=str(bad))
        if fmt == "xml":
            return web.Response(text=to_xml(_root_tag(shape), shape), content_type="application/xml")
        return web.json_response(shape)

    async def crumb(request: web.Request) -> web.Response:
        shape = {
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": server.crumb,
            "crumbRequestField": CRUMB_FIELD,
        }
        return render(request, shape, request.match_info["fmt"])

    async def queue_item(request: web.Request) -> web.Response:
        now = time.time()
        server._advance(now)
        item = server.queue.get(int(request.match_info["id"]))
        if item is None:
            return web.Response(status=404, text="Not Found")
        return render(request, server.queue_json(item, now), request.match_info["fmt"])

    async def cancel_item(request: web.Request) -> web.Response:
        item = server.queue.get(int(request.query.get("id", "0") or 0))
        if item is not None and item.build is None:
            item.cancelled = True
        return web.Response(status=204)

    async def anything(request: web.Request) -> web.StreamResponse:
        now = time.time()
        server._advance(now)
        parts = [part for part in request.match_info["tail"].split("/") if part]
        path: list[str] = []
        while len(parts) >= 2 and parts[0] == "job":
            path.append(parts[1])
            parts = parts[2:]
        key = tuple(path)
        if not parts:
            raise web.HTTPFound(server.job_url(key))
        if key in server.jobs:
            return await on_job(request, server.jobs[key], parts, now)
        is_api = len(parts) == 2 and parts[0] == "api" and parts[1] in ("json", "xml")
        if (key in server.folders or not key) and is_api:
            return render(request, server.folder_json(key, now), parts[1])
        return web.Response(status=404, text="Not Found")

    async def on_job(request: web.Request, job: Job, parts: list[str], now: float) -> web.StreamResponse:
        if len(parts) == 2 and parts[0] == "api" and parts[1] in ("json", "xml"):
            return render(request, server.job_json(job, now), parts[1])
        if parts[0] in ("buildWithParameters", "build") and request.method == "POST":
            return await trigger(request, job, now)
        builds = {str(build.number): build for build in job.builds}
        completed = [build for build in job.builds if build.outcome(now) is not None]
        if job.builds:
            builds["lastBuild"] = job.builds[-1]
        if completed:
            builds["lastCompletedBuild"] = completed[-1]
        build = builds.get(parts[0])
        if build is None:
            return web.Response(status=404, text="Not Found")
        rest = parts[1:]
        if len(rest) == 2 and rest[0] == "api" and rest[1] in ("json", "xml"):
            return render(request, server.build_json(job, build, now), rest[1])
        if rest and rest[0] == "artifact":
            content = build.artifacts.get("/".join(rest[1:]))
            if content is None:
                return web.Response(status=404, text="Not Found")
            return web.Response(body=content, content_type="application/octet-stream")
        if rest == ["consoleText"]:
            lines = [f"Started by remote host with {build.parameters}", f"Building {'/'.join(job.path)}"]
            if build.outcome(now):
                lines.append(f"Finished: {build.outcome(now)}")
            return web.Response(text="\n".join(lines) + "\n")
        if rest == ["stop"] and request.method == "POST":
            if build.building(now):
                build.aborted_at = now
            raise web.HTTPFound(f"{server.job_url(job.path)}{build.number}/")
        if rest == ["submitDescription"] and request.method == "POST":
            form = await request.post()
            build.description = str(form.get("description", ""))
            raise web.HTTPFound(f"{server.job_url(job.path)}{build.number}/")
        return web.Response(status=404, text="Not Found")

    async def trigger(request: web.Request, job: Job, now: float) -> web.Response:
        if not job.spec.buildable:
            return web.Response(status=409, text=f"{'/'.join(job.path)} is disabled")
        form = await request.post()
        given = {**{k: str(v) for k, v in form.items()}, **dict(request.query)}
        parameters: dict[str, str] = {}
        for definition in job.spec.parameters:
            value = given.get(definition.name, definition.describe()["defaultParameterValue"]["value"])
            if definition.kind == "choice" and value not in definition.choices:
                return web.Response(status=400, text=f"Illegal choice for parameter {definition.name}: {value}")
            parameters[definition.name] = str(value)
        item = QueueItem(next(server._ids), job, parameters, now, job.spec.queue_delay)
        server.queue[item.id] = item
        return web.Response(status=201, headers={"Location": f"{server.root}/queue/item/{item.id}/"})

    app = web.Application(middlewares=[authenticate])
    app.router.add_get("/crumbIssuer/api/{fmt:json|xml}", crumb)
    app.router.add_get("/queue/item/{id:\\d+}/api/{fmt:json|xml}", queue_item)
    app.router.add_post("/queue/cancelItem", cancel_item)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app
