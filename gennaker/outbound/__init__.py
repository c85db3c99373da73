"""The one HTTP client for calls whose URL a user (or an operator) names: webhooks, notifications, sinks.

:class:`OutboundClient` carries out :class:`schemas.outbound.OutboundSettings`: a request that an
entry of ``allowed_requests`` allows goes anywhere; any other goes only to public addresses (or is
refused outright under ``allowed_requests_only``). A refusal raises :class:`OutboundRefused` before
a byte is sent, and names the setting that would allow the call.
"""

from gennaker.outbound.client import OutboundClient
from gennaker.outbound.policy import OutboundPolicy, OutboundRefused, Route, address_refusal

__all__ = ["OutboundClient", "OutboundPolicy", "OutboundRefused", "Route", "address_refusal"]
