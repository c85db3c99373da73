"""Failed authentications slow the one who fails: per client address and per user, then a 429.

A client address (behind a trusted proxy: the first address in ``X-Forwarded-For`` that is not a
trusted proxy) that fails ``failure_limit`` times within ``failure_window_seconds`` gets
``429 Too Many Requests`` with ``Retry-After`` for every request carrying credentials until the
oldest of those failures leaves the window, so tokens cannot be guessed at speed. A user named by
failing credentials (an OIDC token's user claim, read before its signature is checked) is counted
the same way; a user over the limit still gets in with valid credentials, so nobody can lock a
user out by forging tokens in their name, but failures in that name are answered with 429.

Every failure is counted in ``gennaker_gateway_auth_failures_total`` by outcome (``refused``: a
401, ``throttled``: a 429).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from aiohttp import web

from gateway.auth.errors import AuthError
from schemas.auth_settings import AuthConfig

MAX_TRACKED = 10_000
"""Addresses and users remembered at most; the least recently failed are forgotten first."""


class TooManyFailures(AuthError):
    """Too many failed authentications from this address or for this user (429, ``Retry-After``)."""

    status = 429
    reason = "Too Many Requests"

    def __init__(self, who: str, retry_after: float, limit: int, window: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(
            f"too many failed authentications {who} ({limit} within {window:g} s); retry after {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


class FailureThrottle:
    """Failures per key in a sliding window of ``window`` seconds; a key at ``limit`` must wait."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float | None:
        """Seconds ``key`` must wait before trying again; ``None`` when it may try now."""
        failures = self._failures.get(key)
        if failures is None:
            return None
        now = self._clock()
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return self.window - (now - failures[0]) if len(failures) >= self.limit else None

    def failed(self, key: str) -> None:
        """Count one failure of ``key``."""
        failures = self._failures.pop(key, None) or deque(maxlen=self.limit)
        failures.append(self._clock())
        self._failures[key] = failures
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)


def client_address(request: web.Request, config: AuthConfig) -> str:
    """The address a request comes from, seen through the configured trusted proxies."""
    remote = request.remote or "unknown"
    if not config.trusted_proxies or not _trusted(remote, config):
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, config):
            return hop
    return remote


def _trusted(address: str, config: AuthConfig) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed.version == net.version and parsed in net for net in config.trusted_proxies)


def claimed_user(request: web.Request, config: AuthConfig) -> str | None:
    """The user failing credentials claim to be, when they name one (an OIDC token's claim)."""
    if config.mode != "oidc" or config.oidc is None:
        return None
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    import jwt  # only under OIDC: a gateway without it never loads PyJWT and cryptography

    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    user = claims.get(config.oidc.username_claim) or claims.get("sub")
    return user[:256] if isinstance(user, str) and user else None
