"""A git server over HTTP with basic auth: git's own ``git http-backend`` (smart HTTP) run as a CGI
program behind a small aiohttp server, serving the bare repositories under ``root``.

A request without the right ``Authorization: Basic`` is answered 401 with a ``WWW-Authenticate``
challenge, as a forge does, so git asks its credential helper; every request's method, path and
the user it authenticated as are recorded for the tests to read.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import BasicAuth, web


def _backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True).stdout.strip()
    backend = Path(exec_path) / "git-http-backend"
    if not backend.exists():
        found = shutil.which("git-http-backend")
        assert found is not None, "git http-backend is not installed"
        return found
    return str(backend)


@dataclass
class GitHttpServer:
    """``http://127.0.0.1:PORT/<name>.git`` for every bare repository ``<name>.git`` under ``root``."""

    root: Path
    user: str
    password: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        try:
            given = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            given = None
        authenticated = given is not None and (given.login, given.password) == (self.user, self.password)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "user": given.login if given else None,
                "ok": authenticated,
            }
        )
        if not authenticated:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "REMOTE_USER": self.user,
            "REMOTE_ADDR": "127.0.0.1",
        }
        for header in ("Content-Encoding", "Git-Protocol"):
            if header in request.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = request.headers[header]
        body = await request.read()
        env["CONTENT_LENGTH"] = str(len(body))
        process = await asyncio.create_subprocess_exec(
            _backend(), env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate(body)
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        return web.Response(status=status, body=payload, headers=headers)

    async def __aenter__(self) -> GitHttpServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
