"""Wires Front50 (the metadata store) to the bus.

It will own applications, pipeline configs, pipeline history, projects and canary configs, answering
queries and commands about them.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "front50"


def build_service(resources: WorkerResources) -> Service:
    """Front50's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
