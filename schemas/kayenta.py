"""Kayenta's messages and settings: run a canary analysis, read its execution, list metrics accounts.

``kayenta.RunCanary`` carries the whole canary config (the gateway or Orca reads it from Front50
first, or takes it from the body of an ad-hoc run) and Kayenta's ``CanaryExecutionRequest``
(``scopes.<name>.controlScope`` / ``experimentScope``, ``thresholds``). Kayenta answers it with
``kayenta.canary.started`` (or ``kayenta.command.rejected``) at once and ``kayenta.canary.completed``
when judged; reads are queries answered from Kayenta's own store. Orca's ``runCanary`` stage
sends ``orca.RunExternalTask`` and gets ``kayenta.task.completed`` back.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from schemas.authority import ACTS_FOR, Authority
from schemas.base import Command, Event, Query, Reply
from schemas.idempotency import ClientKey
from schemas.json_types import Json
from schemas.orca_engine import ExternalTaskCompleted, ExternalTaskHeartbeat
from schemas.registry import message


class MetricsAccountConfig(BaseModel):
    """One metrics account (``[[kayenta.accounts]]``): where Kayenta fetches metrics from.

    Example (TOML)::

        [[kayenta.accounts]]
        name = "prometheus"
        type = "prometheus"
        url = "http://127.0.0.1:9090"
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    type: Literal["prometheus", "datadog", "memory"]
    url: str = Field("", max_length=2048, description="Base URL of the store's HTTP API ('memory': unused)")
    api_key: SecretStr | None = Field(None, description="Datadog's DD-API-KEY")
    application_key: SecretStr | None = Field(None, description="Datadog's DD-APPLICATION-KEY")


class KayentaSettings(BaseModel):
    """Kayenta's settings: its metrics accounts (the first is the default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: list[MetricsAccountConfig] = Field(default_factory=list)


@message
class RunCanary(Command):
    """Fetch the metrics of both scopes, judge them and store the canary execution ``execution_id``."""

    message_type: ClassVar[str] = "kayenta.RunCanary"
    execution_id: str = Field(min_length=1, max_length=64)
    application: str = Field(min_length=1, max_length=256)
    canary_config: Json
    canary_config_id: str | None = Field(None, max_length=256)
    execution_request: Json
    metrics_account_name: str | None = Field(None, max_length=128)
    parent_pipeline_execution_id: str | None = Field(None, max_length=64)
    parent_stage_id: str | None = Field(
        None, max_length=64, description="Orca's runCanary stage the run is for: its end cancels the run"
    )
    sequential: bool = Field(False, description="Also run the anytime-valid sequential test")
    authority: Authority = Field(description=ACTS_FOR)
    task_id: str | None = Field(None, max_length=256)
    client_key: ClientKey | None = Field(
        None,
        description="The client's Idempotency-Key (execution_id is derived from it): the same request again "
        "is the same run; another request under the key is refused (422)",
    )


@message
class CanaryStarted(Event):
    """Kayenta accepted a canary run."""

    message_type: ClassVar[str] = "kayenta.canary.started"
    execution_id: str
    application: str
    task_id: str | None = None


@message
class CanaryCompleted(Event):
    """A canary run finished: judged (``succeeded``), failed (``terminal``, with the reason) or
    ``canceled`` (the Orca stage it ran for ended first)."""

    message_type: ClassVar[str] = "kayenta.canary.completed"
    execution_id: str
    application: str
    status: Literal["succeeded", "terminal", "canceled"]
    score: float | None = None
    classification: str | None = None
    reason: str | None = None
    sequential_stop: bool = False
    task_id: str | None = None


@message
class KayentaCommandRejected(Event):
    """A Kayenta command was refused and changed nothing (HTTP-like status, the field at fault)."""

    message_type: ClassVar[str] = "kayenta.command.rejected"
    command_type: str
    status: Literal[400, 403, 404, 422]
    reason: str
    field: str | None = None
    task_id: str | None = None


@message
class CanaryExecutionFound(Reply):
    """Kayenta's ``CanaryExecutionStatusResponse``, or ``None``."""

    message_type: ClassVar[str] = "kayenta.CanaryExecutionFound"
    execution: Json | None


@message
class GetCanaryExecution(Query):
    """One canary execution by id."""

    message_type: ClassVar[str] = "kayenta.GetCanaryExecution"
    reply_model: ClassVar[type[Reply]] = CanaryExecutionFound
    execution_id: str = Field(min_length=1, max_length=64)


@message
class CanaryExecutionList(Reply):
    """Canary executions, newest first."""

    message_type: ClassVar[str] = "kayenta.CanaryExecutionList"
    executions: list[Json]


@message
class ListCanaryExecutions(Query):
    """An application's canary executions, newest first."""

    message_type: ClassVar[str] = "kayenta.ListCanaryExecutions"
    reply_model: ClassVar[type[Reply]] = CanaryExecutionList
    application: str = Field(min_length=1, max_length=256)
    limit: int = Field(20, ge=1, le=500)


@message
class MetricSetPairListFound(Reply):
    """The metric set pairs a canary execution judged, or ``None``."""

    message_type: ClassVar[str] = "kayenta.MetricSetPairListFound"
    pairs: list[Json] | None
    application: str | None = None


@message
class GetMetricSetPairList(Query):
    """The metric set pairs stored under ``pair_list_id``."""

    message_type: ClassVar[str] = "kayenta.GetMetricSetPairList"
    reply_model: ClassVar[type[Reply]] = MetricSetPairListFound
    pair_list_id: str = Field(min_length=1, max_length=64)


@message
class MetricsAccountList(Reply):
    """Kayenta's accounts (``name``, ``type``, ``supportedTypes``), secrets never included."""

    message_type: ClassVar[str] = "kayenta.MetricsAccountList"
    accounts: list[Json]


@message
class ListMetricsAccounts(Query):
    """Kayenta's metrics accounts (Gate's ``/v2/canaries/credentials``)."""

    message_type: ClassVar[str] = "kayenta.ListMetricsAccounts"
    reply_model: ClassVar[type[Reply]] = MetricsAccountList


@message
class MetricDescriptorList(Reply):
    """Kayenta's metric descriptors (``{"name": …}`` each), or why there are none (``error``, ``field``)."""

    message_type: ClassVar[str] = "kayenta.MetricDescriptorList"
    descriptors: list[Json] = Field(default_factory=list)
    error: str | None = None
    field: str | None = None


@message
class ListMetricDescriptors(Query):
    """The metrics a metrics account has, for Deck's metric picker (Gate's
    ``/v2/canaries/metadata/metricsService``): names containing ``filter``, case-insensitively."""

    message_type: ClassVar[str] = "kayenta.ListMetricDescriptors"
    reply_model: ClassVar[type[Reply]] = MetricDescriptorList
    metrics_account_name: str | None = Field(None, max_length=128)
    filter: str | None = Field(None, max_length=256)


@message
class KayentaTaskCompleted(ExternalTaskCompleted):
    """Kayenta's answer to Orca's ``runCanary`` task: the interval's score, SUCCEEDED or TERMINAL."""

    message_type: ClassVar[str] = "kayenta.task.completed"


@message
class KayentaTaskHeartbeat(ExternalTaskHeartbeat):
    """Kayenta still fetches or judges an interval."""

    message_type: ClassVar[str] = "kayenta.task.heartbeat"
