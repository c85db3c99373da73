"""``helm/chart`` artifacts (``name``, ``version``, ``artifactAccount``) read from the chart
repositories the settings name (``[[rosco.helm_accounts]]``), as Clouddriver's Helm artifact
accounts read them: the repository's ``index.yaml`` lists each chart's versions with their URLs;
no ``version`` takes the newest. A chart URL in the index that leaves the repository's
scheme, host and port is refused: the operator named the repository, not wherever its index points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import yaml

from schemas.json_types import Json
from schemas.rosco import HelmAccount
from workers.rosco.manifests.errors import BakeFailed
from workers.rosco.manifests.inputs import MAX_INPUT_BYTES, label

TIMEOUT = aiohttp.ClientTimeout(total=30)


def _version_key(version: str) -> tuple[Any, ...]:
    core = version.lstrip("v").split("+", 1)[0]
    release, _, pre = core.partition("-")
    numbers = tuple(int(part) if part.isdigit() else 0 for part in release.split("."))
    return (*numbers, pre == "", pre)


class HelmRepositories:
    """Reads chart archives from the configured chart repositories."""

    def __init__(self, accounts: Sequence[HelmAccount]) -> None:
        self.accounts = {account.name: account for account in accounts}

    async def _get(self, session: aiohttp.ClientSession, url: str, what: str) -> bytes:
        try:
            async with session.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    raise BakeFailed(f"{what}: {url} answered HTTP {response.status}")
                body = await response.content.read(MAX_INPUT_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise BakeFailed(f"{what}: cannot read {url}: {error or type(error).__name__}") from None
        if len(body) > MAX_INPUT_BYTES:
            raise BakeFailed(f"{what}: {url} is larger than {MAX_INPUT_BYTES} bytes")
        return body

    async def fetch(self, artifact: Json) -> bytes:
        """The chart archive ``artifact`` names; :class:`BakeFailed` naming what is missing."""
        what = f"input artifact {label(artifact)}"
        account = self.accounts.get(str(artifact.get("artifactAccount") or ""))
        if account is None:
            known = ", ".join(sorted(self.accounts)) or "none configured"
            raise BakeFailed(
                f"{what}: helm/chart account {artifact.get('artifactAccount')!r} is not one of Rosco's "
                f"([[rosco.helm_accounts]]: {known})"
            )
        name, version = str(artifact.get("name") or ""), str(artifact.get("version") or "")
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            index_text = await self._get(session, f"{account.repository}/index.yaml", what)
            try:
                index = yaml.safe_load(index_text.decode())
            except (yaml.YAMLError, UnicodeDecodeError) as error:
                raise BakeFailed(f"{what}: the index.yaml of {account.name!r} does not parse: {error}") from None
            entries = [
                entry
                for entry in ((index or {}).get("entries") or {}).get(name) or []
                if isinstance(entry, dict) and (not version or str(entry.get("version")) == version)
            ]
            if not entries:
                raise BakeFailed(f"{what}: chart {name!r} version {version or 'any'} is not in {account.name!r}")
            entry = max(entries, key=lambda item: _version_key(str(item.get("version") or "")))
            urls = entry.get("urls") or []
            if not urls:
                raise BakeFailed(f"{what}: the index of {account.name!r} lists no URL for it")
            url = urljoin(f"{account.repository}/", str(urls[0]))
            if urlsplit(url)[:2] != urlsplit(account.repository)[:2]:
                raise BakeFailed(f"{what}: its URL {url} leaves the repository {account.repository}")
            return await self._get(session, url, what)
