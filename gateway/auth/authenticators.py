"""The seam between a request and an identity: one small interface, one implementation per mode.

An :class:`Authenticator` looks at a request and answers with the :class:`Principal` it proves,
``None`` when the request carries no credentials of its kind, or raises
:class:`~gateway.auth.errors.Unauthenticated` when it carries credentials that do not check out.
The middleware decides what ``None`` means (a 401 on a protected path); authenticators never do.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Protocol

from aiohttp import web

from gateway.auth.errors import Unauthenticated, bearer_challenge
from gateway.auth.model import ANONYMOUS_ADMIN, Principal, normalise_role
from gateway.auth.tokens import hash_token
from schemas.auth_settings import AuthConfig


class Authenticator(Protocol):
    """Proves who sent a request. ``close`` releases what it holds (HTTP sessions); idempotent."""

    async def authenticate(self, request: web.Request) -> Principal | None:
        """The caller, ``None`` without credentials; raises ``Unauthenticated`` on bad ones."""
        ...

    async def close(self) -> None:
        """Release connections; the authenticator is not used afterwards."""
        ...


KNOWN_SCHEMES = frozenset({"basic", "digest", "negotiate", "ntlm", "token", "hoba", "mutual", "aws4-hmac-sha256"})
"""Authorization schemes a refusal may name; anything else in the header may be a credential."""


def bearer_token(request: web.Request, realm: str) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` when there is no such header.

    Any other ``Authorization`` scheme is refused rather than ignored, so a client sending Basic
    credentials learns at once that they are not accepted.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        # a malformed header is often a bare token: name the scheme only when it is one, never echo the rest
        named = repr(scheme) if scheme.lower() in KNOWN_SCHEMES else "(not a known scheme; its value is not shown)"
        raise Unauthenticated(
            f"the Authorization scheme {named if scheme else '(empty)'} is not accepted; "
            "send 'Authorization: Bearer <token>'",
            headers=bearer_challenge(realm, error="invalid_request", description="use the Bearer scheme"),
        )
    token = token.strip()
    if not token:
        raise Unauthenticated(
            "the Authorization header has no token after 'Bearer'",
            headers=bearer_challenge(realm, error="invalid_request", description="empty bearer token"),
        )
    return token


def principal_for(
    config: AuthConfig, username: str, roles: Iterable[str] = (), *, email: str | None = None
) -> Principal:
    """A principal for ``username`` with ``roles`` plus whatever ``config.users`` grants that name.

    The user is an admin when configured as one or when holding any of ``config.admin_roles``;
    under mode ``none`` everybody is.
    """
    configured = config.user(username)
    granted = {normalise_role(role) for role in roles if role.strip()}
    if configured is not None:
        granted |= {normalise_role(role) for role in configured.roles if role.strip()}
        email = email or configured.email
    admin_roles = {normalise_role(role) for role in config.admin_roles}
    admin = config.mode == "none" or bool(configured and configured.admin) or bool(granted & admin_roles)
    return Principal(username=username, roles=frozenset(granted), admin=admin, email=email)


class NoneAuthenticator:
    """Mode ``none``: every caller is :data:`~gateway.auth.model.ANONYMOUS_ADMIN`."""

    async def authenticate(self, request: web.Request) -> Principal | None:
        """Always the anonymous admin."""
        return ANONYMOUS_ADMIN

    async def close(self) -> None:
        """Nothing to release."""


class StaticTokenAuthenticator:
    """Mode ``static``: ``Authorization: Bearer <token>`` matched against configured token digests.

    The presented token is hashed and compared with every configured digest in constant time, so
    neither the comparison nor the position of the matching user leaks through timing.
    """

    def __init__(self, config: AuthConfig) -> None:
        self._config = config
        self._digests = [(user.token_sha256.encode(), user.username) for user in config.users if user.token_sha256]

    async def authenticate(self, request: web.Request) -> Principal | None:
        """The user whose token digest matches; ``None`` without a bearer token."""
        token = bearer_token(request, self._config.realm)
        if token is None:
            return None
        presented = hash_token(token).encode()
        matched: str | None = None
        for digest, username in self._digests:
            if hmac.compare_digest(presented, digest):
                matched = username
        if matched is None:
            raise Unauthenticated(
                "the bearer token matches no configured user; check the token or ask an admin for a new one",
                headers=bearer_challenge(self._config.realm, error="invalid_token", description="unknown token"),
            )
        return principal_for(self._config, matched)

    async def close(self) -> None:
        """Nothing to release."""
