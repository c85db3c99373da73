"""A local server speaking the file APIs Clouddriver's artifact accounts read: GitHub's repository
contents API (raw media type), GitLab's repository files API (``/raw``) and a plain HTTP file.

Written from the forges' documentation, not from a client: GitHub answers
``GET /repos/{owner}/{repo}/contents/{path}?ref=`` with the file's bytes when asked for
``application/vnd.github.raw`` (else the JSON description with base64 ``content``), and 401 ``Bad
credentials`` for a wrong ``Authorization: token``; GitLab answers
``GET /api/v4/projects/{id}/repository/files/{path}/raw?ref=`` with the bytes, 401 without the
``PRIVATE-TOKEN``, and 404 ``File Not Found`` for an unknown path or ref; ``/files/{name}`` wants
basic auth. Every request is recorded (method, path, query, headers) for the tests to read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import BasicAuth, web

type Files = dict[tuple[str, str], bytes]
"""``(ref, path)`` → bytes."""


@dataclass
class ArtifactServer:
    """The three file APIs over one aiohttp server on 127.0.0.1 (``url`` once started)."""

    github_token: str
    gitlab_token: str
    basic: tuple[str, str]
    github: Files = field(default_factory=dict)
    gitlab: Files = field(default_factory=dict)
    plain: dict[str, bytes] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    def _record(self, request: web.Request) -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
            }
        )

    async def _github(self, request: web.Request) -> web.Response:
        self._record(request)
        if request.headers.get("Authorization") != f"token {self.github_token}":
            return web.json_response({"message": "Bad credentials"}, status=401)
        path = request.match_info["path"]
        body = self.github.get((request.query.get("ref", "main"), path))
        if body is None:
            return web.json_response({"message": "Not Found"}, status=404)
        if request.headers.get("Accept") == "application/vnd.github.raw":
            return web.Response(body=body, content_type="application/vnd.github.raw")
        content = base64.b64encode(body).decode()
        return web.json_response({"type": "file", "encoding": "base64", "path": path, "content": content})

    async def _gitlab(self, request: web.Request) -> web.Response:
        self._record(request)
        if request.headers.get("PRIVATE-TOKEN") != self.gitlab_token:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        body = self.gitlab.get((request.query.get("ref", ""), request.match_info["path"]))
        if body is None:
            return web.json_response({"message": "404 File Not Found"}, status=404)
        return web.Response(body=body, content_type="text/plain")

    async def _plain(self, request: web.Request) -> web.Response:
        self._record(request)
        header = request.headers.get("Authorization", "")
        try:
            given = BasicAuth.decode(header)
        except ValueError:
            given = None
        if given is None or (given.login, given.password) != self.basic:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="files"'})
        body = self.plain.get(request.match_info["name"])
        return web.Response(status=404) if body is None else web.Response(body=body)

    async def __aenter__(self) -> ArtifactServer:
        app = web.Application()
        app.router.add_get("/repos/{owner}/{repo}/contents/{path:.+}", self._github)
        app.router.add_get("/api/v4/projects/{project}/repository/files/{path}/raw", self._gitlab)
        app.router.add_get("/files/{name}", self._plain)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
