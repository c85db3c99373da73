"""``jenkins``: Orca's Jenkins stage, its tasks run by Igor.

As Orca's ``CIStage`` builds it: ``startJenkinsJob`` and ``waitForJenkinsJobStart``, then — when
``waitForCompletion`` (default true) — ``monitorJenkinsJob``, ``getBuildProperties`` and
``getBuildArtifacts``, and ``bindProducedArtifacts`` when the stage lists ``expectedArtifacts``.
Each task is ``orca.RunExternalTask`` to Igor naming the task in ``igorTask`` with the stage's
start (``stageStartTime``, so Igor queues one build per stage start however often it is asked);
what each answers — ``queuedBuild``, ``buildNumber``, ``buildInfo``, the properties file's keys
and ``propertyFileContents``, ``artifacts`` — lands in the stage's context and outputs, where
later stages' expressions read it. Cancelling the pipeline ends the stage, and Igor stops its
build when it sees the stage end (:mod:`workers.igor.stage_task`). A stage with a ``propertyFile``
that fails runs ``Try to get properties file`` (``getProperties``) after, as Orca's
``onFailureStages`` do, in case the build archived the file before it failed.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.igor import STAGE_TYPES
from schemas.json_types import Json
from workers.orca.engine import artifacts
from workers.orca.engine.model import Execution, Stage
from workers.orca.engine.stages.base import StageDefinition, TaskDefinition
from workers.orca.engine.stages.external import ExternalTask

JENKINS = STAGE_TYPES[0]
SERVICE = "igor"
TASK_KEY = "igorTask"
GET_PROPERTIES = "getProperties"


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

    def prepare_for_restart(self, stage: Stage) -> None:
        """Orca's ``prepareStageForRestart``: the last build goes to ``restartDetails.previousBuildInfo``
        and its queue item, number and info are forgotten, so the restarted stage builds anew."""
        build = stage.context.pop("buildInfo", None)
        if build is not None:
            details = stage.context.get("restartDetails")
            stage.context["restartDetails"] = {
                **(details if isinstance(details, dict) else {}),
                "previousBuildInfo": build,
            }
        for key in ("queuedBuild", "buildNumber"):
            stage.context.pop(key, None)

    def failure_stages(self, stage: Stage, execution: Execution) -> Sequence[Json]:
        """Orca's ``onFailureStages``: a failed build may still have archived its properties file."""
        if not stage.context.get("propertyFile"):
            return []
        keys = ("master", "job", "propertyFile", "buildNumber")
        return [
            {"type": GET_PROPERTIES, "name": "Try to get properties file", **{k: stage.context.get(k) for k in keys}}
        ]

    def cleans_up_on_failure(self, stage: Stage) -> bool:
        """Its failure stage runs on any failure, as Orca's do, without ``rollback.onFailure``."""
        return bool(stage.context.get("propertyFile"))


class GetPropertiesStage:
    """``getProperties``: read a finished build's properties file (Orca's "Try to get properties file")."""

    type = GET_PROPERTIES

    def tasks(self, stage: Stage) -> Sequence[TaskDefinition]:
        return (JenkinsTask("getBuildProperties"),)


def jenkins_stage_types() -> list[StageDefinition]:
    """The CI stage types Orca composes of Igor's tasks."""
    return [JenkinsStage(), GetPropertiesStage()]
