"""Wires Echo (notifications and triggers) to the bus.

It will turn events into notifications (one sink per channel) and external triggers (webhooks, cron)
into pipeline starts.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "echo"


def build_service(resources: WorkerResources) -> Service:
    """Echo's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
