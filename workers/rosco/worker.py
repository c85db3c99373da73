"""Wires Rosco (the image bakery) to the bus.

It will bake machine images and render manifests on request, publishing the result of each bake.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "rosco"


def build_service(resources: WorkerResources) -> Service:
    """Rosco's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
