"""Wires Terraformer (Terraform runs) to the bus.

It will plan and apply Terraform configurations as pipeline stages, reporting each run's outcome.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "terraformer"


def build_service(resources: WorkerResources) -> Service:
    """Terraformer's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
