"""Dinghy's endpoints behind Gate: the forges' push webhooks and the render/apply history.

``POST /v1/webhooks/{github|gitlab|bitbucket|bitbucket-cloud|stash}`` are Dinghy's own paths (Echo's
git trigger is ``/webhooks/git/{source}``). Forges call them without Spinnaker credentials, so
they are public like Gate's webhooks; the gateway checks only that the body is JSON, then hands
the raw body and the signing headers to Dinghy as one durable ``dinghy.HandlePush``. Dinghy,
which holds the repositories' secrets, checks the signature. A forge's redelivery (same
``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID`` or Bitbucket ``X-Request-UUID``) gets the same
``eventId``, and Dinghy does not apply a dinghyfile twice for one event. ``GET
/dinghy/applications/{app}/history`` needs READ on the application.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from aiohttp import web
from pydantic import Field, RootModel

from bus import new_id
from gateway.access import application_for
from gateway.api_model import ApiModel, json_reply
from gateway.auth.model import Permission
from gateway.command_results import ask
from gateway.correlation import correlation_id
from gateway.errors import ErrorBody, RequestInvalid
from gateway.gate_api import error_responses, gate_json, gate_route
from gateway.keys import BUS
from gateway.routing import Response, Route, read_query, read_raw
from schemas.dinghy import FORGES, DinghyHistory, GetDinghyHistory, HandlePush
from schemas.json_types import Json

SIGNING_HEADERS = (
    "content-type",
    "x-github-event",
    "x-github-delivery",
    "x-hub-signature",
    "x-hub-signature-256",
    "x-gitlab-event",
    "x-gitlab-token",
    "x-event-key",
    "x-request-id",
    "x-request-uuid",
    "x-gitlab-event-uuid",
)
DELIVERY_HEADERS = ("x-github-delivery", "x-gitlab-event-uuid", "x-request-uuid", "x-request-id")
"""The forges' delivery ids: a redelivery carries the same one, so it is the same push to Dinghy."""


def push_event_id(forge: str, headers: Mapping[str, str]) -> str:
    """The id of this delivery: derived from the forge's delivery id when it sends one, else new."""
    for name in DELIVERY_HEADERS:
        delivery = headers.get(name, "").strip()
        if delivery:
            return "push-" + hashlib.sha256(f"{forge}\x1f{delivery[:256]}".encode()).hexdigest()[:32]
    return new_id()


class PushAccepted(ApiModel):
    """The push was handed to Dinghy; its outcome is the ``dinghy.push.processed`` events under ``eventId``."""

    event_processed: bool = Field(True, description="always true: the push was handed to Dinghy")
    event_id: str = Field(description="names this delivery in dinghy.push.processed")


class HistoryEntries(RootModel[list[Json]]):
    """Renders and applies of the application's dinghyfiles, newest first, each with its commit."""


class HistoryQuery(ApiModel):
    limit: int = Field(default=50, ge=1, le=1000)


async def receive_push(request: web.Request) -> web.Response:
    """Hand the push to Dinghy; 200 once the command is on the bus."""
    forge = request.path.rstrip("/").rsplit("/", 1)[1]
    raw = await read_raw(request)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestInvalid(
            "the webhook body is not UTF-8 text: send the forge's JSON payload", field="body"
        ) from None
    event_id = push_event_id(forge, request.headers)
    command = HandlePush(
        event_id=event_id,
        forge=forge,  # the route only matches FORGES
        body=body,
        headers={name: request.headers[name] for name in SIGNING_HEADERS if name in request.headers},
        received_at=time.time_ns() // 1_000_000,
    )
    bus = request.app[BUS]
    envelope = bus.envelope(command, subject=event_id)
    envelope.correlationid = correlation_id(request)
    await bus.send_envelope(envelope, to=HandlePush.owner())
    return json_reply(PushAccepted(event_id=event_id))


@gate_route
async def get_history(request: web.Request) -> web.Response:
    """The application's dinghyfile renders and applies, newest first."""
    query = read_query(request, HistoryQuery)
    name = request.match_info["application"]
    await application_for(request, name, Permission.READ)
    history = await ask(request, GetDinghyHistory(application=name, limit=query.limit), DinghyHistory)
    return gate_json(history.entries)


_PUSH_RESPONSES = {
    200: Response("Handed to Dinghy, which renders the changed dinghyfiles", PushAccepted),
    400: Response("The body is not UTF-8 text", ErrorBody),
}

ROUTES = (
    *(
        Route(
            "POST",
            f"/v1/webhooks/{forge}",
            receive_push,
            summary=f"Dinghy: a {forge} push",
            description=(
                "Dinghy's webhook: renders the dinghyfiles the push changed and, on the default branch, applies "
                "them (other branches are validated and get a commit status with the dry-run diff); a push to "
                "the template repository re-renders every dinghyfile using a changed module. The forge's "
                "signature is checked by Dinghy with the repository's secret."
            ),
            tag="dinghy",
            responses=_PUSH_RESPONSES,
            operation_id=f"dinghy_{forge.replace('-', '_')}_push",
        )
        for forge in FORGES
    ),
    Route(
        "GET",
        "/dinghy/applications/{application}/history",
        get_history,
        summary="Dinghy: an application's render and apply history",
        tag="dinghy",
        query=HistoryQuery,
        responses={200: Response("Newest first", HistoryEntries), **error_responses(400, 403, 404, 504)},
    ),
)
