"""``jenkins``: Orca's Jenkins stage, its tasks run by Igor.

As Orca's ``CIStage`` builds it: ``startJenkinsJob`` and ``waitForJenkinsJobStart``, then — when
``waitForCompletion`` (default true) — ``monitorJenkinsJob``, ``getBuildProperties`` and
``getBuildArtifacts``, and ``bindProducedArtifacts`` when the stage lists ``expectedArtifacts``.
Each task is ``orca.RunExternalTask`` to Igor naming the task in ``igorTask`` with the stage's
start (``stageStartTime``, so Igor queues one build per stage start however often it is asked);
what each answers — ``queuedBuild``, ``buildNumber``, ``buildInfo``, the properties file's keys
and ``propertyFileContents``, ``artifacts`` — lands in the stage's context and outputs, where
later stages' expressions read it. Cancelling the pipeline ends the stage, and Igor stops its
build when it sees the stage end (:mod:`workers.igor.stage_task`).
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.igor import STAGE_TYPES
from schemas.json_types import Json
from workers.orca.engine import artifacts
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import StageDefinition, TaskDefinition
from workers.orca.engine.stages.external import ExternalTask

JENKINS = STAGE_TYPES[0]
SERVICE = "igor"
TASK_KEY = "igorTask"


class JenkinsTask(ExternalTask):
    """One of the stage's tasks, named as Orca names it, run by Igor."""

    def __init__(self, name: str) -> None:
        def shaped(stage: Stage) -> Json:
            return {**stage.context, TASK_KEY: name, "stageStartTime": stage.start_time}

        super().__init__(SERVICE, shape=shaped, stage_type=JENKINS)
        self.name = name


class JenkinsStage:
    """``jenkins``: start the job, wait for it to start, and — unless told not to — to finish."""

    type = JENKINS

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        names = ["startJenkinsJob", "waitForJenkinsJobStart"]
        if stage.context.get("waitForCompletion", True) is not False:
            names += ["monitorJenkinsJob", "getBuildProperties", "getBuildArtifacts"]
        steps: list[TaskDefinition] = [JenkinsTask(name) for name in names]
        if artifacts.produces(stage):
            steps.append(artifacts.BindProducedArtifactsTask())
        return steps


def jenkins_stage_types() -> list[StageDefinition]:
    """The CI stage types Orca composes of Igor's tasks."""
    return [JenkinsStage()]
