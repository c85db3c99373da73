"""Gate's ``/v2/canaries``: run Kayenta's canary analysis and read its executions.

Shapes are Kayenta's as Gate relays them. ``POST /v2/canaries/canary/{canaryConfigId}`` takes a
``CanaryExecutionRequest`` (``scopes.<name>.controlScope`` / ``experimentScope``,
``thresholds``) and answers ``{"canaryExecutionId": …}`` once Kayenta has accepted the run;
``POST /v2/canaries/canary`` takes the config in the body (``canaryConfig``, ``executionRequest``).
A run sent with an ``Idempotency-Key`` is the run derived from the caller and the key: the same
request again answers the same ``canaryExecutionId`` (and runs nothing new), another request
under the key is a 422. ``GET /v2/canaries/canary/{id}`` answers the ``CanaryExecutionStatusResponse`` (``complete``,
``status``, ``result.judgeResult``). Running needs EXECUTE on the application (Kayenta checks it
too), reading needs READ; an execution the caller may not READ is a 404, as if it did not exist.
"""

from __future__ import annotations

import functools

from aiohttp import web
from pydantic import Field, RootModel
from ulid import ULID

from gateway.access import application_for, find_application, permissions_of
from gateway.api_model import ApiModel
from gateway.auth.middleware import authority_of, principal_of
from gateway.canary_configs import readable_config
from gateway.command_results import ask, send_command
from gateway.gate_api import (
    GateError,
    SpinnakerJson,
    gate_json,
    gate_operation,
    gate_route,
    not_found,
    read_spinnaker_json,
)
from gateway.idempotency import DOCUMENTED as IDEMPOTENCY_HEADER
from gateway.idempotency import client_key
from gateway.routing import Response, read_query
from schemas.authority import Permission, can
from schemas.idempotency import derive
from schemas.json_types import Json
from schemas.kayenta import (
    CanaryExecutionFound,
    CanaryExecutionList,
    GetCanaryExecution,
    GetMetricSetPairList,
    ListCanaryExecutions,
    ListMetricDescriptors,
    ListMetricsAccounts,
    MetricDescriptorList,
    MetricsAccountList,
    MetricSetPairListFound,
    RunCanary,
)

TAG = "canaries"
JUDGES = [{"name": "NetflixACAJudge-v1.0", "visible": True}]


class CanaryScope(SpinnakerJson):
    """One side of a scope: what to select and when."""

    scope: str = Field(min_length=1, max_length=512, examples=["shop-canary"])
    location: str | None = Field(default=None, max_length=256)
    start: str = Field(min_length=1, max_length=64, examples=["2026-12-02T07:00:00Z"])
    end: str = Field(min_length=1, max_length=64, examples=["2026-12-02T07:30:00Z"])
    step: int = Field(default=60, ge=1, le=86_400, description="Seconds between samples")
    extended_scope_params: dict[str, str] | None = None


class CanaryScopePair(ApiModel):
    """The baseline (control) and the canary (experiment) of one scope name."""

    control_scope: CanaryScope
    experiment_scope: CanaryScope


class Thresholds(ApiModel):
    """Kayenta's score thresholds."""

    pass_: float = Field(alias="pass", ge=0, le=100)
    marginal: float = Field(ge=0, le=100)


class CanaryExecutionRequest(SpinnakerJson):
    """Kayenta's ``CanaryExecutionRequest``."""

    scopes: dict[str, CanaryScopePair] = Field(min_length=1, max_length=32)
    thresholds: Thresholds


class CanaryAdhocExecutionRequest(ApiModel):
    """Kayenta's ad-hoc request: the config itself and the execution request."""

    canary_config: SpinnakerJson
    execution_request: CanaryExecutionRequest


class RunQuery(ApiModel):
    """Gate's query parameters of a run."""

    application: str = Field(min_length=1, max_length=256)
    metrics_account_name: str | None = Field(default=None, alias="metricsAccountName", max_length=128)
    storage_account_name: str | None = Field(default=None, alias="storageAccountName", max_length=128)
    configuration_account_name: str | None = Field(default=None, alias="configurationAccountName", max_length=128)
    parent_pipeline_execution_id: str | None = Field(default=None, alias="parentPipelineExecutionId", max_length=64)
    sequential: bool = Field(default=False, description="Also run the anytime-valid sequential test")


class ExecutionsQuery(ApiModel):
    """How many executions to list."""

    limit: int = Field(default=20, ge=1, le=500)


class DescriptorsQuery(ApiModel):
    """Which account's metrics, and which of them."""

    metrics_account_name: str | None = Field(default=None, alias="metricsAccountName", max_length=128)
    filter: str | None = Field(default=None, max_length=256, description="Names containing this, any case")


class CanaryExecutionResponse(ApiModel):
    """Kayenta's answer to a run."""

    canary_execution_id: str


class CanaryExecutionStatus(SpinnakerJson):
    """Kayenta's ``CanaryExecutionStatusResponse``."""

    id: str
    application: str
    complete: bool
    status: str
    result: Json | None = None


class Executions(RootModel[list[CanaryExecutionStatus]]):
    """An application's canary executions, newest first."""


class JsonList(RootModel[list[Json]]):
    """A list of Kayenta's JSON objects."""


async def _readable(request: web.Request, application: str) -> bool:
    found = await find_application(request, application)
    return can(principal_of(request), permissions_of(found), Permission.READ)


async def _run(request: web.Request, config: Json, config_id: str | None, execution_request: Json) -> web.Response:
    query = read_query(request, RunQuery)
    await application_for(request, query.application, Permission.EXECUTE)
    authority = authority_of(request)
    asked = {
        "query": dict(sorted(request.query.items())),
        "canaryConfig": config if config_id is None else config_id,
        "executionRequest": execution_request,
    }
    key = client_key(request, asked, scope=authority.user)
    execution_id = derive("kayenta.canary", key.scope, key.key) if key else str(ULID())
    command = RunCanary(
        execution_id=execution_id,
        application=query.application,
        canary_config=config,
        canary_config_id=config_id,
        execution_request=execution_request,
        metrics_account_name=query.metrics_account_name,
        parent_pipeline_execution_id=query.parent_pipeline_execution_id,
        sequential=query.sequential,
        authority=authority,
        client_key=key,
    )
    await send_command(request, command)
    return gate_json({"canaryExecutionId": execution_id})


@gate_route
async def run_canary(request: web.Request) -> web.Response:
    """Start a canary analysis with a stored canary config."""
    config = await readable_config(request, request.match_info["canaryConfigId"])
    _, body = await read_spinnaker_json(request, CanaryExecutionRequest)
    return await _run(request, config, str(config.get("id")), body)


@gate_route
async def run_adhoc_canary(request: web.Request) -> web.Response:
    """Start a canary analysis with the config given in the body."""
    _, body = await read_spinnaker_json(request, CanaryAdhocExecutionRequest)
    return await _run(request, dict(body["canaryConfig"]), None, dict(body["executionRequest"]))


@gate_route
async def get_canary_execution(request: web.Request) -> web.Response:
    """A canary execution's status and, once complete, its judge result."""
    execution_id = request.match_info["canaryExecutionId"]
    found = (await ask(request, GetCanaryExecution(execution_id=execution_id), CanaryExecutionFound)).execution
    if found is None or not await _readable(request, str(found.get("application", ""))):
        raise not_found(f"Canary execution not found (id: {execution_id})")
    return gate_json(found)


@gate_route
async def list_canary_executions(request: web.Request) -> web.Response:
    """An application's canary executions, newest first."""
    query = read_query(request, ExecutionsQuery)
    application = request.match_info["application"]
    await application_for(request, application, Permission.READ)
    listed = await ask(request, ListCanaryExecutions(application=application, limit=query.limit), CanaryExecutionList)
    return gate_json(listed.executions)


@gate_route
async def get_metric_set_pair_list(request: web.Request) -> web.Response:
    """The metric set pairs (both series of every metric) a canary execution judged."""
    pair_list_id = request.match_info["metricSetPairListId"]
    found = await ask(request, GetMetricSetPairList(pair_list_id=pair_list_id), MetricSetPairListFound)
    if found.pairs is None or not await _readable(request, found.application or ""):
        raise not_found(f"Metric set pair list not found (id: {pair_list_id})")
    return gate_json(found.pairs)


@gate_route
async def list_credentials(request: web.Request) -> web.Response:
    """Kayenta's metrics accounts (no secrets)."""
    return gate_json((await ask(request, ListMetricsAccounts(), MetricsAccountList)).accounts)


@gate_route
async def list_judges(request: web.Request) -> web.Response:
    """The judges Kayenta offers."""
    return gate_json(JUDGES)


@gate_route
async def list_metric_descriptors(request: web.Request) -> web.Response:
    """Kayenta's metric descriptors (``{"name": …}``) of a metrics account, for Deck's metric picker."""
    query = read_query(request, DescriptorsQuery)
    asked = ListMetricDescriptors(metrics_account_name=query.metrics_account_name, filter=query.filter)
    found = await ask(request, asked, MetricDescriptorList)
    if found.error is not None:
        raise GateError(400 if found.field else 502, found.error, field=found.field)
    return gate_json(found.descriptors)


_route = functools.partial(gate_operation, TAG)


ROUTES = (
    _route(
        "GET",
        "/v2/canaries/credentials",
        list_credentials,
        "Retrieve a list of configured credentials",
        Response("Accounts", JsonList),
        504,
    ),
    _route(
        "GET",
        "/v2/canaries/judges",
        list_judges,
        "Retrieve a list of all configured canary judges",
        Response("Judges", JsonList),
    ),
    _route(
        "GET",
        "/v2/canaries/metadata/metricsService",
        list_metric_descriptors,
        "Retrieve a list of descriptors for use in populating the canary config ui",
        Response("Descriptors", JsonList),
        400,
        502,
        504,
        query=DescriptorsQuery,
    ),
    _route(
        "POST",
        "/v2/canaries/canary/{canaryConfigId}",
        run_canary,
        "Start a canary execution",
        Response("The execution's id", CanaryExecutionResponse),
        400,
        403,
        404,
        422,
        503,
        504,
        body=CanaryExecutionRequest,
        query=RunQuery,
        headers=IDEMPOTENCY_HEADER,
    ),
    _route(
        "POST",
        "/v2/canaries/canary",
        run_adhoc_canary,
        "Start a canary execution with the supplied canary config",
        Response("The execution's id", CanaryExecutionResponse),
        400,
        403,
        404,
        422,
        503,
        504,
        body=CanaryAdhocExecutionRequest,
        query=RunQuery,
        headers=IDEMPOTENCY_HEADER,
    ),
    _route(
        "GET",
        "/v2/canaries/canary/{canaryExecutionId}",
        get_canary_execution,
        "Retrieve a canary result",
        Response("The execution", CanaryExecutionStatus),
        404,
        504,
    ),
    _route(
        "GET",
        "/v2/canaries/{application}/executions",
        list_canary_executions,
        "Retrieve a list of an application's canary results",
        Response("Executions", Executions),
        400,
        403,
        404,
        504,
        query=ExecutionsQuery,
    ),
    _route(
        "GET",
        "/v2/canaries/metricSetPairList/{metricSetPairListId}",
        get_metric_set_pair_list,
        "Retrieve a metric set pair list",
        Response("Pairs", JsonList),
        404,
        504,
    ),
)
