"""``restrictExecutionDuringTimeWindow``: a stage starts its work only inside its execution window.

Orca adds a synthetic before-stage (``RestrictExecutionDuringTimeWindow``) whose one task,
``suspendExecutionDuringTimeWindow``, waits for the window. Gennaker has no synthetic stages, so
the same task is the stage's *first task*: the stage is RUNNING, its ``suspendExecutionDuringTimeWindow``
task RUNNING with a durable timer for the window's next opening, and its own tasks NOT_STARTED.

The stage's ``restrictedExecutionWindow`` is Orca's (and Deck's)::

    {"whitelist": [{"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0}],
     "days": [2, 3, 4, 5, 6],                      # 1 = Sunday … 7 = Saturday (java.util.Calendar); none = every day
     "jitter": {"enabled": true, "minDelay": 0, "maxDelay": 600, "skipManual": false}}   # seconds

A window whose end is before its start runs past midnight; its end is exclusive; no whitelist
means no restriction. Times are in the engine's time zone (UTC unless configured). Setting
``skipRemainingWait: true`` on the stage (``orca.UpdateStage``, Deck's "skip execution window")
ends the wait at once; the flag is then reset so a ``wait`` stage's own wait still runs.
``orca.SkipStage`` skips the whole stage.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.json_types import Json
from workers.orca.engine.model import Stage
from workers.orca.engine.stages.base import TaskDefinition, TaskResult, TaskRun
from workers.orca.engine.status import ExecutionStatus as S

HORIZON_DAYS = 8
_MS = 1000


class InvalidWindow(ValueError):
    """The stage's ``restrictedExecutionWindow`` cannot be read."""


def restricted(stage: Stage) -> bool:
    """Whether ``stage`` waits for its execution window before its own tasks."""
    return stage.context.get("restrictExecutionDuringTimeWindow") is True


def zone(name: str) -> tzinfo:
    """The time zone ``name`` (an IANA name such as ``America/Los_Angeles``) windows are read in."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"execution window time zone {name!r} is not an IANA time zone name") from None


def with_window(tasks: Sequence[TaskDefinition], stage: Stage, zone: tzinfo) -> Sequence[TaskDefinition]:
    """``tasks``, led by the window's task when ``stage`` is restricted."""
    return (SuspendExecutionDuringTimeWindowTask(zone), *tasks) if restricted(stage) else tasks


def next_allowed(now_ms: int, window: Json, zone: tzinfo = UTC) -> int:
    """The first instant (epoch ms) at or after ``now_ms`` inside ``window``; ``now_ms`` when inside.

    Raises :class:`InvalidWindow` when the window is malformed or never opens.
    """
    segments = _segments(window)
    if not segments:
        return now_ms
    days = _days(window)
    now = datetime.fromtimestamp(now_ms / _MS, zone)
    for offset in range(HORIZON_DAYS):
        day: date = now.date() + timedelta(days=offset)
        if days and (day.isoweekday() % 7) + 1 not in days:
            continue
        openings: list[datetime] = []
        for start_at, end_at in segments:
            start, end = _at(day, start_at, zone), _at(day, end_at, zone)
            if start < end and now < end:
                openings.append(max(start, now))
        if openings:
            return int(min(openings).timestamp() * _MS)
    raise InvalidWindow(f"restrictedExecutionWindow {window!r} never opens; check its whitelist and days")


class SuspendExecutionDuringTimeWindowTask:
    """Orca's ``SuspendExecutionDuringTimeWindowTask``: SUCCEEDED inside the window (plus jitter)."""

    name = "suspendExecutionDuringTimeWindow"

    def __init__(self, zone: tzinfo = UTC) -> None:
        self.zone = zone

    def run(self, run: TaskRun) -> TaskResult:
        context = run.stage.context
        if context.get("skipRemainingWait") is True:
            return TaskResult.succeeded(context={"skipRemainingWait": False, "executionWindowSkipped": True})
        window = context.get("restrictedExecutionWindow") or {}
        try:
            if not isinstance(window, dict):
                raise InvalidWindow(f"restrictedExecutionWindow must be an object, not {window!r}")
            due = context.get("executionWindowJitterUntil")
            if not isinstance(due, int):
                due = next_allowed(run.now, window, self.zone)
                if due <= run.now:
                    jitter = _jitter_ms(window, run)
                    if jitter > 0:
                        due = run.now + jitter
                        return _wait(run.now, due, {"executionWindowJitterUntil": due})
        except InvalidWindow as error:
            return TaskResult.terminal(str(error))
        if due <= run.now:
            return TaskResult.succeeded()
        return _wait(run.now, due, {})


def _wait(now: int, due: int, context: Json) -> TaskResult:
    return TaskResult(S.RUNNING, context={**context, "scheduledTime": due}, backoff_ms=due - now)


def _jitter_ms(window: Json, run: TaskRun) -> int:
    jitter = window.get("jitter")
    if not isinstance(jitter, dict) or jitter.get("enabled") is not True:
        return 0
    if jitter.get("skipManual") is True and run.execution.trigger.get("type") == "manual":
        return 0
    low, high = _seconds(jitter.get("minDelay", 0)), _seconds(jitter.get("maxDelay", 0))
    if high <= low:
        return low * _MS
    return random.Random(f"{run.execution.id}/{run.stage.id}").randint(low * _MS, high * _MS)


def _segments(window: Json) -> list[tuple[time, time]]:
    whitelist = window.get("whitelist") or []
    if not isinstance(whitelist, list):
        raise InvalidWindow(f"restrictedExecutionWindow.whitelist must be a list, not {whitelist!r}")
    segments: list[tuple[time, time]] = []
    for entry in whitelist:
        if not isinstance(entry, dict):
            raise InvalidWindow(f"a whitelist entry must be an object, not {entry!r}")
        start, end = _time(entry, "start"), _time(entry, "end")
        if end < start:  # past midnight: [start, midnight) and [midnight, end)
            segments += [(start, time.max), (time.min, end)]
        else:
            segments.append((start, end))
    return segments


def _time(entry: Json, prefix: str) -> time:
    hour, minute = entry.get(f"{prefix}Hour", 0), entry.get(f"{prefix}Min", 0)
    try:
        return time(int(hour), int(minute))
    except (TypeError, ValueError):
        raise InvalidWindow(f"{prefix}Hour/{prefix}Min {hour!r}:{minute!r} is not a time of day") from None


def _days(window: Json) -> set[int]:
    days: Any = window.get("days") or []
    if not isinstance(days, list) or not all(isinstance(day, int) and 1 <= day <= 7 for day in days):
        raise InvalidWindow(f"restrictedExecutionWindow.days must list days 1 (Sunday) to 7 (Saturday), not {days!r}")
    return set(days)


def _seconds(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        raise InvalidWindow(f"jitter delays are whole seconds, not {value!r}") from None


def _at(day: date, at: time, zone: tzinfo) -> datetime:
    if at == time.max:
        return datetime.combine(day + timedelta(days=1), time.min, zone)
    return datetime.combine(day, at, zone)
