"""Deck, Gennaker's web UI, served from the gateway at ``/``: no separate server, no CDN.

``/`` is the page, ``/deck/assets/{name}`` its hashed scripts and styles (cached for a year: a new
build has new names), and ``/deck/settings.json`` what the UI must know about this gateway before
anyone signs in (its authentication mode, Fiat's execute fallback, the OIDC client), as Deck's
``settings.js`` does. All three are public: the UI itself signs in and then calls Gate's API like
any other client. Assets are read once and kept gzipped, so a first load costs a few tens of KB.

The page carries a Content-Security-Policy allowing scripts and styles from this origin only, so
even a rendering bug could not run a script an API answer smuggled in.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

import deck
from gateway.api_model import ApiModel, json_reply
from gateway.errors import NotFound
from gateway.keys import CONFIG
from gateway.routing import Response, Route

ASSET_PREFIX = "/deck/assets/"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = (".js", ".css", ".svg", ".html")


@dataclass(frozen=True)
class Asset:
    """One file of the bundle, as sent: its bytes, gzipped bytes and media type."""

    body: bytes
    gzipped: bytes | None
    content_type: str


def _asset(name: str, body: bytes, content_type: str) -> Asset:
    compressed = gzip.compress(body, compresslevel=9, mtime=0) if name.endswith(COMPRESSIBLE) else None
    return Asset(body, compressed if compressed is not None and len(compressed) < len(body) else None, content_type)


@functools.cache
def bundle() -> dict[str, Asset]:
    """Every file of the built UI by its path under ``dist`` (``index.html``, ``assets/index-….js``)."""
    root = deck.built()
    index = root / "index.html"
    if not index.is_file():
        raise RuntimeError("the UI is not built: run `npm --prefix deck ci && npm --prefix deck run build`")
    files = {"index.html": _asset("index.html", index.read_bytes(), "text/html; charset=utf-8")}
    assets = root / "assets"
    if assets.is_dir():
        for entry in assets.iterdir():
            suffix = entry.name[entry.name.rfind(".") :]
            if entry.is_file() and suffix in TYPES:
                files[f"assets/{entry.name}"] = _asset(entry.name, entry.read_bytes(), TYPES[suffix])
    return files


def _send(request: web.Request, asset: Asset, headers: dict[str, str]) -> web.Response:
    accepts_gzip = "gzip" in request.headers.get("Accept-Encoding", "").lower()
    headers = {**headers, "Content-Type": asset.content_type, "X-Content-Type-Options": "nosniff"}
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip:
            return web.Response(body=asset.gzipped, headers={**headers, "Content-Encoding": "gzip"})
    return web.Response(body=asset.body, headers=headers)


def content_security_policy(request: web.Request) -> str:
    """Scripts, styles and calls to this origin only (plus the OIDC issuer the UI signs in with)."""
    connect = ["'self'"]
    oidc = request.app[CONFIG].auth.oidc
    if oidc is not None and oidc.client_id:
        parts = urlsplit(oidc.issuer)
        connect.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


async def get_index(request: web.Request) -> web.Response:
    """The UI's page; it loads its bundle from ``/deck/assets/``."""
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(request),
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    return _send(request, bundle()["index.html"], headers)


async def get_asset(request: web.Request) -> web.Response:
    """One hashed file of the bundle."""
    asset = bundle().get(f"assets/{request.match_info['asset']}")
    if asset is None:
        raise NotFound(f"no UI asset {request.match_info['asset']!r}; reload the page to get the current bundle")
    return _send(request, asset, {"Cache-Control": "public, max-age=31536000, immutable"})


class OidcClient(ApiModel):
    """How the UI signs users in with the identity provider (authorization code with PKCE)."""

    issuer: str
    client_id: str
    scopes: str


class UiSettings(ApiModel):
    """What the UI needs to know before anyone signs in."""

    auth_mode: str
    execute_fallback: str
    version: str
    oidc: OidcClient | None = None


async def get_settings(request: web.Request) -> web.Response:
    """The UI's settings, from the gateway's own."""
    config = request.app[CONFIG]
    oidc = config.auth.oidc
    client = (
        OidcClient(issuer=oidc.issuer, client_id=oidc.client_id, scopes=oidc.ui_scopes)
        if oidc is not None and oidc.client_id and config.auth.mode == "oidc"
        else None
    )
    settings = UiSettings(
        auth_mode=config.auth.mode,
        execute_fallback=config.auth.execute_fallback.value,
        version=config.version,
        oidc=client,
    )
    return json_reply(settings)


ROUTES = (
    Route(
        "GET",
        "/",
        get_index,
        summary="The web UI",
        tag="ui",
        responses={200: Response("The UI's page", media_type="text/html")},
        documented=False,
    ),
    Route(
        "GET",
        ASSET_PREFIX + "{asset}",
        get_asset,
        summary="A file of the web UI's bundle",
        tag="ui",
        responses={200: Response("The file"), 404: Response("Not a file of the current bundle")},
        documented=False,
    ),
    Route(
        "GET",
        "/deck/settings.json",
        get_settings,
        summary="The web UI's settings",
        tag="ui",
        responses={200: Response("What the UI needs before sign-in", UiSettings)},
        documented=False,
    ),
)
