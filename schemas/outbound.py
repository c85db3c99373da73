"""Where Gennaker's services may send HTTP requests that users (or operators) name the URL of.

The ``webhook`` stage, Echo's notifications and Echo's sinks all call URLs from pipelines or the
settings. Without a policy, anybody who may save a pipeline can make Orca call the cloud's metadata
service, the broker's management API or any other service on the internal network, and read the
answer back from the execution. :class:`OutboundSettings` is the ``outbound`` section of the
settings; ``gennaker.outbound`` enforces it.

The allow-list is Spinnaker's ``webhook.allowedRequests`` (``urlPrefix`` plus ``httpMethods``,
with ``allowedRequestsEnabled``); the default refusal of internal addresses is what Spinnaker's
``UserConfiguredUrlRestrictions`` does for loopback and link-local, extended to every address that
is not globally routable.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

HttpMethod = Annotated[str, Field(pattern=r"^[A-Z]+$", max_length=16)]


class AllowedRequest(BaseModel):
    """Requests whose method is one of ``http_methods`` and whose URL starts with ``url_prefix``.

    The prefix is compared part by part, not as a string: scheme, host and port must be equal, and
    the path must start with the prefix's path at a ``/`` boundary, so ``http://hooks.example.com``
    does not also allow ``http://hooks.example.com.evil.test``. A port of ``*`` (or an authority
    ending in ``:``, as Orca's string prefixes are often written) allows every port of that host.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url_prefix: str = Field(
        validation_alias=AliasChoices("url_prefix", "urlPrefix"),
        description="scheme://host[:port|:*][/path]: the URLs this entry allows",
    )
    http_methods: tuple[HttpMethod, ...] = Field(
        min_length=1,
        validation_alias=AliasChoices("http_methods", "httpMethods"),
        description="The methods this entry allows, upper case (GET, POST, PUT…)",
    )

    @field_validator("url_prefix")
    @classmethod
    def _has_scheme_and_host(cls, value: str) -> str:
        _prefix_parts(value)
        return value

    def allows(self, method: str, url: str) -> bool:
        """Whether this entry allows ``method`` on ``url`` (an absolute http(s) URL)."""
        if method.upper() not in self.http_methods:
            return False
        scheme, host, port, path = _prefix_parts(self.url_prefix)
        target = urlsplit(url)
        if target.scheme != scheme or (target.hostname or "") != host:
            return False
        if target.username is not None or target.password is not None:
            return False
        try:
            target_port = target.port or DEFAULT_PORTS[scheme]
        except ValueError:
            return False
        if port is not None and target_port != port:
            return False
        target_path = target.path or "/"
        return path in ("", "/") or target_path == path or target_path.startswith(path.rstrip("/") + "/")


DEFAULT_PORTS = {"http": 80, "https": 443}


def _prefix_parts(prefix: str) -> tuple[str, str, int | None, str]:
    """``(scheme, host, port or None for any, path)`` of an allow-list prefix; ValueError if unusable."""
    scheme, separator, rest = prefix.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        raise ValueError(f"url_prefix {prefix!r} must start with http:// or https://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        raise ValueError(f"url_prefix {prefix!r} must not carry a user name or password")
    host, port_text = authority, None
    if authority.startswith("["):
        host, _, after = authority[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else None
    elif ":" in authority:
        host, _, port_text = authority.partition(":")
    if not host:
        raise ValueError(f"url_prefix {prefix!r} names no host")
    port: int | None
    if port_text in ("*", ""):
        port = None
    elif port_text is None:
        port = DEFAULT_PORTS[scheme]
    elif port_text.isdigit() and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise ValueError(f"url_prefix {prefix!r} has an invalid port {port_text!r} (a number, or * for any)")
    return scheme, host.lower(), port, slash + path


class OutboundSettings(BaseModel):
    """The ``outbound`` section of the settings: one policy for every outbound call a user can aim."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    allowed_requests: tuple[AllowedRequest, ...] = Field(
        (),
        validation_alias=AliasChoices("allowed_requests", "allowedRequests"),
        description="Requests allowed wherever they lead, internal addresses included",
    )
    allowed_requests_only: bool = Field(
        False,
        validation_alias=AliasChoices("allowed_requests_only", "allowedRequestsEnabled"),
        description="Refuse every request no entry of allowed_requests allows (Orca's allowedRequestsEnabled)",
    )
    refused_networks: tuple[IPv4Network | IPv6Network, ...] = Field(
        (),
        validation_alias=AliasChoices("refused_networks", "rejectedIps"),
        description="Public networks refused too (requests allowed by allowed_requests still pass)",
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects a GET may follow, each checked again")
