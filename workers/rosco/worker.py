"""Wires Rosco (the bakery) to the bus: Orca's ``bakeManifest`` stage (``orca.RunExternalTask``),
rendered by :mod:`workers.rosco.manifests` and answered with ``rosco.task.completed``.

Rosco keeps no state: a bake is a function of the stage's context and its input artifacts.
"""

from __future__ import annotations

from bus.endpoint import Endpoint
from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas.orca_engine import RunExternalTask
from workers.rosco.manifests.bake import BakeManifestTask
from workers.rosco.manifests.helm_repositories import HelmRepositories

NAME = "rosco"


def build_service(resources: WorkerResources) -> Service:
    """Rosco's endpoints; the host adds the ping query."""
    settings = resources.settings.rosco
    task = BakeManifestTask(kubectl=settings.kubectl, charts=HelmRepositories(settings.helm_accounts))
    return Service(
        name=NAME,
        version=__version__,
        endpoints=[Endpoint(service=NAME, kind="commands", handlers={RunExternalTask.message_type: task.run})],
    )
