"""A local server speaking the part of the Docker Registry HTTP API V2 Igor's docker monitor reads,
with Docker's token authentication in front of it.

Written from the distribution specification, not from a client: ``GET /v2/<name>/tags/list``
answers ``{"name", "tags"}``, ``n`` bounds a page and ``last`` starts after a tag, and a page that
is not the last carries ``Link: </v2/<name>/tags/list?n=…&last=…>; rel="next"``. Without a valid
bearer token it answers 401 with ``WWW-Authenticate: Bearer realm="<server>/token",
service="registry.test",scope="repository:<name>:pull"``; ``GET /token`` with that service and
scope and the right basic auth answers ``{"token": …}``. ``GET``/``HEAD
/v2/<name>/manifests/<tag>`` answers the tag's ``Docker-Content-Digest`` (a test pushes a tag
again with :meth:`DockerRegistryServer.push`) or 404 for a tag the repository lacks. Every request
is recorded (method, path, query, whether it carried a token) for the tests to read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

USER = "igor"
PASSWORD = "registry-secret"
SERVICE = "registry.test"


@dataclass
class DockerRegistryServer:
    """Repositories (name → tags, in push order) behind token auth, on 127.0.0.1 (``url`` once started)."""

    repositories: dict[str, list[str]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    pushes: dict[str, int] = field(default_factory=dict)
    """How often ``name:tag`` was pushed again (its image, so its digest, changed)."""
    url: str = ""
    _tokens: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    @property
    def host(self) -> str:
        """The registry's host and port, as triggers and artifacts name it."""
        return self.url.split("://", 1)[1]

    async def _token(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, "query": dict(request.query), "token": False})
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.query.get("service") != SERVICE:
            return web.json_response({"errors": [{"code": "UNAUTHORIZED"}]}, status=401)
        token = secrets.token_hex(16)
        self._tokens.add(token)
        return web.json_response({"token": token, "expires_in": 300})

    def push(self, name: str, tag: str) -> str:
        """Push ``name:tag`` (again): a new image, so a new digest; the digest."""
        if tag not in self.repositories.setdefault(name, []):
            self.repositories[name].append(tag)
        else:
            self.pushes[f"{name}:{tag}"] = self.pushes.get(f"{name}:{tag}", 0) + 1
        return self.digest(name, tag)

    def digest(self, name: str, tag: str) -> str:
        """The digest ``name:tag`` has now."""
        image = f"{name}:{tag}#{self.pushes.get(f'{name}:{tag}', 0)}"
        return "sha256:" + hashlib.sha256(image.encode()).hexdigest()

    def _refusal(self, request: web.Request, name: str) -> web.Response | None:
        """401 with the token challenge for a request without a valid token (recorded either way)."""
        authorization = request.headers.get("Authorization", "")
        authorized = authorization.startswith("Bearer ") and authorization[7:] in self._tokens
        self.requests.append(
            {"method": request.method, "path": request.path, "query": dict(request.query), "token": authorized}
        )
        if authorized:
            return None
        challenge = f'Bearer realm="{self.url}/token",service="{SERVICE}",scope="repository:{name}:pull"'
        return web.json_response(
            {"errors": [{"code": "UNAUTHORIZED"}]}, status=401, headers={"WWW-Authenticate": challenge}
        )

    async def _manifest(self, request: web.Request) -> web.Response:
        name, tag = request.match_info["name"], request.match_info["reference"]
        if (refused := self._refusal(request, name)) is not None:
            return refused
        if tag not in self.repositories.get(name, []):
            return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN"}]}, status=404)
        kind = "application/vnd.oci.image.manifest.v1+json"
        headers = {"Docker-Content-Digest": self.digest(name, tag), "Content-Type": kind}
        return web.Response(body=json.dumps({"schemaVersion": 2, "mediaType": kind}).encode(), headers=headers)

    async def _tags(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if (refused := self._refusal(request, name)) is not None:
            return refused
        if name not in self.repositories:
            return web.json_response({"errors": [{"code": "NAME_UNKNOWN"}]}, status=404)
        tags = sorted(self.repositories[name])
        last = request.query.get("last")
        if last is not None:
            tags = [tag for tag in tags if tag > last]
        size = int(request.query.get("n", "100"))
        page, more = tags[:size], len(tags) > size
        headers = {"Link": f'</v2/{name}/tags/list?n={size}&last={page[-1]}>; rel="next"'} if more else {}
        return web.json_response({"name": name, "tags": page}, headers=headers)

    async def __aenter__(self) -> DockerRegistryServer:
        app = web.Application()
        app.router.add_get("/token", self._token)
        app.router.add_get(r"/v2/{name:.+}/tags/list", self._tags)
        app.router.add_get(r"/v2/{name:.+}/manifests/{reference}", self._manifest)
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
