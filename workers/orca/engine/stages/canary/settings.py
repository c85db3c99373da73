"""A ``kayentaCanary`` stage's ``canaryConfig``, read as Orca's ``KayentaCanaryContext`` reads it.

The keys are Spinnaker's: ``canaryConfigId``, ``metricsAccountName``, ``scopes`` (``scopeName``,
``controlScope``/``controlLocation``, ``experimentScope``/``experimentLocation``,
``startTimeIso``/``endTimeIso``, ``step`` in seconds, ``extendedScopeParams``), ``scoreThresholds``
(``pass``, ``marginal``; 75 and 50 when absent), ``lifetimeDuration`` (ISO-8601, e.g. ``PT1H``, or
seconds as a number) or the older ``lifetimeHours``, and the minutes ``beginCanaryAnalysisAfterMins``,
``canaryAnalysisIntervalMins``, ``lookbackMins``, ``baselineAnalysisOffsetInMins`` (absent, empty or
``"0"`` mean none, as in Orca). Orca takes whole minutes; here minutes may be fractional
(``0.05`` is 3 s), which only short demos and tests need. Times are kept in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.json_types import Json

MINUTE_MS = 60_000
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class CanaryConfigInvalid(ValueError):
    """The stage's ``canaryConfig`` cannot be planned; the message names the key."""


@dataclass(frozen=True)
class ScopeSettings:
    """One entry of ``canaryConfig.scopes`` (Orca's ``CanaryConfigScope``)."""

    scope_name: str
    control_scope: str | None
    control_location: str | None
    experiment_scope: str | None
    experiment_location: str | None
    start_ms: int | None
    end_ms: int | None
    step_s: int
    extended_scope_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CanarySettings:
    """What planning needs of a ``canaryConfig``."""

    scopes: tuple[ScopeSettings, ...]
    score_thresholds: Json
    lifetime_ms: int | None
    warmup_ms: int
    interval_ms: int | None
    lookback_ms: int
    baseline_offset_ms: int
    run_context: Json
    """The keys every ``runCanary`` step carries as they are (account names, config id or name, …)."""


def duration_ms(value: Any, key: str) -> int | None:
    """An ISO-8601 duration (``PT1H30M``, ``P1D``) or a number of seconds, in ms; ``None`` when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CanaryConfigInvalid(f"canaryConfig.{key} must be an ISO-8601 duration such as PT1H, not {value!r}")
    if isinstance(value, int | float):
        return int(float(value) * 1000)
    found = _DURATION.match(str(value).strip().upper())
    if found is None or str(value).strip().upper() in ("P", "PT"):
        raise CanaryConfigInvalid(f"canaryConfig.{key} must be an ISO-8601 duration such as PT1H, not {value!r}")
    parts = {name: float(text) for name, text in found.groupdict().items() if text}
    seconds = (
        parts.get("days", 0) * 86_400 + parts.get("hours", 0) * 3_600 + parts.get("minutes", 0) * 60
    ) + parts.get("seconds", 0)
    return int(seconds * 1000)


def minutes_ms(context: Json, key: str, *, unit_ms: int = MINUTE_MS, unit: str = "minutes") -> int | None:
    """``context[key]`` in minutes (number or numeric string), in ms; ``None`` when absent or empty."""
    value = context.get(key)
    if value is None or value == "":
        return None
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise CanaryConfigInvalid(f"canaryConfig.{key} must be a number of {unit}, not {value!r}") from None
    if isinstance(value, bool) or not 0 <= amount < 1e9:
        raise CanaryConfigInvalid(f"canaryConfig.{key} must be a number of {unit}, not {value!r}")
    return int(amount * unit_ms)


def _instant_ms(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(datetime.fromisoformat(str(value)).timestamp() * 1000)
    except ValueError:
        raise CanaryConfigInvalid(f"canaryConfig.scopes[0].{key} must be an ISO-8601 instant, not {value!r}") from None


def _scope(given: Any, index: int) -> ScopeSettings:
    if not isinstance(given, dict):
        raise CanaryConfigInvalid(f"canaryConfig.scopes[{index}] must be an object")
    step = given.get("step")
    try:
        step_s = 60 if step is None or step == "" else int(step)
    except (TypeError, ValueError):
        raise CanaryConfigInvalid(f"canaryConfig.scopes[{index}].step must be seconds, not {step!r}") from None
    if step_s < 1:
        raise CanaryConfigInvalid(f"canaryConfig.scopes[{index}].step must be at least 1 second")
    extended = given.get("extendedScopeParams") or {}
    if not isinstance(extended, dict):
        raise CanaryConfigInvalid(f"canaryConfig.scopes[{index}].extendedScopeParams must be an object")

    def text(key: str) -> str | None:
        value = given.get(key)
        return None if value is None else str(value)

    return ScopeSettings(
        scope_name=str(given.get("scopeName") or "default"),
        control_scope=text("controlScope"),
        control_location=text("controlLocation"),
        experiment_scope=text("experimentScope"),
        experiment_location=text("experimentLocation"),
        start_ms=_instant_ms(given.get("startTimeIso"), "startTimeIso"),
        end_ms=_instant_ms(given.get("endTimeIso"), "endTimeIso"),
        step_s=step_s,
        extended_scope_params={str(k): str(v) for k, v in extended.items()},
    )


RUN_KEYS = (
    "metricsAccountName",
    "configurationAccountName",
    "storageAccountName",
    "canaryConfigId",
    "canaryConfigName",
    "siteLocal",
    "sequential",
)
"""Keys of ``canaryConfig`` each ``runCanary`` step is given unchanged (``sequential`` is Gennaker's)."""


def read(context: Json) -> CanarySettings:
    """The stage's ``canaryConfig``; raises :class:`CanaryConfigInvalid` with Orca's messages."""
    config = context.get("canaryConfig")
    if not isinstance(config, dict):
        raise CanaryConfigInvalid("Canary stage configuration must hold a canaryConfig object.")
    raw_scopes = config.get("scopes") or []
    if not isinstance(raw_scopes, list) or not raw_scopes:
        raise CanaryConfigInvalid("Canary stage configuration must contain at least one scope.")
    scopes = tuple(_scope(given, index) for index, given in enumerate(raw_scopes))
    lifetime = duration_ms(config.get("lifetimeDuration"), "lifetimeDuration")
    if lifetime is None:
        lifetime = minutes_ms(config, "lifetimeHours", unit_ms=60 * MINUTE_MS, unit="hours")
    if scopes[0].end_ms is None and lifetime is None:
        raise CanaryConfigInvalid("Canary stage configuration must include either `endTime` or `lifetimeDuration`.")
    thresholds = config.get("scoreThresholds")
    return CanarySettings(
        scopes=scopes,
        score_thresholds=dict(thresholds) if isinstance(thresholds, dict) else {"pass": 75, "marginal": 50},
        lifetime_ms=lifetime,
        warmup_ms=minutes_ms(config, "beginCanaryAnalysisAfterMins") or 0,
        interval_ms=minutes_ms(config, "canaryAnalysisIntervalMins"),
        lookback_ms=minutes_ms(config, "lookbackMins") or 0,
        baseline_offset_ms=minutes_ms(config, "baselineAnalysisOffsetInMins") or 0,
        run_context={key: config[key] for key in RUN_KEYS if config.get(key) is not None},
    )
