"""Gate's ``/notifications/application/{application}``: an application's notification preferences.

Front50 stores them (``front50.GetNotifications`` / ``front50.SaveNotifications``); Echo reads them
when a pipeline of the application starts, completes or fails. The JSON is Spinnaker's: one list
of entries per channel type, e.g. ``{"application": "shop", "slack": [{"address": "#deploys",
"when": ["pipeline.failed"], "level": "application", "type": "slack"}]}``.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from gateway.access import application_for
from gateway.auth.middleware import authority_of
from gateway.auth.model import Permission
from gateway.command_results import ask, send_command
from gateway.gate_api import SpinnakerJson, error_responses, gate_json, gate_route, read_spinnaker_json
from gateway.routing import Response, Route
from schemas.front50 import GetNotifications, NotificationsFound, SaveNotifications

TAG = "notifications"


class NotificationPreferences(SpinnakerJson):
    """One list of notification entries per channel type (``email``, ``slack``, ``microsoftteams``…)."""

    application: str | None = Field(default=None, description="The application; the path names it anyway")


@gate_route
async def get_notifications(request: web.Request) -> web.Response:
    """The application's notification preferences (``{}`` when it has none)."""
    application = request.match_info["application"]
    await application_for(request, application, Permission.READ)
    found = await ask(request, GetNotifications(application=application), NotificationsFound)
    return gate_json(found.notifications or {"application": application})


@gate_route
async def save_notifications(request: web.Request) -> web.Response:
    """Replace the application's notification preferences."""
    application = request.match_info["application"]
    _, notifications = await read_spinnaker_json(request, NotificationPreferences)
    await application_for(request, application, Permission.WRITE)
    command = SaveNotifications(
        application=application,
        notifications={**notifications, "application": application},
        authority=authority_of(request),
    )
    await send_command(request, command)
    return gate_json({})


ROUTES = (
    Route(
        "GET",
        "/notifications/application/{application}",
        get_notifications,
        summary="Retrieve an application's notification preferences",
        tag=TAG,
        responses={200: Response("The preferences", NotificationPreferences), **error_responses(403, 404, 504)},
    ),
    Route(
        "POST",
        "/notifications/application/{application}",
        save_notifications,
        summary="Save an application's notification preferences",
        tag=TAG,
        body=NotificationPreferences,
        responses={200: Response("Saved", NotificationPreferences), **error_responses(400, 403, 404, 504)},
    ),
)
