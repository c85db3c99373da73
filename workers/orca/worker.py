"""Wires Orca (the saga coordinator) to the bus.

It will run pipeline executions as a message-driven state machine (StartExecution → StartStage → … →
CompleteExecution) and owns the ``executions`` and ``timers`` collections, with an outbox for the
messages each state change causes.

For now it only answers the runtime's ``system.Ping``; handlers (``handlers.py``) and its store
(``store.py``) arrive with the service's own issue.
"""

from __future__ import annotations

from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources

NAME = "orca"


def build_service(resources: WorkerResources) -> Service:
    """Orca's endpoints; the host adds the ping query."""
    return Service(name=NAME, version=__version__, endpoints=[])
