"""Commit statuses and comments back to the forge, saying whether a dinghyfile rendered, validated
and (on the default branch) applied, with the dry run's diff for other branches.

Each forge's documented API: GitHub ``POST {repo}/statuses/{sha}`` and ``{repo}/commits/{sha}/comments``,
GitLab ``POST {project}/statuses/{sha}`` and ``{project}/repository/commits/{sha}/comments``,
Bitbucket Cloud ``POST {repo}/commit/{sha}/statuses/build`` and ``.../comments``, Bitbucket Server
and Stash ``POST {server}/rest/build-status/1.0/commits/{sha}``. Calls go through the outbound
client (the allow-list applies) with an ``Idempotency-Key`` derived from the push, the file and
what is reported, the same on every retry. A forge that does not answer costs a log line, never
the apply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from gennaker.outbound.client import OutboundClient
from gennaker.outbound.policy import OutboundRefused
from schemas.dinghy import DinghyRepository
from schemas.idempotency import HEADER

log = structlog.get_logger("gennaker.dinghy.status")

State = Literal["pending", "success", "failure", "error"]
CONTEXT = "continuous-integration/dinghy"
MAX_COMMENT = 60_000


def idempotency_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


@dataclass
class StatusReporter:
    client: OutboundClient

    async def report(self, repository: DinghyRepository, commit: str, state: State, description: str, key: str) -> None:
        """Set the commit's status (``dinghy``); nothing when the repository has no ``status_url``."""
        if not repository.status_url or not commit:
            return
        base = repository.status_url.rstrip("/")
        body: dict[str, Any]
        if repository.forge == "github":
            url = f"{base}/statuses/{commit}"
            body = {"state": state, "description": description[:140], "context": CONTEXT}
        elif repository.forge == "gitlab":
            url = f"{base}/statuses/{commit}"
            gitlab = {"pending": "pending", "success": "success", "failure": "failed", "error": "failed"}[state]
            body = {"state": gitlab, "description": description[:255], "name": "dinghy"}
        else:
            bitbucket = {"pending": "INPROGRESS", "success": "SUCCESSFUL", "failure": "FAILED", "error": "FAILED"}[
                state
            ]
            if repository.forge == "bitbucket-cloud":
                url = f"{base}/commit/{commit}/statuses/build"
            else:
                url = f"{base}/rest/build-status/1.0/commits/{commit}"
            body = {"state": bitbucket, "key": "dinghy", "description": description[:255], "url": base}
        await self._post(repository, url, body, idempotency_key(key, "status", state))

    async def comment(self, repository: DinghyRepository, commit: str, text: str, key: str) -> None:
        """Comment on the commit (where a pull request shows it) with ``text``: the dry run's diff."""
        if not repository.status_url or not commit:
            return
        base = repository.status_url.rstrip("/")
        text = text if len(text) <= MAX_COMMENT else text[:MAX_COMMENT] + "\n... (cut)"
        body: dict[str, Any]
        if repository.forge == "github":
            url, body = f"{base}/commits/{commit}/comments", {"body": text}
        elif repository.forge == "gitlab":
            url, body = f"{base}/repository/commits/{commit}/comments", {"note": text}
        elif repository.forge == "bitbucket-cloud":
            url, body = f"{base}/commit/{commit}/comments", {"content": {"raw": text}}
        else:
            return  # Bitbucket Server comments need a pull request id the push does not carry
        await self._post(repository, url, body, idempotency_key(key, "comment"))

    async def _post(self, repository: DinghyRepository, url: str, body: dict[str, Any], key: str) -> None:
        headers = {HEADER: key, "Accept": "application/json"}
        if repository.token is not None:
            headers["Authorization"] = f"Bearer {repository.token.get_secret_value()}"
        try:
            async with self.client.request("POST", url, json=body, headers=headers) as response:
                if response.status >= 400:
                    log.warning("the forge refused a status", repository=repository.name, status=response.status)
        except OutboundRefused as refused:
            log.warning("a status may not be sent there", repository=repository.name, reason=str(refused))
        except Exception as error:  # a forge that is down never fails the push
            log.warning("the forge did not take a status", repository=repository.name, error=str(error))
