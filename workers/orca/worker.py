"""Wires Orca (the saga coordinator) to the bus.

Orca runs two things on one set of queues:

* pipeline executions (:mod:`workers.orca.engine`): a message-driven state machine
  (StartExecution → StartStage → RunTask → CompleteTask → CompleteStage → CompleteExecution) over
  its ``orca_executions`` and ``orca_timers`` collections, with an outbox for the messages each
  state change causes; its timer poller and outbox relay run as background loops. Answers of
  stage types provided by other services arrive as ``*.task.completed`` events.
* ad-hoc tasks (Gate's ``POST /tasks``: create, update and delete an application) run on that same
  engine as executions of type ORCHESTRATION (:mod:`workers.orca.orchestrations`): it takes
  ``orca.SubmitTask`` / ``orca.CancelTask`` commands, follows Front50's answering events on its
  events queue (bound to ``front50.#``), and answers ``orca.GetTask`` / ``orca.ListTasks``. Tasks
  the former task engine stored in ``orca_tasks`` are migrated on read (:mod:`workers.orca.former_tasks`).

Both mind a client's ``Idempotency-Key`` carried by ``StartExecution`` and ``SubmitTask``
(:mod:`workers.orca.client_keys`).
"""

from __future__ import annotations

from dataclasses import replace

from bus import Endpoint
from bus.service import Service
from gennaker import __version__
from gennaker.resources import WorkerResources
from schemas.front50 import ApplicationDeleted, ApplicationSaved, CommandRejected
from schemas.orca import CancelTask, GetTask, ListTasks, SubmitTask
from schemas.orca_engine import StartExecution
from schemas.pipeline_templates import PlanTemplatedPipeline
from workers.orca.client_keys import ClientKeys, guard_start_execution, guard_submit_task
from workers.orca.engine import EXTERNAL_ANSWERS, EngineOptions, build_engine
from workers.orca.engine.access import AccessPolicy
from workers.orca.engine.effects.stage_io import EVENT_PATTERNS as STAGE_EVENTS
from workers.orca.engine.store import ExecutionStore
from workers.orca.former_tasks import FormerTasks
from workers.orca.limits import limit_start_execution
from workers.orca.orchestrations import OrchestrationHandlers
from workers.orca.pipeline_templates.start import TemplatedPipelines

NAME = "orca"


def build_service(resources: WorkerResources, *, engine: EngineOptions | None = None) -> Service:
    """Orca's command, event and query endpoints and background loops; the host adds the ping query."""
    settings = resources.settings
    access = AccessPolicy(
        accounts=[account.details() for account in settings.accounts or ()],
        execute_fallback=settings.auth.execute_fallback,
        authentication=settings.auth.mode != "none",
        front50_timeout=settings.query_timeout,
    )
    pipelines = build_engine(
        resources.db, replace(engine or EngineOptions(), access=access, outbound=settings.outbound)
    )
    tasks = OrchestrationHandlers(pipelines.handlers, FormerTasks(resources.db))
    keys = ClientKeys(resources.db)
    templated = TemplatedPipelines(settings.pipeline_limits, front50_timeout=settings.query_timeout)
    start = templated.starting(
        limit_start_execution(
            guard_start_execution(pipelines.commands[StartExecution.message_type], keys, ExecutionStore(resources.db)),
            settings.pipeline_limits,
        )
    )
    return Service(
        name=NAME,
        version=__version__,
        endpoints=[
            Endpoint(
                service=NAME,
                kind="commands",
                # a handler of a busy execution mostly waits for that execution's batch to be stored
                # (engine/commit.py), so many may be in hand at once: a wide fan-out is then a few
                # writes, and the commands of other executions behind it are not kept waiting
                prefetch=256,
                handlers={
                    SubmitTask.message_type: guard_submit_task(tasks.submit, keys),
                    CancelTask.message_type: tasks.cancel,
                    **pipelines.commands,
                    StartExecution.message_type: start,
                },
            ),
            Endpoint(
                service=NAME,
                kind="events",
                patterns=("front50.#", *EXTERNAL_ANSWERS, *STAGE_EVENTS),
                handlers={
                    ApplicationSaved.message_type: tasks.step_done,
                    ApplicationDeleted.message_type: tasks.step_done,
                    CommandRejected.message_type: tasks.step_rejected,
                    **pipelines.events,
                },
            ),
            Endpoint(
                service=NAME,
                kind="queries",
                handlers={
                    GetTask.message_type: tasks.get_task,
                    PlanTemplatedPipeline.message_type: templated.plan,
                    ListTasks.message_type: tasks.list_tasks,
                    **pipelines.queries,
                },
            ),
        ],
        background=pipelines.background,
    )
