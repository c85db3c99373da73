"""Swagger UI at ``/swagger-ui.html``, served from the ``swagger-ui-bundle`` package, never a CDN.

Gennaker runs where there may be no internet, so the page and its scripts come from this process.
Only the files the page references are served, from a fixed list.
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from gateway.errors import NotFound
from gateway.routing import Response, Route

ASSET_PREFIX = "/swagger-ui/"
ASSETS: dict[str, str] = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui-standalone-preset.js": "application/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}

PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Gennaker API</title>
    <link rel="stylesheet" type="text/css" href="{prefix}swagger-ui.css">
    <link rel="icon" type="image/png" href="{prefix}favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="{prefix}favicon-16x16.png" sizes="16x16">
    <style>html {{ box-sizing: border-box; overflow-y: scroll; }} body {{ margin: 0; }}</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{prefix}swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="{prefix}swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script>
      window.onload = function () {{
        window.ui = SwaggerUIBundle({{
          url: "/openapi.json",
          dom_id: "#swagger-ui",
          deepLinking: true,
          validatorUrl: null,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          plugins: [SwaggerUIBundle.plugins.DownloadUrl],
          layout: "StandaloneLayout"
        }});
      }};
    </script>
  </body>
</html>
"""


def asset_directory() -> Traversable:
    """The packaged Swagger UI distribution (``vendor/swagger-ui-<version>``)."""
    vendor = resources.files("swagger_ui_bundle") / "vendor"
    for entry in sorted(vendor.iterdir(), key=lambda entry: entry.name, reverse=True):
        if entry.name.startswith("swagger-ui-") and entry.is_dir():
            return entry
    raise RuntimeError("swagger-ui-bundle has no vendor/swagger-ui-* directory; reinstall swagger-ui-bundle")


@functools.cache
def _asset_bytes(name: str) -> bytes:
    return (asset_directory() / name).read_bytes()


async def get_swagger_ui(request: web.Request) -> web.Response:
    """The Swagger UI page, pointed at ``/openapi.json``."""
    return web.Response(text=PAGE.format(prefix=ASSET_PREFIX), content_type="text/html")


async def get_swagger_asset(request: web.Request) -> web.Response:
    """One of the files the page references."""
    name = request.match_info["asset"]
    if name not in ASSETS:
        raise NotFound(f"no Swagger UI asset {name!r}")
    return web.Response(
        body=_asset_bytes(name), content_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )


ROUTES = (
    Route(
        "GET",
        "/swagger-ui.html",
        get_swagger_ui,
        summary="Swagger UI for this API",
        tag="documentation",
        responses={200: Response("The Swagger UI page", media_type="text/html")},
    ),
    Route(
        "GET",
        ASSET_PREFIX + "{asset}",
        get_swagger_asset,
        summary="A Swagger UI asset",
        tag="documentation",
        responses={200: Response("The asset"), 404: Response("Not one of the page's assets")},
        documented=False,
    ),
)
