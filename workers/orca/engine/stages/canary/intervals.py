"""Orca's interval planning of a canary (``RunCanaryIntervalsStage``), as a pure function.

The canary's lifetime (``lifetimeDuration``, or from the first scope's ``startTimeIso`` — else now —
to its ``endTimeIso``) is cut into intervals of ``canaryAnalysisIntervalMins`` (the whole lifetime
when absent, zero or longer than it). After a ``Warmup Wait`` of ``beginCanaryAnalysisAfterMins``,
each interval is an ``Interval Wait #i`` (only when no end time was given: then the canary runs in
real time) and a ``runCanary`` step ``Run Canary #i`` judging the window from the start of the
analysis (after the warm-up) to the end of interval *i* — or only its last ``lookbackMins``. The
baseline's window is the canary's moved back by ``baselineAnalysisOffsetInMins``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.json_types import Json
from workers.orca.engine.stages.canary.settings import CanaryConfigInvalid, CanarySettings, ScopeSettings

RUN_CANARY = "runCanary"
RUN_CANARY_NAME_PREFIX = "Run Canary #"


def iso(millis: int) -> str:
    """An instant as Orca writes one for Kayenta (``2026-12-03T06:00:00Z``, milliseconds when any)."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    text = moment.isoformat(timespec="milliseconds" if millis % 1000 else "seconds")
    return text.replace("+00:00", "Z")


def _seconds(millis: int) -> int | float:
    return millis // 1000 if millis % 1000 == 0 else millis / 1000


def lifetime_ms(settings: CanarySettings, now: int) -> int:
    """How long the canary runs: to the end time when one is given, else ``lifetimeDuration``."""
    first = settings.scopes[0]
    if first.end_ms is not None:
        return first.end_ms - (first.start_ms if first.start_ms is not None else now)
    assert settings.lifetime_ms is not None  # settings.read refuses a config with neither
    return settings.lifetime_ms


def _scope(given: ScopeSettings, side: str, start: int, end: int, step_s: int) -> Json:
    return {
        "scope": given.control_scope if side == "control" else given.experiment_scope,
        "location": given.control_location if side == "control" else given.experiment_location,
        "start": iso(start),
        "end": iso(end),
        "step": step_s,
        "extendedScopeParams": dict(given.extended_scope_params),
    }


def _deployed(scope: Json, deployed: Json | None, side: str) -> Json:
    """A side's scope judged on the server group the canary deployed itself (Orca's ``DeployedServerGroupContext``)."""
    if deployed is None:
        return scope
    extended = {"dataset": "regional", **scope["extendedScopeParams"], "type": "asg"}
    if deployed.get(f"{side}AccountId") is not None:
        extended["accountId"] = str(deployed[f"{side}AccountId"])
    return {
        **scope,
        "scope": deployed.get(f"{side}Scope") or "",
        "location": deployed.get(f"{side}Location") or "",
        "extendedScopeParams": extended,
    }


def request_scopes(
    settings: CanarySettings, now: int, interval: int, interval_ms: int, deployed: Json | None = None
) -> Json:
    """Kayenta's ``scopes`` for interval ``interval`` (1-based): name → control and experiment;
    ``deployed`` names the server groups the stage deployed itself, judged instead."""
    first = settings.scopes[0]
    base = first.start_ms if first.start_ms is not None else now
    offset = interval_ms * interval
    if first.end_ms is None:
        start, end = base + settings.warmup_ms, base + settings.warmup_ms + offset
    else:
        start, end = base, base + offset
    if settings.lookback_ms > 0:
        start = end - settings.lookback_ms
    shift = settings.baseline_offset_ms
    step = first.step_s
    return {
        given.scope_name: {
            "controlScope": _deployed(_scope(given, "control", start - shift, end - shift, step), deployed, "control"),
            "experimentScope": _deployed(_scope(given, "experiment", start, end, step), deployed, "experiment"),
        }
        for given in settings.scopes
    }


def plan(
    settings: CanarySettings, now: int, continue_pipeline: object = None, deployed: Json | None = None
) -> list[Json]:
    """The steps of a canary run, in order: waits and ``runCanary`` stages in pipeline JSON."""
    lifetime = lifetime_ms(settings, now)
    if lifetime <= 0:
        raise CanaryConfigInvalid("Canary stage configuration must give the canary a lifetime longer than zero.")
    interval = settings.interval_ms or lifetime
    interval = lifetime if interval > lifetime else interval
    steps: list[Json] = []
    if settings.warmup_ms > 0:
        steps.append({"type": "wait", "name": "Warmup Wait", "waitTime": _seconds(settings.warmup_ms)})
    real_time = settings.scopes[0].end_ms is None
    for number in range(1, lifetime // interval + 1):
        if real_time:
            steps.append({"type": "wait", "name": f"Interval Wait #{number}", "waitTime": _seconds(interval)})
        steps.append(
            {
                "type": RUN_CANARY,
                "name": f"{RUN_CANARY_NAME_PREFIX}{number}",
                **settings.run_context,
                "scopes": request_scopes(settings, now, number, interval, deployed),
                "scoreThresholds": dict(settings.score_thresholds),
                **({} if continue_pipeline is None else {"continuePipeline": continue_pipeline}),
            }
        )
    return steps
