"""Wires Igor (the CI watcher) to the bus.

Igor talks to the Jenkins masters of ``[[igor.jenkins]]`` (:mod:`workers.igor.masters`,
:mod:`workers.igor.jenkins`). Commands: Orca's ``orca.RunExternalTask`` for the tasks of its
``jenkins`` stage (:mod:`workers.igor.stage_task`). Events: ``orca.stage.completed``, which stops
the build of a ``jenkins`` stage that ended while Igor still watched it. Queries: masters, jobs,
job configs, builds, a build's properties and console text (:mod:`workers.igor.handlers`),
behind Gate's ``/v2/builds`` and ``/v3/builds``. Background: the stage tasks' loop and the build monitor
(:mod:`workers.igor.poller`), which announces ``igor.build.completed`` for Echo's ``jenkins``
triggers, and the docker monitor (:mod:`workers.igor.docker_monitor`), which announces
``igor.docker.image.pushed`` for Echo's ``docker`` triggers. State lives in ``igor_*``
collections (:mod:`workers.igor.store`).
"""

from __future__ import annotations

import asyncio

from bus import Bus
from bus.endpoint import Endpoint
from bus.service import Service, instance_id
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas import igor as messages
from schemas.orca_engine import RunExternalTask, StageCompleted
from workers.igor.docker_monitor import DockerMonitor
from workers.igor.handlers import BuildQueries
from workers.igor.masters import Masters
from workers.igor.poller import BuildMonitor
from workers.igor.stage_task import StageTasks
from workers.igor.store import IgorStore

NAME = "igor"


def build_service(resources: WorkerResources, *, masters: Masters | None = None) -> Service:
    """Igor's endpoints and loops; ``masters`` replaces the settings' (tests); the host adds the ping query."""
    settings = resources.settings.igor
    masters = masters or Masters(settings.jenkins)
    store = IgorStore(resources.db)
    owner = instance_id()
    tasks = StageTasks(store, masters, settings, owner=owner)
    monitor = BuildMonitor(store, masters, settings, owner=owner)
    docker = DockerMonitor(store, settings, owner=owner)
    queries = BuildQueries(masters)
    clients = masters

    async def close_clients(bus: Bus) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await clients.close()

    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(service=NAME, kind="commands", handlers={RunExternalTask.message_type: tasks.run}),
            Endpoint(
                service=NAME,
                kind="events",
                patterns=(StageCompleted.message_type,),
                handlers={StageCompleted.message_type: tasks.stage_completed},
            ),
            Endpoint(
                service=NAME,
                kind="queries",
                handlers={
                    messages.ListBuildMasters.message_type: queries.list_masters,
                    messages.ListJobs.message_type: queries.list_jobs,
                    messages.GetJobConfig.message_type: queries.get_job_config,
                    messages.ListBuilds.message_type: queries.list_builds,
                    messages.GetBuild.message_type: queries.get_build,
                    messages.GetBuildProperties.message_type: queries.get_properties,
                    messages.GetBuildConsole.message_type: queries.get_console,
                },
            ),
        ],
        background=[tasks.loop, monitor.loop, docker.loop, close_clients],
    )
