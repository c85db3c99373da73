"""Wires Clouddriver (cloud operations and the infrastructure cache) to the bus.

It will carry out deploy, resize and destroy commands against cloud providers and answer queries
from its own cache collections.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "clouddriver"


def build_service(resources: WorkerResources) -> Service:
    """Clouddriver's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
