"""The bodies and query strings of Gate's pipeline execution routes (:mod:`gateway.executions`).

Executions are Orca's JSON as Deck and ``spin`` read it: the fields below are typed for the
OpenAPI document, every other field is passed on as Orca wrote it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, RootModel

from gateway.api_model import ApiModel
from gateway.gate_api import SpinnakerJson
from schemas.json_types import Json
from schemas.limits import NAME_MAX_LENGTH

STATUSES_HELP = "Comma-separated statuses, e.g. 'RUNNING,TERMINAL'"


class TriggerRequest(SpinnakerJson):
    """Gate's trigger body: the trigger's fields (``type`` defaults to ``manual``) and ``parameters``."""

    type: str | None = Field(default=None, examples=["manual"])
    parameters: dict[str, Any] | None = Field(default=None, description="Values of the pipeline's parameterConfig")


class PipelineToStart(SpinnakerJson):
    """Gate's ``POST /pipelines/start`` body: a whole pipeline JSON, run as given."""

    application: str = Field(min_length=1, examples=["shop"])
    name: str | None = Field(default=None, examples=["ad-hoc deploy"])
    stages: list[SpinnakerJson] = Field(default_factory=list)
    trigger: TriggerRequest | None = None


class ExecutionRef(ApiModel):
    """Where to follow the execution: readable the moment the answer arrives."""

    ref: str = Field(examples=["/pipelines/01J0000000000000000000000"])


class StageExecution(SpinnakerJson):
    """One stage of an execution and its status."""

    id: str
    ref_id: str | None = None
    type: str
    name: str | None = None
    status: str
    context: Json | None = None
    outputs: Json | None = None
    start_time: int | None = None
    end_time: int | None = None


class PipelineExecution(SpinnakerJson):
    """A pipeline execution as Orca shows it."""

    id: str
    type: str | None = Field(default=None, examples=["PIPELINE"])
    application: str
    name: str | None = None
    status: str = Field(description="NOT_STARTED, RUNNING, PAUSED, SUCCEEDED, TERMINAL, CANCELED…")
    pipeline_config_id: str | None = None
    trigger: Json | None = None
    stages: list[StageExecution] = Field(default_factory=list)
    build_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None


class ExecutionListing(RootModel[list[PipelineExecution]]):
    """Executions, newest first."""


class Accepted(SpinnakerJson):
    """An empty object: the command was accepted; follow the execution to see its effect."""


class ApplicationExecutionsQuery(ApiModel):
    """Gate's ``GET /applications/{application}/pipelines`` filters."""

    limit: int = Field(default=10, ge=1, le=1000)
    statuses: str | None = Field(default=None, description=STATUSES_HELP)
    expand: bool = Field(default=True, description="false leaves out each stage's context, outputs and tasks")


class ExecutionsByConfigQuery(ApiModel):
    """Gate's ``GET /executions`` filters: the latest executions of some pipeline configs, or some executions."""

    pipeline_config_ids: str | None = Field(default=None, description="Comma-separated pipeline config ids")
    execution_ids: str | None = Field(default=None, description="Comma-separated execution ids")
    limit: int = Field(default=1, ge=1, le=1000, description="Executions per pipeline config")
    statuses: str | None = Field(default=None, description=STATUSES_HELP)
    expand: bool = True


class ExecutionSearchQuery(ApiModel):
    """Gate's ``GET /applications/{application}/executions/search`` filters (among the newest 1000)."""

    trigger_types: str | None = Field(default=None, description="Comma-separated trigger types, e.g. 'manual,cron'")
    pipeline_name: str | None = None
    event_id: str | None = Field(default=None, max_length=NAME_MAX_LENGTH, description="The trigger's eventId")
    statuses: str | None = Field(default=None, description=STATUSES_HELP)
    trigger_time_start_boundary: int = Field(default=0, ge=0, description="Earliest buildTime, epoch ms")
    trigger_time_end_boundary: int | None = Field(default=None, ge=0, description="Latest buildTime, epoch ms")
    start_index: int = Field(default=0, ge=0)
    size: int = Field(default=10, ge=1, le=1000)
    reverse: bool = Field(default=False, description="true lists the oldest first")
    expand: bool = False


class CancelQuery(ApiModel):
    """Why the execution is cancelled (shown in Deck)."""

    reason: str | None = None
    force: bool = False


class StagePatch(SpinnakerJson):
    """Gate's ``PATCH /pipelines/{id}/stages/{stageId}``: a judgment, or context to merge (``skipRemainingWait``)."""

    judgment_status: Literal["continue", "stop"] | None = Field(
        default=None, description="Answers a manualJudgment stage"
    )
    judgment_input: str | None = Field(default=None, description="The option chosen, if the stage offers some")


class ExpressionQuery(ApiModel):
    """The expression to evaluate against the execution."""

    expression: str = Field(min_length=1, examples=["${trigger.parameters.env}"])


class ExpressionResult(SpinnakerJson):
    """Orca's answer: the value (the expression as given when it failed) and why it failed."""

    result: Any = None
    detail: Json | None = None
