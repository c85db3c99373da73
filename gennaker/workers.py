"""Finds each service's ``build_service`` by name, importing ``workers.<name>.worker`` only when asked.

The runner never hard-imports every worker: ``gennaker worker echo`` loads echo alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from bus.service import Service
from gennaker.resources import WorkerResources
from schemas.services import SERVICES

BuildService = Callable[[WorkerResources], Service]


class UnknownWorker(LookupError):
    """No service of that name exists; the message lists the ones that do."""


def build_function(name: str) -> BuildService:
    """The ``build_service`` function of worker ``name``."""
    if name not in SERVICES:
        raise UnknownWorker(f"no worker named {name!r}; choose one of: {', '.join(SERVICES)}")
    module = importlib.import_module(f"workers.{name}.worker")
    build = getattr(module, "build_service", None)
    if not callable(build):
        raise UnknownWorker(f"workers.{name}.worker defines no build_service(resources) function")
    return cast(BuildService, build)


def build_service(name: str, resources: WorkerResources) -> Service:
    """Build worker ``name``'s :class:`Service` from ``resources``."""
    service = build_function(name)(resources)
    if service.name != name:
        raise UnknownWorker(f"workers.{name}.worker built a service named {service.name!r}")
    return service
