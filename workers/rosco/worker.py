"""Wires Rosco (the bakery) to the bus.

Commands: Orca's ``orca.RunExternalTask`` for ``bakeManifest`` (helm/kustomize, rendered by
:mod:`workers.rosco.manifests`, stateless) and ``bake`` (one ``Bake in <region>``:
:mod:`workers.rosco.bakery.stage_task`), and the gateway's ``rosco.CreateBake`` /
``rosco.CancelBake``. Events: ``orca.stage.completed``, which cancels the bake of a ``bake``
stage that ended before it, unless another stage still waits for it. Queries: a bake's status,
details or logs, and the bake options. A background loop runs the queued bakes with Packer, at
most ``maxConcurrentBakes`` at once
(:mod:`workers.rosco.bakery.runner`). Bakes live in ``rosco_bakes``, ``rosco_bake_keys`` and
``rosco_bake_logs``.
"""

from __future__ import annotations

from pathlib import Path

from bus.context import MessageContext
from bus.endpoint import Endpoint
from bus.service import Service, instance_id
from gennaker import __version__
from gennaker.outbound import OutboundPolicy
from gennaker.resources import WorkerResources
from schemas.orca_engine import RunExternalTask, StageCompleted
from schemas.rosco import CancelBake, CreateBake, GetBake, ListBakeOptions
from workers.rosco.bakery.handlers import BakeryHandlers
from workers.rosco.bakery.recipe import Bakery
from workers.rosco.bakery.runner import BakeRunner
from workers.rosco.bakery.stage_task import STAGE_TYPE as BAKE
from workers.rosco.bakery.stage_task import BakeStageTask
from workers.rosco.bakery.store import BakeStore
from workers.rosco.manifests.bake import BakeManifestTask
from workers.rosco.manifests.helm_repositories import HelmRepositories
from workers.rosco.manifests.repositories import GitRepositories

NAME = "rosco"
TEMPLATES = Path(__file__).parent / "templates"
"""The Packer templates Gennaker ships (``rosco.configDir`` names others)."""


def bakery_of(resources: WorkerResources) -> Bakery:
    """The bakery the settings describe."""
    settings = resources.settings.rosco
    data = resources.settings.data_dir.expanduser()
    return Bakery(
        defaults=dict(settings.bakery_defaults),
        config_dir=settings.config_dir or TEMPLATES,
        packer=settings.packer,
        default_cloud_provider=settings.default_cloud_provider_type,
        images_dir=settings.images_dir or data / "images",
        local_repository=settings.local_repository or data / "packages",
    )


def build_service(resources: WorkerResources) -> Service:
    """Rosco's endpoints and its bake runner; the host adds the ping query."""
    settings = resources.settings.rosco
    repositories = GitRepositories(resources.settings.artifacts, OutboundPolicy(resources.settings.outbound))
    manifests = BakeManifestTask(
        kubectl=settings.kubectl, charts=HelmRepositories(settings.helm_accounts), repositories=repositories
    )
    store = BakeStore(resources.db)
    bakery = bakery_of(resources)
    runner = BakeRunner(
        store,
        bakery,
        owner=instance_id(),
        max_concurrent=settings.max_concurrent_bakes,
        timeout_seconds=settings.bake_timeout_seconds,
    )
    handlers = BakeryHandlers(store, bakery, wake=runner.wake.set, query_timeout=resources.settings.query_timeout)
    bakes = BakeStageTask(handlers, settings.max_concurrent_bakes)

    async def run_task(task: RunExternalTask, context: MessageContext) -> None:
        if task.stage_type == BAKE:
            await bakes.run(task, context)
        else:
            await manifests.run(task, context)

    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(
                service=NAME,
                kind="commands",
                handlers={
                    RunExternalTask.message_type: run_task,
                    CreateBake.message_type: handlers.create_bake,
                    CancelBake.message_type: handlers.cancel_bake,
                },
            ),
            Endpoint(
                service=NAME,
                kind="events",
                patterns=(StageCompleted.message_type,),
                handlers={StageCompleted.message_type: bakes.stage_completed},
            ),
            Endpoint(
                service=NAME,
                kind="queries",
                handlers={
                    GetBake.message_type: handlers.get_bake,
                    ListBakeOptions.message_type: handlers.list_options,
                },
            ),
        ],
        background=[runner.run],
    )
