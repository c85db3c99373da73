"""Mode ``oidc``: bearer JWTs from an OpenID Connect provider, verified against its published keys.

The issuer's signing keys (its JWKS) are fetched over HTTP, from ``jwks_url`` or the ``jwks_uri``
its discovery document names, and cached. A token naming a key id the cache lacks triggers a
refetch, which is how a key rotation at the issuer is picked up without a restart. Only the
asymmetric algorithms configured are accepted, so ``alg: none`` and HMAC tokens forged with the
public key are refused before any key is looked at.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import jwt
import structlog
from aiohttp import web

from gateway.auth.authenticators import bearer_token, principal_for
from gateway.auth.errors import AuthUnavailable, Unauthenticated, bearer_challenge
from gateway.auth.model import Principal
from schemas.auth_settings import AuthConfig, OidcConfig

log = structlog.get_logger("gennaker.gateway.auth")

type Jwk = dict[str, Any]
type FetchKeys = Callable[[], Awaitable[list[Jwk]]]


class KeySet:
    """The issuer's signing keys, cached for ``ttl`` seconds and refetched on an unknown key id.

    Refetches are serialised (one request to the issuer however many tokens wait) and spaced at
    least ``min_refetch`` seconds apart. When the issuer cannot be reached the keys already held
    keep being used; only a request that needs a key nobody holds fails, with
    :class:`AuthUnavailable`.
    """

    def __init__(
        self, fetch: FetchKeys, *, ttl: float, min_refetch: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._clock = clock
        self._keys: list[Jwk] = []
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()

    async def candidates(self, kid: str | None, algorithm: str) -> list[jwt.PyJWK]:
        """Keys that may have signed a token with this ``kid`` and ``algorithm``; empty if none."""
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl:
            await self._refresh(needed=not self._keys)
        found = self._matching(kid, algorithm)
        if not found and kid is not None and self._may_refetch():
            await self._refresh(needed=True)
            found = self._matching(kid, algorithm)
        return found

    def _may_refetch(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_refetch

    async def _refresh(self, *, needed: bool) -> None:
        attempts_seen = self._attempts
        async with self._lock:
            if self._attempts != attempts_seen:
                return  # another request refreshed while this one waited
            if not needed and not self._may_refetch():
                return
            self._attempts += 1
            self._attempted_at = self._clock()
            try:
                self._keys = await self._fetch()
            except AuthUnavailable as error:
                if needed:
                    raise
                log.warning("could not refresh the issuer's signing keys; keeping the cached ones", error=str(error))
                return
            self._fetched_at = self._clock()
            log.info("fetched the issuer's signing keys", kids=[key.get("kid") for key in self._keys])

    def _matching(self, kid: str | None, algorithm: str) -> list[jwt.PyJWK]:
        found = []
        for key in self._keys:
            if key.get("use", "sig") != "sig" or (kid is not None and key.get("kid") != kid):
                continue
            if key.get("alg") not in (None, algorithm):
                continue
            try:
                found.append(jwt.PyJWK(key, algorithm=algorithm))
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue  # a key of another type (EC for an RS256 token) or one we cannot read
        return found


class OidcAuthenticator:
    """Mode ``oidc``: verifies ``Authorization: Bearer <JWT>`` and reads the user and roles from it.

    The user name is the ``username_claim`` (``preferred_username``), else ``sub``; roles come
    from ``roles_claim`` (``groups``; a dotted name such as ``realm_access.roles`` reaches into a
    nested claim) plus whatever ``users`` configures for that name.
    """

    def __init__(self, config: AuthConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        if config.oidc is None:
            raise ValueError("OidcAuthenticator needs config.oidc")
        self._config = config
        self._oidc: OidcConfig = config.oidc
        self._session: aiohttp.ClientSession | None = None
        self._jwks_url = self._oidc.jwks_url
        self.keys = KeySet(
            self._fetch_keys,
            ttl=self._oidc.jwks_cache_seconds,
            min_refetch=self._oidc.jwks_min_refetch_seconds,
            clock=clock,
        )

    async def authenticate(self, request: web.Request) -> Principal | None:
        """The token's user; ``None`` without a bearer token; ``Unauthenticated`` when it fails a check."""
        token = bearer_token(request, self._config.realm)
        if token is None:
            return None
        claims = await self.verify(token)
        username = _claim(claims, self._oidc.username_claim) or claims.get("sub")
        if not isinstance(username, str) or not username:
            raise self._invalid(f"the token has neither {self._oidc.username_claim!r} nor 'sub' naming the user")
        email = _claim(claims, self._oidc.email_claim)
        return principal_for(
            self._config, username, _roles(_claim(claims, self._oidc.roles_claim)), email=_str_or_none(email)
        )

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and lifetime check out."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise self._invalid("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self._oidc.algorithms:
            allowed = ", ".join(self._oidc.algorithms)
            raise self._invalid(f"tokens signed with {algorithm!r} are not accepted; accepted: {allowed}")
        kid = header.get("kid")
        keys = await self.keys.candidates(kid if isinstance(kid, str) else None, algorithm)
        if not keys:
            raise self._invalid(f"no signing key {kid!r} is published by {self._oidc.issuer}")
        failure: jwt.InvalidTokenError = jwt.InvalidSignatureError("Signature verification failed")
        for key in keys:
            try:
                return jwt.decode(
                    token,
                    key=key,
                    algorithms=[algorithm],
                    audience=list(self._oidc.audience),
                    issuer=self._oidc.issuer,
                    leeway=self._oidc.leeway_seconds,
                    options={"require": ["exp", "iss", "aud"]},
                )
            except jwt.InvalidSignatureError as error:
                failure = error
            except jwt.InvalidTokenError as error:
                raise self._invalid(_explain(error, self._oidc)) from None
        raise self._invalid(_explain(failure, self._oidc))

    async def close(self) -> None:
        """Close the HTTP session used to fetch keys."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _invalid(self, message: str) -> Unauthenticated:
        challenge = bearer_challenge(self._config.realm, error="invalid_token", description=message)
        return Unauthenticated(message, headers=challenge)

    async def _fetch_keys(self) -> list[Jwk]:
        if self._jwks_url is None:
            discovery_url = f"{self._oidc.issuer}/.well-known/openid-configuration"
            discovery = await self._get_json(discovery_url)
            if discovery.get("issuer", "").rstrip("/") != self._oidc.issuer:
                raise AuthUnavailable(
                    f"{discovery_url} names issuer {discovery.get('issuer')!r}, not {self._oidc.issuer!r}; "
                    "fix auth.oidc.issuer"
                )
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise AuthUnavailable(f"{discovery_url} has no jwks_uri; set auth.oidc.jwks_url")
            self._jwks_url = jwks_uri
        document = await self._get_json(self._jwks_url)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise AuthUnavailable(f"{self._jwks_url} is not a JWK set (no 'keys' list)")
        return [key for key in keys if isinstance(key, dict)]

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._oidc.http_timeout_seconds))
        try:
            async with self._session.get(url, headers={"Accept": "application/json"}) as response:
                if response.status != 200:
                    raise AuthUnavailable(f"the identity provider answered {url} with HTTP {response.status}")
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise AuthUnavailable(
                f"could not fetch {url} from the identity provider: {type(error).__name__} {error}"
            ) from None
        if not isinstance(document, dict):
            raise AuthUnavailable(f"{url} did not answer with a JSON object")
        return document


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    node: Any = claims
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _roles(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _explain(error: jwt.InvalidTokenError, oidc: OidcConfig) -> str:
    match error:
        case jwt.ExpiredSignatureError():
            return "the token has expired; get a new one from the identity provider"
        case jwt.ImmatureSignatureError():
            return "the token is not valid yet (nbf or iat is in the future)"
        case jwt.InvalidAudienceError():
            return f"the token is not meant for this gateway (aud must be one of {', '.join(oidc.audience)})"
        case jwt.InvalidIssuerError():
            return f"the token was not issued by {oidc.issuer}"
        case jwt.MissingRequiredClaimError():
            return f"the token lacks the {error.claim!r} claim"
        case jwt.InvalidSignatureError():
            return "the token's signature does not verify against the issuer's keys"
        case _:
            return f"the token is invalid: {error}"
