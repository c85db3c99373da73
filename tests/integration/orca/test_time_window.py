"""``restrictExecutionDuringTimeWindow``: a stage waits for its execution window, or until skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.json_types import Json
from schemas.orca_engine import SkipStage, UpdateStage
from tests.authorities import ADMIN
from tests.integration.orca.conftest import Orca, by_ref, pipeline, stage, summary
from workers.orca.engine.execution_window import InvalidWindow, next_allowed, zone

NINE_TO_FIVE = {"whitelist": [{"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0}]}
OVERNIGHT = {"whitelist": [{"startHour": 22, "startMin": 30, "endHour": 2, "endMin": 0}]}


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "window", "allowed"),
    [
        ("2026-11-25T10:15:00", NINE_TO_FIVE, "2026-11-25T10:15:00"),  # inside: now
        ("2026-11-25T07:00:00", NINE_TO_FIVE, "2026-11-25T09:00:00"),  # before: today's opening
        ("2026-11-25T17:00:00", NINE_TO_FIVE, "2026-11-26T09:00:00"),  # the end is exclusive
        ("2026-11-25T23:00:00", OVERNIGHT, "2026-11-25T23:00:00"),  # past midnight, before it
        ("2026-11-26T01:59:00", OVERNIGHT, "2026-11-26T01:59:00"),  # past midnight, after it
        ("2026-11-26T12:00:00", OVERNIGHT, "2026-11-26T22:30:00"),
        # 2026-11-25 is a Wednesday; days are java.util.Calendar's (1 Sunday … 7 Saturday): Monday only
        ("2026-11-25T10:00:00", {**NINE_TO_FIVE, "days": [2]}, "2026-11-30T09:00:00"),
        ("2026-11-25T10:00:00", {**NINE_TO_FIVE, "days": [4]}, "2026-11-25T10:00:00"),  # Wednesday
        ("2026-11-25T10:00:00", {}, "2026-11-25T10:00:00"),  # no whitelist: no restriction
    ],
)
def test_next_allowed(now: str, window: Json, allowed: str) -> None:
    assert next_allowed(ms(now), window) == ms(allowed)


def test_windows_are_read_in_the_configured_time_zone() -> None:
    # 09:00 in Los Angeles on 2026-11-25 (PST, UTC-8) is 17:00 UTC
    assert next_allowed(ms("2026-11-25T12:00:00"), NINE_TO_FIVE, zone("America/Los_Angeles")) == ms(
        "2026-11-25T17:00:00"
    )
    with pytest.raises(ValueError, match="IANA"):
        zone("Mars/Olympus_Mons")


def test_a_window_that_never_opens_is_named() -> None:
    with pytest.raises(InvalidWindow, match="never opens"):
        next_allowed(ms("2026-11-25T10:00:00"), {"whitelist": [{"startHour": 9, "endHour": 9}]})
    with pytest.raises(InvalidWindow, match="days"):
        next_allowed(ms("2026-11-25T10:00:00"), {**NINE_TO_FIVE, "days": [0]})


def window_around(now: datetime, *, opens_in: timedelta, lasts: timedelta) -> Json:
    start, end = now + opens_in, now + opens_in + lasts
    return {
        "whitelist": [{"startHour": start.hour, "startMin": start.minute, "endHour": end.hour, "endMin": end.minute}]
    }


def restricted(window: Json, **context: Any) -> Json:
    return pipeline(
        stage("1", restrictExecutionDuringTimeWindow=True, restrictedExecutionWindow=window, **context),
        stage("2", after=("1",)),
    )


def waiting_for_window(execution: Json) -> bool:
    """The window task is running and has run once: it has scheduled when the window opens."""
    stage = by_ref(execution, "1")
    tasks = stage["tasks"]
    return (
        bool(tasks)
        and tasks[0]["name"] == "suspendExecutionDuringTimeWindow"
        and tasks[0]["status"] == "RUNNING"
        and "scheduledTime" in stage["context"]
    )


async def test_inside_the_window_the_stage_runs(orca: Orca) -> None:
    now = datetime.now(UTC)
    window = window_around(now, opens_in=-timedelta(minutes=2), lasts=timedelta(minutes=15))
    execution = await orca.finished(await orca.start(restricted(window)))
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert [task["name"] for task in by_ref(execution, "1")["tasks"]] == ["suspendExecutionDuringTimeWindow", "wait"]


async def test_outside_the_window_the_stage_waits_until_skipped(orca: Orca) -> None:
    window = window_around(datetime.now(UTC), opens_in=timedelta(hours=6), lasts=timedelta(hours=1))
    execution_id = await orca.start(restricted(window, waitTime=0))
    execution = await orca.until(execution_id, waiting_for_window)
    stage_1 = by_ref(execution, "1")
    assert (execution["status"], stage_1["status"], stage_1["tasks"][1]["status"]) == (
        "RUNNING",
        "RUNNING",
        "NOT_STARTED",
    )
    assert stage_1["context"]["scheduledTime"] > execution["startTime"] + 5 * 3600 * 1000
    await orca.send(
        UpdateStage(
            authority=ADMIN, execution_id=execution_id, stage_id=stage_1["id"], context={"skipRemainingWait": True}
        )
    )
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SUCCEEDED", "2": "SUCCEEDED"}
    assert by_ref(execution, "1")["context"]["executionWindowSkipped"] is True


async def test_skipping_a_stage_waiting_for_its_window(orca: Orca) -> None:
    window = window_around(datetime.now(UTC), opens_in=timedelta(hours=6), lasts=timedelta(hours=1))
    execution_id = await orca.start(restricted(window))
    stage_id = by_ref(await orca.until(execution_id, waiting_for_window), "1")["id"]
    await orca.send(SkipStage(authority=ADMIN, execution_id=execution_id, stage_id=stage_id))
    execution = await orca.finished(execution_id)
    assert summary(execution) == {"status": "SUCCEEDED", "1": "SKIPPED", "2": "SUCCEEDED"}


async def test_a_malformed_window_fails_the_stage(orca: Orca) -> None:
    execution = await orca.finished(await orca.start(restricted({"whitelist": [{"startHour": "nine"}]})))
    assert summary(execution) == {"status": "TERMINAL", "1": "TERMINAL", "2": "NOT_STARTED"}
    assert "is not a time of day" in by_ref(execution, "1")["context"]["exception"]["details"]["error"]
