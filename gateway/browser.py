"""What a web page may make the gateway do: nothing, unless it is the gateway's own page or an allowed one.

Under authentication ``none`` (what ``gennaker up`` runs) every caller is an admin, so any page a
user opens could otherwise drive the gateway on 127.0.0.1 through their browser. Four checks,
applied to every request before authentication:

- ``Host`` must name the gateway (``allowed_hosts``: localhost, 127.0.0.1, [::1] and the address it
  listens on, by default), so a DNS-rebinding name pointing at 127.0.0.1 gets a 421 for every read
  and write;
- a write (POST, PUT, PATCH, DELETE) carrying an ``Origin`` that is neither the gateway's own nor
  in ``cors_allowed_origins`` is refused (403): browsers send ``Origin`` on every cross-site write,
  form posts included;
- a write with a body must declare it ``Content-Type: application/json`` (or ``application/*+json``,
  as CloudEvents do): 415 otherwise, so an HTML form (``text/plain``, ``multipart/form-data``,
  ``application/x-www-form-urlencoded``) cannot send one;
- CORS for a UI served elsewhere: an allowed origin gets ``Access-Control-Allow-Origin`` and its
  preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here; no origin is
  allowed by default.

The checks and the settings they use are logged once at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway.errors import GatewayError, UnsupportedMediaType

log = structlog.get_logger("gennaker.gateway")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::", "[::]")
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = ("authorization", "content-type", "idempotency-key", "x-correlation-id", "last-event-id")
EXPOSED_HEADERS = "X-Correlation-Id, Retry-After, WWW-Authenticate, Location"
PREFLIGHT_MAX_AGE = "600"


class MisdirectedRequest(GatewayError):
    """The ``Host`` header names a host this gateway does not answer for (421)."""

    status = 421


class CrossSiteRefused(GatewayError):
    """A write from a web page of another origin (403)."""

    status = 403


@dataclass(frozen=True)
class BrowserPolicy:
    """Which ``Host`` names the gateway answers to and which other origins may call it from a browser.

    ``allowed_hosts`` holds host names without ports (``"gennaker.example.com"``, ``"[::1]"``);
    ``"*"`` allows any, and a leading dot (``".example.com"``) a domain and its subdomains.
    ``cors_allowed_origins`` holds origins (``"https://ui.example.com"``); ``"*"`` allows any.
    """

    allowed_hosts: tuple[str, ...]
    cors_allowed_origins: tuple[str, ...] = ()

    @classmethod
    def for_address(
        cls, bind_host: str, allowed_hosts: tuple[str, ...] | None, cors_allowed_origins: tuple[str, ...] = ()
    ) -> BrowserPolicy:
        """The policy for a gateway listening on ``bind_host``: ``allowed_hosts`` or the local defaults."""
        if allowed_hosts is None:
            extra = () if bind_host in WILDCARD_ADDRESSES else (_bracketed(bind_host),)
            allowed_hosts = tuple(dict.fromkeys((*LOCAL_HOSTS, *extra)))
        hosts = tuple(host.strip().lower() for host in allowed_hosts if host.strip())
        origins = tuple(origin.strip().rstrip("/").lower() for origin in cors_allowed_origins if origin.strip())
        return cls(hosts, origins)

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` (a ``Host`` header, port and all) names this gateway."""
        name = _host_name(host)
        for allowed in self.allowed_hosts:
            if allowed == "*" or name == allowed:
                return True
            if allowed.startswith(".") and (name == allowed[1:] or name.endswith(allowed)):
                return True
        return False

    def origin_allowed(self, origin: str) -> bool:
        """Whether a page of ``origin`` (not the gateway's own) may call the gateway (CORS)."""
        normalised = origin.strip().rstrip("/").lower()
        return normalised != "null" and any(allowed in ("*", normalised) for allowed in self.cors_allowed_origins)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _split_host(host: str) -> tuple[str, str]:
    """A ``Host`` header's name and port (``""`` when absent), lower case: ``[::1]:8084`` is ``([::1], 8084)``."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return f"{name}]", rest.removeprefix(":")
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, port
    return host, ""


def _host_name(host: str) -> str:
    return _split_host(host)[0]


def _same_origin(origin: str, host: str) -> bool:
    """Whether ``origin`` is the gateway's own: the host and port the request was sent to.

    A ``Host`` without a port means the default port of the origin's scheme, so a gateway behind a
    TLS-terminating proxy still recognises its own page.
    """
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default_port = 443 if parts.scheme == "https" else 80
    try:
        origin_port = parts.port or default_port
    except ValueError:
        return False
    name, port = _split_host(host)
    request_port = int(port) if port.isdigit() else default_port
    return _bracketed(parts.hostname) == name and origin_port == request_port


def _is_json(content_type: str) -> bool:
    kind, _, subtype = content_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


BROWSER_POLICY = web.AppKey("browser_policy", BrowserPolicy)
"""Where :func:`install_browser_policy` keeps the app's :class:`BrowserPolicy`."""


def install_browser_policy(app: web.Application, policy: BrowserPolicy) -> None:
    """Check every request of ``app`` against ``policy`` (with :func:`browser_middleware`) and log it."""
    app[BROWSER_POLICY] = policy
    app.on_startup.append(_log_policy)
    app.on_response_prepare.append(_cors_headers)


async def _log_policy(app: web.Application) -> None:
    policy = app[BROWSER_POLICY]
    log.info(
        "browser checks: requests must name an allowed Host (DNS rebinding gets 421), writes need "
        "Content-Type: application/json (415 otherwise) and cross-site writes are refused (403); "
        f"CORS origins allowed: {', '.join(policy.cors_allowed_origins) or 'none'}",
        allowed_hosts=list(policy.allowed_hosts),
        cors_allowed_origins=list(policy.cors_allowed_origins),
    )


@web.middleware
async def browser_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a wrong ``Host``, a cross-site write or a write that is not JSON; answer CORS preflights."""
    policy = request.app.get(BROWSER_POLICY)
    if policy is None:
        return await handler(request)
    host = request.headers.get(hdrs.HOST) or request.host
    if not policy.host_allowed(host):
        raise MisdirectedRequest(
            f"this gateway does not answer for host {_host_name(host)!r}; add it to the gateway_allowed_hosts "
            "setting if it is the gateway's own name",
            field="Host",
        )
    origin = request.headers.get(hdrs.ORIGIN)
    foreign = origin is not None and not _same_origin(origin, host)
    if request.method == "OPTIONS" and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers and origin:
        return _preflight(request, policy, origin)
    if request.method in WRITES:
        if foreign and origin is not None and not policy.origin_allowed(origin):
            raise CrossSiteRefused(
                f"a write from a page of {origin} is refused: that origin is not in gateway_cors_allowed_origins",
                field="Origin",
            )
        _require_json(request)
    return await handler(request)


def _require_json(request: web.Request) -> None:
    if not request.body_exists:
        return  # a write without a body (cancel, pause) has nothing to declare; Origin guards it
    declared = request.headers.get(hdrs.CONTENT_TYPE)
    if declared is None or not _is_json(request.content_type):
        got = f"got {declared!r}" if declared is not None else "it had no Content-Type"
        raise UnsupportedMediaType(
            f"send the request body as JSON with 'Content-Type: application/json' ({got})", field="Content-Type"
        )


def _preflight(request: web.Request, policy: BrowserPolicy, origin: str) -> web.Response:
    if not policy.origin_allowed(origin):
        raise CrossSiteRefused(
            f"a page of {origin} may not call this gateway: that origin is not in gateway_cors_allowed_origins",
            field="Origin",
        )
    asked = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS, "")
    headers = [name.strip() for name in asked.split(",") if name.strip().lower() in ALLOWED_HEADERS]
    return web.Response(
        status=204,
        headers={
            hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: ALLOWED_METHODS,
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ", ".join(headers),
            hdrs.ACCESS_CONTROL_MAX_AGE: PREFLIGHT_MAX_AGE,
            hdrs.VARY: "Origin",
        },
    )


async def _cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Let an allowed origin's page read the answer (errors included); preflights carry their own."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None or hdrs.ACCESS_CONTROL_ALLOW_ORIGIN in response.headers:
        return
    policy = request.app[BROWSER_POLICY]
    if policy.origin_allowed(origin):
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = EXPOSED_HEADERS
        response.headers.add(hdrs.VARY, "Origin")
