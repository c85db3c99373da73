"""Wires Terraformer (Terraform runs: Armory's Terraform Integration) to the bus.

Commands: Orca's ``orca.RunExternalTask`` for its ``terraform`` stage
(:mod:`workers.terraformer.stage_task`). Events: ``orca.stage.completed``, which stops the runs of
a ``terraform`` stage that ended (:mod:`workers.terraformer.cancellation`). Background: the
recovery of runs whose Terraformer died (:mod:`workers.terraformer.recovery`); a worker that stops
gracefully first stops its Terraforms (SIGINT, the grace), and its runs are then failed by the
recovery as interrupted, never run again. State lives in
``terraformer_runs``, ``terraformer_locks`` and ``terraformer_planfiles``
(:mod:`workers.terraformer.store`); settings under ``[terraformer]``
(:class:`schemas.terraformer.TerraformerSettings`). Queries: a run (its status, phase and log) for
Gate's ``GET /terraform/runs/{runId}``.
"""

from __future__ import annotations

import asyncio

from bus import Bus
from bus.endpoint import Endpoint
from bus.service import Service, instance_id
from gennaker import __version__
from gennaker.outbound import OutboundClient, OutboundPolicy
from gennaker.resources import WorkerResources
from schemas.orca_engine import RunExternalTask, StageCompleted
from schemas.terraformer import GetTerraformRun
from workers.terraformer.cancellation import StageCancellation
from workers.terraformer.recovery import Recovery
from workers.terraformer.sources import Sources
from workers.terraformer.stage_task import TerraformTasks
from workers.terraformer.store import TerraformerStore

NAME = "terraformer"


def build_service(resources: WorkerResources, *, reconcile_seconds: float = 2.0) -> Service:
    """Terraformer's endpoints and its recovery loop; the host adds the ping query."""
    settings = resources.settings
    own = settings.terraformer
    store = TerraformerStore(resources.db)
    outbound = OutboundClient(settings.outbound)
    sources = Sources(outbound, OutboundPolicy(settings.outbound), tuple(own.local_git_roots), settings.artifacts)
    work_root = own.work_dir or settings.data_dir / "terraformer"
    tasks = TerraformTasks(
        store, own, sources, owner=instance_id(), work_root=work_root, query_timeout=settings.query_timeout
    )
    recovery = Recovery(store, tasks, interval=reconcile_seconds, keep_days=own.keep_days)

    async def stop_runs_on_stop(bus: Bus) -> None:
        """On the worker's stop: Terraform gets SIGINT and its grace; the runs are left to recovery."""
        try:
            await asyncio.Event().wait()
        finally:
            await tasks.stop()
            await outbound.close()

    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(service=NAME, kind="commands", handlers={RunExternalTask.message_type: tasks.handle}),
            Endpoint(
                service=NAME,
                kind="events",
                patterns=(StageCompleted.message_type,),
                handlers={StageCompleted.message_type: StageCancellation(store).stage_completed},
            ),
            Endpoint(service=NAME, kind="queries", handlers={GetTerraformRun.message_type: tasks.get_run}),
        ],
        background=[recovery.loop, stop_runs_on_stop],
    )
