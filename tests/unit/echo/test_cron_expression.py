"""Quartz and standard cron expressions: what parses, what is refused, and the next fire times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from schemas.cron_expression import CronExpression, InvalidCronExpression


def fires(expression: str, after: datetime, count: int = 3, zone: str = "UTC") -> list[str]:
    """The next ``count`` fire times after ``after``, as local ISO strings in ``zone``."""
    parsed, tz = CronExpression.parse(expression), ZoneInfo(zone)
    found: list[str] = []
    at = after
    for _ in range(count):
        following = parsed.next_after(at, tz)
        assert following is not None
        found.append(following.astimezone(tz).replace(tzinfo=None).isoformat())
        at = following
    return found


T0 = datetime(2026, 11, 25, 15, 37, 12, tzinfo=UTC)  # a Wednesday


def test_quartz_seconds_field_and_every_second() -> None:
    assert fires("* * * * * ?", T0) == ["2026-11-25T15:37:13", "2026-11-25T15:37:14", "2026-11-25T15:37:15"]
    assert fires("0/20 * * * * ?", T0) == ["2026-11-25T15:37:20", "2026-11-25T15:37:40", "2026-11-25T15:38:00"]


def test_next_is_strictly_after_even_on_a_fire_time() -> None:
    assert fires("0 0 12 * * ?", datetime(2026, 11, 25, 12, tzinfo=UTC), 1) == ["2026-11-26T12:00:00"]


def test_quartz_weekdays_are_numbered_from_sunday_and_named() -> None:
    monday_to_friday = ["2026-11-26T09:00:00", "2026-11-27T09:00:00", "2026-11-30T09:00:00"]
    assert fires("0 0 9 ? * MON-FRI", T0) == monday_to_friday
    assert fires("0 0 9 ? * 2-6", T0) == monday_to_friday
    assert fires("0 0 9 ? * 1", T0, 1) == ["2026-11-29T09:00:00"]  # 1 is Sunday in Quartz
    assert fires("0 0 9 ? * L", T0, 1) == ["2026-11-28T09:00:00"]  # L alone is Saturday


def test_wrapping_weekday_range() -> None:
    assert fires("0 0 0 ? * FRI-MON", T0, 4) == [
        "2026-11-27T00:00:00",
        "2026-11-28T00:00:00",
        "2026-11-29T00:00:00",
        "2026-11-30T00:00:00",
    ]


def test_last_day_last_weekday_and_offset_from_last() -> None:
    assert fires("0 0 0 L * ?", T0) == ["2026-11-30T00:00:00", "2026-12-31T00:00:00", "2027-01-31T00:00:00"]
    assert fires("0 0 0 L-2 * ?", T0, 2) == ["2026-11-28T00:00:00", "2026-12-29T00:00:00"]
    # January 2027 ends on a Sunday, so its last weekday is Friday the 29th.
    assert fires("0 0 0 LW * ?", datetime(2027, 1, 1, tzinfo=UTC), 1) == ["2027-01-29T00:00:00"]


def test_nearest_weekday_stays_inside_the_month() -> None:
    # 2026-11-15 is a Sunday → Monday 16th; 2027-05-01 is a Saturday → Monday 3rd, not April.
    assert fires("0 0 0 15W * ?", datetime(2026, 11, 1, tzinfo=UTC), 1) == ["2026-11-16T00:00:00"]
    assert fires("0 0 0 1W * ?", datetime(2027, 4, 5, tzinfo=UTC), 1) == ["2027-05-03T00:00:00"]


def test_nth_and_last_weekday_of_month() -> None:
    assert fires("0 0 10 ? * 6#3", T0, 2) == ["2026-12-18T10:00:00", "2027-01-15T10:00:00"]  # third Friday
    assert fires("0 0 10 ? * FRI#1", T0, 1) == ["2026-12-04T10:00:00"]
    assert fires("0 0 10 ? * 6L", T0, 2) == ["2026-11-27T10:00:00", "2026-12-25T10:00:00"]  # last Friday


def test_months_by_name_and_year_field() -> None:
    assert fires("0 30 8 1 JAN,JUL ?", T0, 2) == ["2027-01-01T08:30:00", "2027-07-01T08:30:00"]
    assert fires("0 0 0 1 1 ? 2028/2", T0, 2) == ["2028-01-01T00:00:00", "2030-01-01T00:00:00"]
    assert CronExpression.parse("0 0 0 1 1 ? 2020").next_after(T0) is None


def test_leap_day() -> None:
    assert fires("0 0 0 29 FEB ?", T0, 2) == ["2028-02-29T00:00:00", "2032-02-29T00:00:00"]


def test_time_zone_and_daylight_saving() -> None:
    after = datetime(2026, 3, 7, tzinfo=UTC)
    # New York springs forward on 2026-03-08: 09:00 local is 14:00 UTC before and 13:00 UTC after.
    parsed = CronExpression.parse("0 0 9 * * ?")
    first = parsed.next_after(after, ZoneInfo("America/New_York"))
    assert first == datetime(2026, 3, 7, 14, tzinfo=UTC)
    assert parsed.next_after(first, ZoneInfo("America/New_York")) == datetime(2026, 3, 8, 13, tzinfo=UTC)
    # 02:30 does not exist that day: it fires at the instant 02:30 EST would have been (07:30 UTC).
    gap = CronExpression.parse("0 30 2 8 3 ?").next_after(after, ZoneInfo("America/New_York"))
    assert gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_standard_five_fields_fire_at_second_zero_with_sunday_zero_or_seven() -> None:
    assert fires("*/15 * * * *", T0) == ["2026-11-25T15:45:00", "2026-11-25T16:00:00", "2026-11-25T16:15:00"]
    assert fires("0 9 * * 0", T0, 1) == fires("0 9 * * 7", T0, 1) == ["2026-11-29T09:00:00"]
    assert fires("0 9 * * 1-5", T0, 1) == ["2026-11-26T09:00:00"]
    assert fires("0 9 * * sun", T0, 1) == ["2026-11-29T09:00:00"]


def test_standard_cron_with_both_day_fields_fires_on_either() -> None:
    # The 1st of the month or any Friday (Vixie cron's rule).
    assert fires("0 0 1 * FRI", T0, 3) == ["2026-11-27T00:00:00", "2026-12-01T00:00:00", "2026-12-04T00:00:00"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * *", "has 3 fields"),
        ("0 0 12 * * *", "'?' in exactly one"),
        ("0 0 12 ? * ?", "'?' in exactly one"),
        ("60 * * * * ?", "second field: 60 is out of range 0-59"),
        ("0 0 25 * * ?", "hour field: 25"),
        ("0 0 0 32 * ?", "day-of-month field: 32"),
        ("0 0 0 ? * 8", "day-of-week field: 8"),
        ("0 0 0 ? XYZ MON", "month field: 'XYZ'"),
        ("0 0 0 1,L * ?", "alone"),
        ("0 0 0 ? * 6#6", "day-of-week #n field: 6"),
        ("0 0 L * *", "Quartz forms"),
        ("? 0 * * ?", "Quartz forms"),
        ("0 0 0 1 1 ? 1969", "year field: 1969"),
        ("0/0 * * * * ?", "second step field: 0"),
    ],
)
def test_invalid_expressions_are_refused_naming_the_field(expression: str, message: str) -> None:
    with pytest.raises(InvalidCronExpression, match=message.replace("?", r"\?").replace("(", r"\(")):
        CronExpression.parse(expression)
