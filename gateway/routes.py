"""Every route the gateway serves, gathered from the modules that implement them.

To add an API (Gate's ``/applications``, ``/pipelines``, ``/tasks`` ...), write a module with its
handlers, models and a ``ROUTES`` tuple, and add that tuple here; it is then served and appears in
``/openapi.json`` and Swagger UI.
"""

from __future__ import annotations

from gateway import (
    applications,
    auth,
    bakery,
    builds,
    canaries,
    canary_configs,
    credentials,
    dead_letters,
    deck_ui,
    dinghy,
    events_publish,
    events_stream,
    executions,
    health,
    infrastructure,
    manifests,
    metrics,
    notifications,
    openapi,
    pipeline_templates,
    pipelines,
    swagger_ui,
    tasks,
    terraform,
    version,
    webhooks,
)
from gateway.routing import Route

ALL_ROUTES: tuple[Route, ...] = (
    *health.ROUTES,
    *events_stream.ROUTES,
    *events_publish.ROUTES,
    *dead_letters.ROUTES,
    *metrics.ROUTES,
    *openapi.ROUTES,
    *swagger_ui.ROUTES,
    *version.ROUTES,
    *applications.ROUTES,
    *pipelines.ROUTES,
    *pipeline_templates.ROUTES,
    *canary_configs.ROUTES,
    *canaries.ROUTES,
    *builds.ROUTES,
    *bakery.ROUTES,
    *terraform.ROUTES,
    *tasks.ROUTES,
    *executions.ROUTES,
    *credentials.ROUTES,
    *infrastructure.ROUTES,
    *manifests.ROUTES,
    *notifications.ROUTES,
    *auth.ROUTES,
    *webhooks.ROUTES,
    *dinghy.ROUTES,
    *deck_ui.ROUTES,
)
