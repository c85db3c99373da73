"""Igor's one seam to a docker registry: the tags of a repository, over the Registry HTTP API V2.

``GET /v2/<repository>/tags/list?n=…`` answers ``{"name", "tags": [...]}``; more pages follow
the ``Link: <…>; rel="next"`` header, up to the account's ``max_tags``. A tag's digest is the
``Docker-Content-Digest`` of ``HEAD /v2/<repository>/manifests/<tag>`` (asked for any manifest
type Docker and OCI define, so it is the digest ``docker push`` printed). A registry that answers
401 with ``WWW-Authenticate: Bearer realm="…",service="…",scope="…"`` is asked again with a token
from that realm (fetched with basic auth when the account has a username), as Docker's token
authentication specifies; a realm on another host is still asked, since the registry named it.
Failures are :class:`RegistryUnavailable` (no answer, a timeout or a 5xx: try again next poll) or
:class:`RegistryRefused` (a 4xx: the account or the repository is wrong). The password never
appears in an error or a log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import aiohttp

from schemas.igor import DockerRegistryConfig

PAGE = 1000
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class RegistryUnavailable(Exception):
    """The registry could not be reached or answered 5xx."""

    def __init__(self, account: str, reason: str) -> None:
        super().__init__(f"docker registry '{account}' is unavailable: {reason}")


class RegistryRefused(Exception):
    """The registry answered 4xx."""

    def __init__(self, account: str, status: int, what: str) -> None:
        super().__init__(f"docker registry '{account}' answered {status} for {what}")
        self.status = status


class RegistryClient:
    """The tags of the repositories of one registry account."""

    def __init__(self, config: DockerRegistryConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[str, str] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout))
        return self._session

    def _basic(self) -> dict[str, str]:
        if not self.config.username:
            return {}
        password = self.config.password.get_secret_value() if self.config.password else ""
        return {"Authorization": aiohttp.encode_basic_auth(self.config.username, password)}

    async def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository`` (at most ``max_tags``), in the registry's order."""
        url: str | None = f"{self.config.address.rstrip('/')}/v2/{repository}/tags/list?n={PAGE}"
        found: list[str] = []
        while url is not None and len(found) < self.config.max_tags:
            body, headers = await self._get(url, repository, f"the tags of {repository}")
            tags = body.get("tags") if isinstance(body, dict) else None
            found.extend(tag for tag in tags or [] if isinstance(tag, str))
            match = _NEXT.search(headers.get("Link") or "")
            url = urljoin(url, match.group(1)) if match else None
        return found[: self.config.max_tags]

    async def digest(self, repository: str, tag: str) -> str | None:
        """The digest of ``repository:tag``; ``None`` when the tag is gone (404) or none is given."""
        url = f"{self.config.address.rstrip('/')}/v2/{repository}/manifests/{tag}"
        try:
            _, headers = await self._get(url, repository, f"the manifest of {repository}:{tag}", method="HEAD")
        except RegistryRefused as refused:
            if refused.status == 404:
                return None
            raise
        digest = headers.get("Docker-Content-Digest")
        return digest if digest and len(digest) <= 255 else None

    async def _get(self, url: str, repository: str, what: str, method: str = "GET") -> tuple[Any, Mapping[str, str]]:
        """The JSON body (``None`` for ``HEAD``) and the headers of the answer to ``url``."""
        for attempt in range(2):
            token = self._tokens.get(repository)
            headers = {
                "Accept": "application/json" if method == "GET" else MANIFEST_TYPES,
                **({"Authorization": f"Bearer {token}"} if token else self._basic()),
            }
            try:
                async with self.session.request(method, url, headers=headers, allow_redirects=False) as response:
                    if response.status == 401 and attempt == 0:
                        challenge = response.headers.get("WWW-Authenticate", "")
                        if challenge.lower().startswith("bearer "):
                            self._tokens[repository] = await self._token(challenge, repository)
                            continue
                    if response.status >= 500:
                        raise RegistryUnavailable(self.config.name, f"answered {response.status}")
                    if response.status >= 400:
                        raise RegistryRefused(self.config.name, response.status, what)
                    if method == "HEAD":
                        return None, response.headers
                    return await response.json(content_type=None), response.headers
            except (aiohttp.ClientError, TimeoutError) as failed:
                raise RegistryUnavailable(self.config.name, type(failed).__name__) from None
        raise RegistryRefused(self.config.name, 401, f"{what} with the token it issued")

    async def _token(self, challenge: str, repository: str) -> str:
        fields = dict(_CHALLENGE.findall(challenge))
        realm = fields.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryRefused(self.config.name, 401, f"the tags of {repository}: no token realm")
        fields.setdefault("scope", f"repository:{repository}:pull")
        async with self.session.get(realm, params=fields, headers=self._basic()) as response:
            if response.status >= 400:
                raise RegistryRefused(self.config.name, response.status, f"a token to read {repository}")
            body = await response.json(content_type=None)
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryRefused(self.config.name, 401, f"a token to read {repository}: none in the answer")
        return token

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
