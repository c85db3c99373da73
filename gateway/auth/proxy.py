"""``X-SPINNAKER-USER`` from a trusted proxy: the proxy authenticated the user, the gateway believes it.

Spinnaker's services pass the user on in ``X-SPINNAKER-USER``; an authenticating proxy in front
of the gateway (oauth2-proxy, an ingress doing mTLS) does the same. Anyone can send the header, so
it counts only when the connection comes from an address in ``trusted_proxies``; from anywhere else
it is ignored and the request is authenticated as if it were absent. ``X-SPINNAKER-ROLES``
(comma separated, a Gennaker extension) adds roles the same way.
"""

from __future__ import annotations

import ipaddress

import structlog
from aiohttp import web

from gateway.auth.authenticators import Authenticator, principal_for
from gateway.auth.model import Principal
from schemas.auth_settings import AuthConfig

USER_HEADER = "X-SPINNAKER-USER"
ROLES_HEADER = "X-SPINNAKER-ROLES"

log = structlog.get_logger("gennaker.gateway.auth")


class TrustedProxyAuthenticator:
    """Believes ``X-SPINNAKER-USER`` from ``trusted_proxies``; otherwise asks the wrapped authenticator."""

    def __init__(self, config: AuthConfig, inner: Authenticator) -> None:
        self._config = config
        self._inner = inner

    def trusts(self, remote: str | None) -> bool:
        """Whether a connection from ``remote`` (the peer address) comes from a trusted proxy."""
        if not remote or not self._config.trusted_proxies:
            return False
        try:
            address = ipaddress.ip_address(remote.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self._config.trusted_proxies)

    async def authenticate(self, request: web.Request) -> Principal | None:
        """The proxy's user when the peer is trusted and names one, else the wrapped authenticator's answer."""
        username = request.headers.get(USER_HEADER, "").strip()
        if username:
            if self.trusts(request.remote):
                roles = [role.strip() for role in request.headers.get(ROLES_HEADER, "").split(",") if role.strip()]
                return principal_for(self._config, username, roles)
            log.warning(
                "ignored X-SPINNAKER-USER from an address that is not a trusted proxy",
                remote=request.remote,
                claimed_user=username[:64],
            )
        return await self._inner.authenticate(request)

    async def close(self) -> None:
        """Close the wrapped authenticator."""
        await self._inner.close()
