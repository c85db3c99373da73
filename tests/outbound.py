"""The outbound allow-list the tests give the services whose test servers listen on 127.0.0.1.

Without it the outbound policy (``gennaker.outbound``) refuses every loopback address, as it must
in production; tests name their own servers in the settings rather than turning the policy off.
"""

from __future__ import annotations

from schemas.outbound import AllowedRequest, OutboundSettings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")

LOOPBACK_TEST_SERVERS = OutboundSettings(
    allowed_requests=(AllowedRequest(url_prefix="http://127.0.0.1:*", http_methods=METHODS),)
)
"""Allows every method to any port of 127.0.0.1 (the tests' own servers), and nothing else internal."""
