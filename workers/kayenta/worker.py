"""Wires Kayenta (automated canary analysis) to the bus.

It will fetch metrics from each metrics source, judge canary runs and publish their scores.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "kayenta"


def build_service(resources: WorkerResources) -> Service:
    """Kayenta's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
