"""Fetching an artifact's bytes as Clouddriver's artifact credentials do: ``http/file``, ``github/file``
and ``gitlab/file``, through :class:`~gennaker.outbound.OutboundClient` (so the ``[outbound]`` rules
hold for the URL a user names).

* ``http/file``: ``GET reference``, with the account's basic auth when it names one.
* ``github/file``: ``reference`` is the contents API URL of the file
  (``https://api.github.com/repos/ORG/REPO/contents/PATH``), ``version`` the branch, tag or commit
  (``?ref=``); asked in GitHub's raw media type, with the account's token.
* ``gitlab/file``: ``reference`` is the repository files API URL of the raw file
  (``https://gitlab.com/api/v4/projects/ID/repository/files/PATH/raw``), ``version`` the ref
  (default ``master``, as Spinnaker's); the account's token goes in ``PRIVATE-TOKEN``.

Every request carries the ``Idempotency-Key`` the caller derives from its own retry-stable identity.
"""

from __future__ import annotations

import base64

import aiohttp

from gennaker.outbound.client import OutboundClient
from gennaker.outbound.policy import OutboundRefused
from schemas.artifact_accounts import FETCHED_TYPES, ArtifactAccount
from schemas.json_types import Json

MAX_ARTIFACT_BYTES = 8 * 1024 * 1024
FETCH_SECONDS = 30.0


class ArtifactUnavailable(Exception):
    """An artifact that could not be fetched; the message says which and why."""


def shown(artifact: Json) -> str:
    """An artifact as a message names it: its type and reference, without a query string."""
    reference = str(artifact.get("reference") or "").split("?", 1)[0]
    return f"{artifact.get('type')} {reference}".strip()


def _request(artifact: Json, account: ArtifactAccount | None) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query of the request; credentials only ever in headers, which a redirect to
    another origin drops (:data:`~gennaker.outbound.client.CREDENTIAL_HEADERS`)."""
    kind = str(artifact.get("type"))
    version = str(artifact.get("version") or "")
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if kind == "github/file":
        headers["Accept"] = "application/vnd.github.raw"
        if version:
            params["ref"] = version
        if account is not None and account.token is not None:
            headers["Authorization"] = f"token {account.token.get_secret_value()}"
    elif kind == "gitlab/file":
        params["ref"] = version or "master"
        if account is not None and account.token is not None:
            headers["PRIVATE-TOKEN"] = account.token.get_secret_value()
    elif account is not None and account.username is not None:
        password = account.password.get_secret_value() if account.password is not None else ""
        pair = f"{account.username}:{password}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
    return headers, params


async def fetch_artifact(
    client: OutboundClient,
    artifact: Json,
    account: ArtifactAccount | None,
    *,
    idempotency_key: str,
    max_bytes: int = MAX_ARTIFACT_BYTES,
) -> bytes:
    """The bytes of ``artifact`` (one of :data:`FETCHED_TYPES`), fetched with ``account``'s credentials."""
    kind = str(artifact.get("type"))
    if kind not in FETCHED_TYPES:
        raise ArtifactUnavailable(f"{shown(artifact)}: artifacts of type {kind!r} are not fetched over HTTP")
    if account is not None and account.type != FETCHED_TYPES[kind]:
        raise ArtifactUnavailable(
            f"{shown(artifact)}: artifact account {account.name!r} is a {account.type} account, "
            f"not a {FETCHED_TYPES[kind]} one"
        )
    reference = str(artifact.get("reference") or "")
    if not reference.startswith(("http://", "https://")):
        raise ArtifactUnavailable(f"{shown(artifact)}: the reference must be an http(s) URL")
    headers, params = _request(artifact, account)
    headers["Idempotency-Key"] = idempotency_key
    try:
        async with client.request(
            "GET",
            reference,
            headers=headers,
            params=params,
            follow_redirects=True,
            timeout=aiohttp.ClientTimeout(total=FETCH_SECONDS),
        ) as response:
            if response.status != 200:
                text = (await response.content.read(300)).decode(errors="replace").strip()
                raise ArtifactUnavailable(f"{shown(artifact)}: answered {response.status} {text}".rstrip())
            body = await response.content.read(max_bytes + 1)
    except OutboundRefused as refused:  # its message names the URL and the setting that would allow it
        raise ArtifactUnavailable(str(refused)) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ArtifactUnavailable(f"{shown(artifact)}: could not be fetched: {error!r}") from None
    if len(body) > max_bytes:
        raise ArtifactUnavailable(f"{shown(artifact)}: larger than {max_bytes} bytes")
    return body
