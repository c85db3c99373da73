"""Puts a :class:`Principal` on every request, or refuses it, before any handler runs.

:func:`install_auth` builds the authenticator the settings ask for and registers its start-up log
line and its clean-up on the app; :func:`auth_middleware` then authenticates every request not on
a public path, stores the caller for :func:`principal_of`, binds ``user`` into the log context,
and answers :class:`~gateway.auth.errors.AuthError` (raised by it or by a handler calling
:func:`gateway.auth.access.require`) with Gate's error JSON.

It runs innermost, inside the error middleware, so its 401 and 403 keep Gate's shape while a bug
in an authenticator still becomes the gateway's usual 500.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.auth.authenticators import Authenticator, NoneAuthenticator, StaticTokenAuthenticator
from gateway.auth.errors import AuthError, Unauthenticated, bearer_challenge
from gateway.auth.model import ANONYMOUS, ANONYMOUS_ADMIN, Principal
from gateway.auth.proxy import TrustedProxyAuthenticator
from gateway.auth.throttle import FailureThrottle, TooManyFailures, claimed_user, client_address
from gateway.metrics import AUTH_FAILURES
from schemas.auth_settings import AuthConfig
from schemas.authority import Authority

log = structlog.get_logger("gennaker.gateway.auth")


@dataclass(frozen=True)
class Authentication:
    """What the middleware needs on the app: the settings and the authenticator built from them."""

    config: AuthConfig
    authenticator: Authenticator
    throttle: FailureThrottle

    async def identify_throttled(self, request: web.Request) -> Principal:
        """:meth:`identify`, refusing (429) a client address or a user with too many recent failures.

        See :mod:`gateway.auth.throttle`: a throttled address is refused before its credentials are
        looked at; a failure for a throttled user is a 429 rather than a 401.
        """
        if self.config.mode == "none":
            return await self.identify(request)
        address = f"address:{client_address(request, self.config)}"
        limit, window = self.throttle.limit, self.throttle.window
        if "Authorization" in request.headers and (wait := self.throttle.retry_after(address)) is not None:
            AUTH_FAILURES.labels("throttled").inc()
            raise TooManyFailures(f"from {address.removeprefix('address:')}", wait, limit, window)
        try:
            return await self.identify(request)
        except Unauthenticated:
            if "Authorization" not in request.headers:
                raise  # no credentials at all: nothing was guessed
            self.throttle.failed(address)
            user = claimed_user(request, self.config)
            if user is not None:
                self.throttle.failed(f"user:{user}")
                if (wait := self.throttle.retry_after(f"user:{user}")) is not None:
                    AUTH_FAILURES.labels("throttled").inc()
                    raise TooManyFailures(f"for user {user}", wait, limit, window) from None
            AUTH_FAILURES.labels("refused").inc()
            raise

    async def identify(self, request: web.Request) -> Principal:
        """Who sent ``request``; raises :class:`Unauthenticated` when a protected path gets no credentials."""
        if self.config.mode == "none":
            return await self.authenticator.authenticate(request) or ANONYMOUS_ADMIN
        if request.method == "OPTIONS" or self.config.is_public(request.path):
            return ANONYMOUS
        principal = await self.authenticator.authenticate(request)
        if principal is None:
            raise Unauthenticated(
                f"authentication is required for {request.method} {request.path}: send 'Authorization: Bearer <token>'",
                headers=bearer_challenge(self.config.realm),
            )
        return principal


AUTHENTICATION = web.AppKey("authentication", Authentication)
"""Where :func:`install_auth` keeps the app's :class:`Authentication`."""

PRINCIPAL = web.RequestKey("principal", Principal)
"""Where the middleware keeps the caller on the request; read it with :func:`principal_of`."""


def principal_of(request: web.Request) -> Principal:
    """The caller of ``request``; :data:`ANONYMOUS` (allowed nothing) if no middleware identified one."""
    return request.get(PRINCIPAL) or ANONYMOUS


def authority_of(request: web.Request) -> Authority:
    """What a command sent for the caller of ``request`` carries: :meth:`Principal.authority`."""
    return principal_of(request).authority()


def build_authenticator(config: AuthConfig) -> Authenticator:
    """The authenticator for ``config.mode``, wrapped to honour trusted proxies when any are set."""
    inner: Authenticator
    match config.mode:
        case "none":
            inner = NoneAuthenticator()
        case "static":
            inner = StaticTokenAuthenticator(config)
        case "oidc":  # PyJWT and cryptography are loaded only by a gateway that verifies OIDC tokens
            from gateway.auth.oidc import OidcAuthenticator

            inner = OidcAuthenticator(config)
    return TrustedProxyAuthenticator(config, inner) if config.trusted_proxies else inner


def install_auth(app: web.Application, config: AuthConfig) -> None:
    """Give ``app`` the authentication ``config`` describes; add :func:`auth_middleware` to its middlewares."""
    throttle = FailureThrottle(config.failure_limit, config.failure_window_seconds)
    app[AUTHENTICATION] = Authentication(config, build_authenticator(config), throttle)
    app.on_startup.append(_log_mode)
    app.on_cleanup.append(_close)


async def _log_mode(app: web.Application) -> None:
    config = app[AUTHENTICATION].config
    proxies = [str(network) for network in config.trusted_proxies]
    match config.mode:
        case "none":
            log.warning(
                "authentication is off (auth mode 'none'): every caller is anonymous with full rights; "
                "set auth.mode to 'static' or 'oidc' before exposing the gateway",
                auth_mode="none",
                trusted_proxies=proxies,
            )
        case "static":
            users = [user.username for user in config.users if user.token_sha256]
            log.info("authentication: static API tokens", auth_mode="static", users=users, trusted_proxies=proxies)
        case "oidc":
            oidc = config.oidc
            issuer = oidc.issuer if oidc else None
            log.info("authentication: OIDC bearer tokens", auth_mode="oidc", issuer=issuer, trusted_proxies=proxies)
            if issuer and not issuer.startswith("https://"):
                log.warning("the OIDC issuer is not https; its keys can be tampered with in transit", issuer=issuer)


async def _close(app: web.Application) -> None:
    await app[AUTHENTICATION].authenticator.close()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Identify the caller, then run ``handler`` as them; refusals become Gate's error JSON."""
    authentication = request.app.get(AUTHENTICATION)
    if authentication is None:
        raise RuntimeError("auth_middleware needs install_auth(app, config) on the application")
    try:
        principal = request[PRINCIPAL] = await authentication.identify_throttled(request)
        tokens = structlog.contextvars.bind_contextvars(user=principal.username)
        try:
            return await handler(request)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
    except AuthError as error:
        if error.status == 403:
            log.info("access denied", user=principal_of(request).username, reason=str(error))
        return error.reply()
