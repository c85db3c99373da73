"""Wires Igor (the CI and artifact watcher) to the bus.

It will poll CI systems and artifact repositories and publish build and artifact events that can
trigger pipelines.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "igor"


def build_service(resources: WorkerResources) -> Service:
    """Igor's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
