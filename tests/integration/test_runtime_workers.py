"""Every service in SERVICES has a worker package that builds a Service the runtime can host."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from bus import MemoryBus
from bus.service import ServiceHost
from gennaker import __version__
from gennaker.resources import WorkerResources
from gennaker.settings import Settings
from gennaker.workers import UnknownWorker, build_function, build_service
from schemas.services import SERVICES
from schemas.system import Ping, Pong


@pytest.fixture
async def resources() -> AsyncIterator[WorkerResources]:
    # no store answers there: a worker whose start-up step reaches for one (Orca creates its indexes) gives up on it
    # in a moment, not after PyMongo's 30 s server selection, since a step in flight is awaited when the host stops
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        "mongodb://127.0.0.1:1/", connect=False, serverSelectionTimeoutMS=200
    )
    yield WorkerResources(settings=Settings(), db=client["gennaker"])
    await client.close()


@pytest.mark.parametrize("name", SERVICES)
async def test_every_worker_answers_ping(name: str, resources: WorkerResources) -> None:
    service = build_service(name, resources)
    assert service.name == name
    assert service.version == __version__
    bus = MemoryBus()
    async with ServiceHost(bus, service) as host:
        reply = await bus.ask(Ping(), to=name, timeout=2)
    await bus.close()
    assert reply == Pong(service=name, version=__version__, instance=host.instance)


def test_every_worker_module_says_what_it_will_own() -> None:
    import importlib

    for name in SERVICES:
        module = importlib.import_module(f"workers.{name}.worker")
        assert module.__doc__ and len(module.__doc__) > 80, f"workers.{name}.worker needs a docstring"


def test_unknown_worker_lists_the_known_ones() -> None:
    with pytest.raises(UnknownWorker, match="choose one of: orca, clouddriver"):
        build_function("spinnaker")
