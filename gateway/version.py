"""Gate's ``GET /version``: which Gennaker the gateway runs, in Gate's ``{"version": ...}`` shape.

Deck reads it to tell users a new version was deployed; ``spin`` and scripts read it to check
what they talk to. No service is asked, so it answers even when the workers are down.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from gateway.api_model import ApiModel, json_reply
from gateway.keys import CONFIG
from gateway.routing import Response, Route


class Version(ApiModel):
    """The gateway's version."""

    version: str = Field(examples=["0.1.0"])


async def get_version(request: web.Request) -> web.Response:
    """The version the gateway was started with."""
    return json_reply(Version(version=request.app[CONFIG].version))


ROUTES = (
    Route(
        "GET",
        "/version",
        get_version,
        summary="Fetch version information",
        tag="system",
        responses={200: Response("The version", Version)},
    ),
)
