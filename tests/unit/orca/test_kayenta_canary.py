"""Orca's ``kayentaCanary``: interval planning pinned to Orca's own tables, the aggregate's
verdicts, and the whole stage through the pure engine with Kayenta's answers scripted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from schemas.json_types import Json
from schemas.kayenta import KayentaTaskCompleted
from schemas.orca_engine import RunExternalTask
from tests.unit.orca.engine_core import START, Core, describe, execution, stage
from workers.orca.engine.expression_language import SpelExpressions
from workers.orca.engine.stages import StageTypes
from workers.orca.engine.stages.canary import canary_stage_types, intervals, settings
from workers.orca.engine.stages.canary.stages import aggregate
from workers.orca.engine.stages.deploy import deploy_stage_types
from workers.orca.engine.transitions import Transitions

NOW = START
HOUR = 60
FOUR_HOURS_LATER = intervals.iso(NOW + 4 * 3_600_000)


def canary(**config: Any) -> Json:
    scope = {"controlScope": "myapp-v010", "experimentScope": "myapp-v021"}
    scope |= config.pop("scope", {})
    return {
        "canaryConfig": {
            "canaryConfigId": "MySampleConfig",
            "scopes": [scope],
            "scoreThresholds": {"marginal": 75, "pass": 90},
            **config,
        }
    }


def minutes(text: str) -> int:
    return round((datetime.fromisoformat(text).timestamp() * 1000 - NOW) / 60_000)


def planned(context: Json) -> list[Json]:
    return intervals.plan(settings.read(context), NOW)


def windows(steps: list[Json], side: str = "controlScope") -> list[tuple[int, int]]:
    found = [step["scopes"]["default"][side] for step in steps if step["type"] == "runCanary"]
    assert all(scope["step"] == 60 for scope in found)
    return [(minutes(scope["start"]), minutes(scope["end"])) for scope in found]


# Orca's RunCanaryIntervalsStageTest, "start/end times are specified": warm-up, interval, lookback → windows.
WITH_END_TIME = [
    (None, None, None, [(0, 240)]),
    (None, "", "", [(0, 240)]),
    (None, "0", "0", [(0, 240)]),
    (None, "60", None, [(0, 60), (0, 120), (0, 180), (0, 240)]),
    ("15", "60", "", [(0, 60), (0, 120), (0, 180), (0, 240)]),
    (None, None, "120", [(120, 240)]),
    (None, "0", "60", [(180, 240)]),
    ("15", "60", "60", [(0, 60), (60, 120), (120, 180), (180, 240)]),
    (None, "300", None, [(0, 240)]),
]


@pytest.mark.parametrize(("warmup", "interval", "lookback", "expected"), WITH_END_TIME)
def test_with_an_end_time_the_windows_are_orcas(
    warmup: str | None, interval: str | None, lookback: str | None, expected: list[tuple[int, int]]
) -> None:
    times = {"startTimeIso": intervals.iso(NOW), "endTimeIso": FOUR_HOURS_LATER}
    context = canary(
        scope=times,
        beginCanaryAnalysisAfterMins=warmup,
        canaryAnalysisIntervalMins=interval,
        lookbackMins=lookback,
    )
    steps = planned(context)
    assert windows(steps) == expected
    assert not [step for step in steps if step["name"].startswith("Interval Wait")]  # no real time to keep
    warmups = [step["waitTime"] for step in steps if step["name"] == "Warmup Wait"]
    assert warmups == ([int(warmup) * 60] if warmup else [])


# Orca's table "start and end times are not specified", a 48 h lifetime.
WITH_LIFETIME = [
    (None, None, None, [(0, 48 * HOUR)]),
    (None, str(8 * HOUR), None, [(0, n * 8 * HOUR) for n in range(1, 7)]),
    ("45", None, "", [(45, 45 + 48 * HOUR)]),
    ("45", str(8 * HOUR), "", [(45, 45 + n * 8 * HOUR) for n in range(1, 7)]),
    (None, "0", "60", [(47 * HOUR, 48 * HOUR)]),
    (None, str(8 * HOUR), "60", [(n * 8 * HOUR - 60, n * 8 * HOUR) for n in range(1, 7)]),
    ("45", str(8 * HOUR), "60", [(45 + n * 8 * HOUR - 60, 45 + n * 8 * HOUR) for n in range(1, 7)]),
]


@pytest.mark.parametrize(("warmup", "interval", "lookback", "expected"), WITH_LIFETIME)
def test_in_real_time_each_interval_waits_then_runs(
    warmup: str | None, interval: str | None, lookback: str | None, expected: list[tuple[int, int]]
) -> None:
    context = canary(
        lifetimeDuration="PT48H",
        beginCanaryAnalysisAfterMins=warmup,
        canaryAnalysisIntervalMins=interval,
        lookbackMins=lookback,
    )
    steps = planned(context)
    assert windows(steps) == expected
    every = int(interval) * 60 if interval not in (None, "", "0") else 48 * 3_600
    waits = [step["waitTime"] for step in steps if step["name"].startswith("Interval Wait #")]
    assert waits == [every] * len(expected)
    kinds = [step["type"] for step in steps]
    assert kinds == ["wait"] * bool(warmup) + ["wait", "runCanary"] * len(expected)
    assert [step["name"] for step in steps if step["type"] == "runCanary"] == [
        f"Run Canary #{n}" for n in range(1, len(expected) + 1)
    ]


def test_the_baseline_may_be_offset_and_every_scope_is_judged() -> None:
    context = canary(lifetimeHours="1", baselineAnalysisOffsetInMins="30", scope={"extendedScopeParams": {"a": "b"}})
    context["canaryConfig"]["scopes"].append({"scopeName": "other", "controlScope": "x", "experimentScope": "y"})
    context["canaryConfig"] |= {"metricsAccountName": "prometheus", "sequential": True}
    (run,) = [step for step in planned(context) if step["type"] == "runCanary"]
    assert windows([run]) == [(-30, 30)] and windows([run], "experimentScope") == [(0, 60)]
    assert run["scopes"]["default"]["controlScope"]["extendedScopeParams"] == {"a": "b"}
    assert run["scopes"]["other"]["experimentScope"]["scope"] == "y"
    assert (run["canaryConfigId"], run["metricsAccountName"], run["sequential"]) == (
        "MySampleConfig",
        "prometheus",
        True,
    )
    assert run["scoreThresholds"] == {"marginal": 75, "pass": 90}


def test_short_canaries_may_use_fractions_of_a_minute_and_iso_durations() -> None:
    steps = planned(canary(lifetimeDuration="PT3S", canaryAnalysisIntervalMins="0.025"))
    assert [(step["name"], step.get("waitTime")) for step in steps] == [
        ("Interval Wait #1", 1.5),
        ("Run Canary #1", None),
        ("Interval Wait #2", 1.5),
        ("Run Canary #2", None),
    ]
    assert settings.duration_ms("P1DT2H3M4.5S", "d") == ((26 * 60 + 3) * 60 + 4.5) * 1000
    assert settings.duration_ms(90, "d") == 90_000


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (canary(scope={"controlScope": "a"}) | {"canaryConfig": {"scopes": []}}, "at least one scope"),
        (canary(), "must include either `endTime` or `lifetimeDuration`"),
        (canary(lifetimeDuration="an hour"), "canaryConfig.lifetimeDuration must be an ISO-8601 duration"),
        (canary(lifetimeDuration="PT1H", lookbackMins="soon"), "canaryConfig.lookbackMins must be a number"),
        (canary(lifetimeDuration="PT0S"), "lifetime longer than zero"),
    ],
)
def test_configs_that_cannot_be_planned_say_why(context: Json, message: str) -> None:
    with pytest.raises(settings.CanaryConfigInvalid, match=message):
        planned(context)


@pytest.mark.parametrize(
    ("scores", "thresholds", "passed", "message"),
    [
        ([60.0, 95.0], {"marginal": 75, "pass": 90}, True, "Final canary score 95.0 met or exceeded the pass score"),
        ([95.0, 80.0], {"marginal": 75, "pass": 90}, False, "Final canary score 80.0 is below the pass score"),
        ([95.0, 75.0], {"marginal": 75, "pass": 90}, False, "Final canary score 75.0 is not above the marginal score"),
        ([10.0], {}, True, "No score thresholds were specified."),
        ([80.0], {"marginal": 75}, True, "No pass score threshold was specified."),
    ],
)
def test_the_last_score_decides_with_orcas_messages(
    scores: list[float], thresholds: Json, passed: bool, message: str
) -> None:
    assert aggregate(scores, thresholds)[0] is passed
    assert aggregate(scores, thresholds)[1].startswith(message)


def run_with_scores(
    scores: list[float], stage_context: Json | None = None, *, answers: Json | None = None, **config: Any
) -> Core:
    """Run a ``kayentaCanary`` stage to its end, Kayenta answering interval *i* with ``scores[i]``
    and Clouddriver every operation with success (a create with the server group it made)."""
    expressions = SpelExpressions()
    external = {"runCanary": "kayenta", "disableCluster": "clouddriver", "shrinkCluster": "clouddriver"}
    extra = [*deploy_stage_types(), *canary_stage_types()]
    types = StageTypes.standard(expressions, external=external, extra=extra)
    context = canary(**{"lifetimeDuration": "PT3M", "canaryAnalysisIntervalMins": "1", **config})
    context |= stage_context or {}
    core = Core(execution(stage("1", "kayentaCanary", **context)), t=Transitions(types, expressions))
    core.start()
    answered = iter(scores)
    for _ in range(500):
        if not core.pending:
            return core
        out = core.pending.pop(0)
        if isinstance(out.message, RunExternalTask):
            core.take(core.t.external_task_completed(core.execution, answer(out.message, answered), core.now))
        else:
            core.apply(out)
    raise AssertionError([describe(out) for out in core.pending])


def answer(sent: RunExternalTask, scores: Iterator[float]) -> KayentaTaskCompleted:
    """What Kayenta or Clouddriver answers ``sent``."""
    ids = {"execution_id": sent.execution_id, "stage_id": sent.stage_id, "task_id": sent.task_id}
    if sent.stage_type == "runCanary":
        score = next(scores)
        marginal = sent.context["scoreThresholds"]["marginal"]
        passed = score > marginal
        return KayentaTaskCompleted(
            **ids,
            attempt=sent.attempt,
            status="SUCCEEDED" if passed else "TERMINAL",
            outputs={"canaryScore": score},
            error=None if passed else f"Canary score {score:g} is not above the marginal score threshold",
        )
    outputs: Json = {}
    if sent.stage_type == "createServerGroup":
        name = f"hello-{sent.context['stack']}-{sent.context['freeFormDetails']}-v000"
        outputs = {"deploy.server.groups": {"local": [name]}, "serverGroupName": name, "deploy.account.name": "local"}
    return KayentaTaskCompleted(**ids, attempt=sent.attempt, status="SUCCEEDED", outputs=outputs)


def steps_of(core: Core) -> list[tuple[str, str]]:
    return [(each.name, each.status.value) for each in core.execution.stages]


def test_a_canary_passing_every_interval_succeeds_with_the_aggregate() -> None:
    core = run_with_scores([80.0, 92.0, 100.0])
    assert core.execution.status.value == "SUCCEEDED"
    assert steps_of(core) == [
        ("kayentaCanary 1", "SUCCEEDED"),
        ("Run Canary Intervals", "SUCCEEDED"),
        *[(f"{kind} #{n}", "SUCCEEDED") for n in (1, 2, 3) for kind in ("Interval Wait", "Run Canary")],
    ]
    top = core.execution.stages[0]
    assert top.outputs["canaryScores"] == [80.0, 92.0, 100.0]
    assert top.context["canaryScoreMessage"] == "Final canary score 100.0 met or exceeded the pass score threshold."
    assert core.now - START == 3 * 60_000  # the three interval waits, on durable timers


def test_an_interval_at_or_below_marginal_fails_the_canary_at_once() -> None:
    core = run_with_scores([95.0, 70.0])
    assert core.execution.status.value == "TERMINAL"
    assert dict(steps_of(core)) == {
        "kayentaCanary 1": "TERMINAL",
        "Run Canary Intervals": "TERMINAL",
        "Interval Wait #1": "SUCCEEDED",
        "Run Canary #1": "SUCCEEDED",
        "Interval Wait #2": "SUCCEEDED",
        "Run Canary #2": "TERMINAL",
        "Interval Wait #3": "NOT_STARTED",
        "Run Canary #3": "NOT_STARTED",
    }
    assert core.execution.stages[0].tasks[0].status.value == "NOT_STARTED"  # no aggregate after a failed interval
    assert core.now - START == 2 * 60_000


def test_with_continue_pipeline_every_interval_runs_and_the_last_decides() -> None:
    core = run_with_scores([70.0, 95.0, 80.0], {"continuePipeline": True})
    top = core.execution.stages[0]
    assert dict(steps_of(core))["Run Canary #1"] == "FAILED_CONTINUE"
    assert top.outputs["canaryScores"] == [70.0, 95.0, 80.0]
    assert top.context["exception"]["details"]["error"] == "Final canary score 80.0 is below the pass score threshold."


def test_a_config_that_cannot_be_planned_fails_the_stage_naming_the_key() -> None:
    core = run_with_scores([], lifetimeDuration="forever")
    assert core.execution.status.value == "TERMINAL"
    error = core.execution.stages[0].context["exception"]["details"]["error"]
    assert "canaryConfig.lifetimeDuration must be an ISO-8601 duration" in error


def spec(detail: str, version: str) -> Json:
    return {
        "application": "hello",
        "stack": "prod",
        "freeFormDetails": detail,
        "account": "local",
        "cloudProvider": "local",
        "region": "local",
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "command": ["{python}", "examples/hello/app.py", "--port", "{port}"],
        "env": {"HELLO_VERSION": version},
    }


DEPLOYMENTS = {
    "deployments": {
        "baseline": {"application": "hello", "account": "local", "cluster": "hello-prod"},
        "serverGroupPairs": [{"control": spec("baseline", "v1"), "experiment": spec("canary", "v2")}],
        "delayBeforeCleanup": "PT30S",
    }
}


def test_with_deployments_the_canary_deploys_judges_and_removes_its_server_groups() -> None:
    core = run_with_scores([90.0, 95.0, 100.0], DEPLOYMENTS)
    assert core.execution.status.value == "SUCCEEDED"
    stages = {each.name: each for each in core.execution.stages}
    order = [each.name for each in core.execution.stages if each.parent_stage_id == "s1"]
    assert order == ["Deploy Canary Server Groups", "Run Canary Intervals", "Cleanup Canary Clusters"]
    deploys = stages["Deploy Canary Server Groups"]
    assert deploys.outputs["deployedServerGroups"] == [
        {
            "controlLocation": "local",
            "controlScope": "hello-prod-baseline-v000",
            "controlAccountId": None,
            "experimentLocation": "local",
            "experimentScope": "hello-prod-canary-v000",
            "experimentAccountId": None,
        }
    ]
    assert stages["Deploy control server groups"].context["clusters"][0]["strategy"] == "highlander"
    scopes = stages["Run Canary #1"].context["scopes"]["default"]
    assert (scopes["controlScope"]["scope"], scopes["experimentScope"]["scope"]) == (
        "hello-prod-baseline-v000",
        "hello-prod-canary-v000",
    )
    assert scopes["experimentScope"]["extendedScopeParams"] == {"dataset": "regional", "type": "asg"}
    cleanup = [
        (each.type, each.name, each.status.value) for each in core.execution.stages if each.ref_id.startswith("1>")
    ]
    assert ("disableCluster", "Disable control cluster hello-prod-baseline", "SUCCEEDED") in cleanup
    assert ("shrinkCluster", "Cleanup experiment cluster hello-prod-canary", "SUCCEEDED") in cleanup
    assert stages["Wait before cleanup"].context["waitTime"] == 30
    shrink = stages["Cleanup experiment cluster hello-prod-canary"].context
    assert (shrink["cluster"], shrink["credentials"], shrink["shrinkToSize"], shrink["allowDeleteActive"]) == (
        "hello-prod-canary",
        "local",
        0,
        True,
    )


def test_with_deployments_a_failed_canary_still_removes_its_server_groups() -> None:
    core = run_with_scores([20.0], DEPLOYMENTS)
    assert core.execution.status.value == "TERMINAL"
    stages = {each.name: each for each in core.execution.stages}
    assert stages["kayentaCanary 1"].status.value == "TERMINAL"
    assert stages["Cleanup Canary Clusters"].synthetic_role == "failure"
    assert stages["Cleanup Canary Clusters"].status.value == "SUCCEEDED"
    assert stages["Cleanup control cluster hello-prod-baseline"].status.value == "SUCCEEDED"
    assert "rollback" not in stages["kayentaCanary 1"].context
