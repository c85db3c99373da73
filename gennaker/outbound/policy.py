"""The decisions of the outbound policy, without a socket: which requests go where, which addresses are internal."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from schemas.outbound import OutboundSettings

METADATA_ADDRESSES = (
    ip_network("169.254.169.254/32"),  # AWS, GCP, Azure, OpenStack, DigitalOcean
    ip_network("169.254.170.2/32"),  # ECS task metadata
    ip_network("fd00:ec2::254/128"),  # AWS over IPv6
    ip_network("100.100.100.200/32"),  # Alibaba Cloud
)
"""Where clouds serve instance credentials: named apart so the refusal says what was at stake."""

ALLOW_HINT = "an operator may allow it with an outbound.allowed_requests entry (url_prefix, http_methods)"


class OutboundRefused(Exception):
    """The outbound policy refused a request; nothing was sent. The message says why and what would allow it."""


class Route(enum.Enum):
    """Where a request that passed the URL check may connect."""

    ANYWHERE = "anywhere"
    """An ``allowed_requests`` entry allows it: internal addresses included."""
    PUBLIC = "public"
    """No entry allows it: only addresses that are globally routable and not in ``refused_networks``."""


def address_refusal(address: str, refused_networks: Sequence[IPv4Network | IPv6Network] = ()) -> str | None:
    """Why a request without an allow-list entry may not connect to ``address``, or ``None`` if it may."""
    try:
        ip: IPv4Address | IPv6Address = ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in METADATA_ADDRESSES):
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    if any(ip in network for network in refused_networks):
        return "in outbound.refused_networks"
    return None


class OutboundPolicy:
    """:class:`OutboundSettings` as decisions: :meth:`route` per request, :meth:`refusal` per address."""

    def __init__(self, settings: OutboundSettings) -> None:
        self.settings = settings

    def route(self, method: str, url: str) -> Route:
        """Where ``method url`` may connect; :class:`OutboundRefused` when it may not be made at all."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutboundRefused(f"outbound call refused: {method} {_shown(url)} is not an http(s) URL with a host")
        if any(entry.allows(method, url) for entry in self.settings.allowed_requests):
            return Route.ANYWHERE
        if self.settings.allowed_requests_only:
            raise OutboundRefused(
                f"outbound call refused: {method} {_shown(url)} matches no outbound.allowed_requests entry "
                f"(outbound.allowed_requests_only is set); {ALLOW_HINT}"
            )
        return Route.PUBLIC

    def refusal(self, address: str) -> str | None:
        """Why a :attr:`Route.PUBLIC` request may not connect to ``address``, or ``None``."""
        return address_refusal(address, self.settings.refused_networks)

    def refused(self, method: str, url: str, reason: str) -> OutboundRefused:
        """The error for ``method url`` whose host is (or resolves to) an address refused for ``reason``."""
        return OutboundRefused(f"outbound call refused: {method} {_shown(url)} goes to {reason}; {ALLOW_HINT}")


def _shown(url: str) -> str:
    """``url`` without its query, user info or fragment (they may carry tokens), for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
