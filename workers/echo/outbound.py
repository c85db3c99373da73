"""Adds what Echo sends out — notifications and the event sinks — to Echo's service.

Echo's service is built in :mod:`workers.echo.worker`; :func:`with_notifications_and_sinks` merges
the notification handlers into its commands and events endpoints (one queue per kind, as every
service has) and appends the background loops: one per configured sink, each consuming a durable
queue of its own, and the one that closes the notification channels' HTTP session.
"""

from __future__ import annotations

from dataclasses import replace

from bus import Endpoint
from bus.service import Service
from gennaker.resources import WorkerResources
from workers.echo.notifications import build_notifications
from workers.echo.sinks import sink_loops


def _merge(endpoints: list[Endpoint], addition: Endpoint) -> list[Endpoint]:
    """``endpoints`` with ``addition``'s handlers and patterns merged into the durable one of its kind."""
    for index, endpoint in enumerate(endpoints):
        if endpoint.kind == addition.kind and endpoint.durable:
            if endpoint.raw_handler is not None:
                raise ValueError(
                    f"echo's {endpoint.kind} endpoint takes raw envelopes; give notifications their typed handlers "
                    "on a durable endpoint without a raw handler"
                )
            merged = replace(
                endpoint,
                handlers={**endpoint.handlers, **addition.handlers},
                patterns=tuple(dict.fromkeys((*endpoint.patterns, *addition.patterns))),
            )
            return [*endpoints[:index], merged, *endpoints[index + 1 :]]
    return [*endpoints, addition]


def with_notifications_and_sinks(service: Service, resources: WorkerResources) -> Service:
    """``service`` (Echo's) plus notification handlers, sink loops and their endpoints."""
    notifications = build_notifications(service.name, resources)
    endpoints = _merge(list(service.endpoints), Endpoint(service.name, "commands", notifications.commands))
    endpoints = _merge(
        endpoints, Endpoint(service.name, "events", notifications.events, patterns=notifications.patterns)
    )
    background = [
        *service.background,
        *notifications.background,
        *sink_loops(resources.settings.sinks, resources.settings.outbound),
    ]
    return replace(service, endpoints=endpoints, background=background)
