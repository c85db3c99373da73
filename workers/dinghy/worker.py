"""Wires Dinghy (pipelines as code) to the bus.

It will render pipeline templates from source repositories and ask Front50 to save the resulting
pipelines.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "dinghy"


def build_service(resources: WorkerResources) -> Service:
    """Dinghy's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
