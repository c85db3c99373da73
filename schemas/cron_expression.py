"""Cron expressions as Spinnaker's cron triggers write them (Quartz), and standard 5-field cron.

A shared value type: Front50 refuses a pipeline whose cron trigger's expression does not parse
(400 naming ``triggers[N].cronExpression``), and Echo fires each trigger by the same parser, so
what is saved is what fires.

Spinnaker validates ``cronExpression`` with Quartz's ``CronExpression``; the libraries on PyPI
(croniter, cronsim) speak Unix cron, whose day-of-week numbers differ (Quartz: 1 = SUN … 7 = SAT)
and which lack Quartz's ``L-n``, ``LW`` and ``nL`` forms. This module parses both dialects into one
:class:`CronExpression` and answers one question: the first fire time after an instant, in a time
zone.

* **Quartz** (6 or 7 fields): ``second minute hour day-of-month month day-of-week [year]``. One of
  the day fields must be ``?``. ``L`` (last day; ``L-3`` three before it; ``LW`` last weekday),
  ``15W`` (weekday nearest the 15th), ``6L`` (last Friday), ``6#3`` (third Friday), names
  ``JAN``-``DEC`` / ``SUN``-``SAT``, ranges (wrapping, e.g. ``FRI-MON``), lists and ``/`` steps.
* **Standard** (5 fields): ``minute hour day-of-month month day-of-week``, fires at second 0,
  day-of-week 0-7 with 0 and 7 Sunday; when both day fields are restricted a day matching either
  fires (Vixie cron).

Example::

    expression = CronExpression.parse("0 0 9 ? * MON-FRI")
    expression.next_after(datetime(2026, 11, 27, 12, tzinfo=UTC), ZoneInfo("Europe/Paris"))
    # datetime(2026, 11, 30, 8, 0, tzinfo=UTC): Monday 09:00 in Paris

Nonexistent local times (a DST gap) fire at the instant the local clock would have shown them
had it not jumped (``fold=0``); a repeated hour fires once, on its first pass.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MONTHS = {
    name: index + 1
    for index, name in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
WEEKDAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}
"""Python's weekday numbers, which this module uses inside (Monday 0 … Sunday 6)."""
LAST_YEAR = 2099
"""Quartz's last year; an expression with no fire before it never fires again."""
_MAX_DAYS = 366 * 130


class InvalidCronExpression(ValueError):
    """The expression does not parse; the message names the field and what it accepts."""


@dataclass(frozen=True)
class DayRule:
    """Which days of a month fire: the day-of-month and day-of-week parts, and how they combine."""

    dom_any: bool = True
    dom: frozenset[int] = frozenset()
    last_day_offset: int | None = None
    last_weekday: bool = False
    nearest_weekday: int | None = None
    dow_any: bool = True
    dow: frozenset[int] = frozenset()
    last_of_weekday: int | None = None
    nth_weekday: tuple[int, int] | None = None

    def matches(self, day: date) -> bool:
        """True when ``day`` fires (both parts restricted: either one, as Vixie cron does)."""
        if self.dom_any and self.dow_any:
            return True
        if self.dom_any:
            return self._dow_matches(day)
        if self.dow_any:
            return self._dom_matches(day)
        return self._dom_matches(day) or self._dow_matches(day)

    def _dom_matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.last_day_offset is not None:
            return day.day == max(last - self.last_day_offset, 1)
        if self.last_weekday:
            return day == _nearest_weekday(day.replace(day=last))
        if self.nearest_weekday is not None:
            return self.nearest_weekday <= last and day == _nearest_weekday(day.replace(day=self.nearest_weekday))
        return day.day in self.dom

    def _dow_matches(self, day: date) -> bool:
        weekday = day.weekday()
        if self.last_of_weekday is not None:
            last = calendar.monthrange(day.year, day.month)[1]
            return weekday == self.last_of_weekday and day.day + 7 > last
        if self.nth_weekday is not None:
            wanted, nth = self.nth_weekday
            return weekday == wanted and (day.day - 1) // 7 + 1 == nth
        return weekday in self.dow


def _nearest_weekday(day: date) -> date:
    """Quartz's ``W``: the weekday nearest ``day`` without leaving its month."""
    last = calendar.monthrange(day.year, day.month)[1]
    if day.weekday() == 5:
        return day - timedelta(days=1) if day.day > 1 else day + timedelta(days=2)
    if day.weekday() == 6:
        return day + timedelta(days=1) if day.day < last else day - timedelta(days=2)
    return day


@dataclass(frozen=True)
class CronExpression:
    """A parsed expression: the seconds, minutes, hours, months and years that fire, and the day rule."""

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int] | None
    days: DayRule

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        """Parse a Quartz (6 or 7 fields) or standard (5 fields) expression; raises :class:`InvalidCronExpression`."""
        fields = text.upper().split()
        if len(fields) == 5:
            return _parse_standard(text, fields)
        if len(fields) in (6, 7):
            return _parse_quartz(text, fields)
        raise InvalidCronExpression(
            f"cron expression {text!r} has {len(fields)} fields; give Quartz's 6 or 7 "
            "('second minute hour day-of-month month day-of-week [year]', e.g. '0 0 9 ? * MON-FRI') "
            "or standard cron's 5 ('minute hour day-of-month month day-of-week')"
        )

    def next_after(self, after: datetime, zone: tzinfo = UTC) -> datetime | None:
        """The first fire time strictly after ``after`` (an aware datetime), in UTC; None if there is none."""
        local = after.astimezone(zone).replace(tzinfo=None)
        start = local.replace(microsecond=0) + timedelta(seconds=1)
        day = start.date()
        for _ in range(_MAX_DAYS):
            if day.year > LAST_YEAR:
                return None
            if self.years is not None and day.year not in self.years:
                later = [year for year in self.years if year > day.year]
                if not later:
                    return None
                day = date(min(later), 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
                continue
            if self.days.matches(day):
                earliest = start.time() if day == start.date() else time(0, 0, 0)
                at = self._first_time_from(earliest)
                if at is not None:
                    instant = datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)
                    if instant > after:
                        return instant
                    start = datetime.combine(day, at) + timedelta(seconds=1)
                    day = start.date()
                    continue
            day += timedelta(days=1)
        return None

    def _first_time_from(self, earliest: time) -> time | None:
        """The first firing time of day at or after ``earliest``."""
        for hour in self.hours:
            if hour < earliest.hour:
                continue
            if hour > earliest.hour:
                return time(hour, self.minutes[0], self.seconds[0])
            for minute in self.minutes:
                if minute < earliest.minute:
                    continue
                if minute > earliest.minute:
                    return time(hour, minute, self.seconds[0])
                for second in self.seconds:
                    if second >= earliest.second:
                        return time(hour, minute, second)
        return None


# --- parsing ----------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\d+$")


def _value(token: str, name: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names is not None and token in names:
        return names[token]
    if not _NUMBER.match(token):
        allowed = f"{low}-{high}" + (f" or a name such as {next(iter(names))}" if names else "")
        raise InvalidCronExpression(f"{name} field: {token!r} is not a value ({allowed})")
    value = int(token)
    if not low <= value <= high:
        raise InvalidCronExpression(f"{name} field: {value} is out of range {low}-{high}")
    return value


def _values(field: str, name: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """A list of ``*``, values, ranges (wrapping past ``high``) and ``/`` steps, as the values it covers."""
    result: set[int] = set()
    for part in field.split(","):
        if not part:
            raise InvalidCronExpression(f"{name} field: {field!r} has an empty list item")
        base, _, step_text = part.partition("/")
        step = _value(step_text, f"{name} step", 1, high - low + 1, None) if step_text else 1
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            first, last = _value(start_text, name, low, high, names), _value(end_text, name, low, high, names)
        else:
            first = _value(base, name, low, high, names)
            last = high if step_text else first
        span = (last - first) % (high - low + 1)
        result.update(low + (first - low + offset) % (high - low + 1) for offset in range(0, span + 1, step))
    return frozenset(result)


def _sorted(values: frozenset[int]) -> tuple[int, ...]:
    return tuple(sorted(values))


def _quartz_dom(field: str) -> DayRule:
    if field in ("?", "*"):
        return DayRule()
    if field == "L":
        return DayRule(dom_any=False, last_day_offset=0)
    if field == "LW":
        return DayRule(dom_any=False, last_weekday=True)
    if match := re.fullmatch(r"L-(\d+)", field):
        return DayRule(dom_any=False, last_day_offset=_value(match[1], "day-of-month offset", 0, 30, None))
    if match := re.fullmatch(r"(\d+)W", field):
        return DayRule(dom_any=False, nearest_weekday=_value(match[1], "day-of-month", 1, 31, None))
    if "L" in field or "W" in field:
        raise InvalidCronExpression(f"day-of-month field: {field!r}: use L, L-n, LW or nW alone, not in a list")
    return DayRule(dom_any=False, dom=_values(field, "day-of-month", 1, 31))


def _quartz_weekday(token: str) -> int:
    """A Quartz day-of-week (1 = SUN … 7 = SAT, or a name) as Python's weekday number."""
    if token in WEEKDAYS:
        return WEEKDAYS[token]
    return (_value(token, "day-of-week", 1, 7, None) + 5) % 7


def _quartz_dow(field: str) -> DayRule:
    if field in ("?", "*"):
        return DayRule()
    if field == "L":
        return DayRule(dow_any=False, dow=frozenset({5}))
    if match := re.fullmatch(r"(\w+)L", field):
        return DayRule(dow_any=False, last_of_weekday=_quartz_weekday(match[1]))
    if match := re.fullmatch(r"(\w+)#(\d+)", field):
        return DayRule(
            dow_any=False, nth_weekday=(_quartz_weekday(match[1]), _value(match[2], "day-of-week #n", 1, 5, None))
        )
    if "L" in field or "#" in field:
        raise InvalidCronExpression(f"day-of-week field: {field!r}: use nL or n#k alone, not in a list")
    names = {name: (weekday + 1) % 7 + 1 for name, weekday in WEEKDAYS.items()}
    quartz = _values(field, "day-of-week", 1, 7, names)
    return DayRule(dow_any=False, dow=frozenset((value + 5) % 7 for value in quartz))


def _parse_quartz(text: str, fields: list[str]) -> CronExpression:
    second, minute, hour, dom, month, dow = fields[:6]
    if (dom == "?") == (dow == "?"):
        raise InvalidCronExpression(
            f"cron expression {text!r}: Quartz needs '?' in exactly one of day-of-month and day-of-week, "
            "e.g. '0 0 12 * * ?' or '0 0 12 ? * MON'"
        )
    if "?" in (second, minute, hour, month) or (len(fields) == 7 and "?" in fields[6]):
        raise InvalidCronExpression(f"cron expression {text!r}: '?' is allowed only in the day fields")
    day_of_month, day_of_week = _quartz_dom(dom), _quartz_dow(dow)
    return CronExpression(
        text=text,
        seconds=_sorted(_values(second, "second", 0, 59)),
        minutes=_sorted(_values(minute, "minute", 0, 59)),
        hours=_sorted(_values(hour, "hour", 0, 23)),
        months=_values(month, "month", 1, 12, MONTHS),
        years=None if len(fields) == 6 or fields[6] == "*" else _values(fields[6], "year", 1970, LAST_YEAR),
        days=DayRule(
            dom_any=day_of_month.dom_any,
            dom=day_of_month.dom,
            last_day_offset=day_of_month.last_day_offset,
            last_weekday=day_of_month.last_weekday,
            nearest_weekday=day_of_month.nearest_weekday,
            dow_any=day_of_week.dow_any,
            dow=day_of_week.dow,
            last_of_weekday=day_of_week.last_of_weekday,
            nth_weekday=day_of_week.nth_weekday,
        ),
    )


def _parse_standard(text: str, fields: list[str]) -> CronExpression:
    minute, hour, dom, month, dow = fields
    if re.search(r"[LW#?]", dom) or re.search(r"[L#?]", dow) or "?" in minute + hour + month:
        raise InvalidCronExpression(
            f"cron expression {text!r}: L, W, # and ? are Quartz forms; write it with 6 fields "
            "(a leading seconds field), e.g. '0 0 12 L * ?'"
        )
    names = {name: (weekday + 1) % 7 for name, weekday in WEEKDAYS.items()}
    weekdays = _values(dow, "day-of-week", 0, 7, names) if dow != "*" else frozenset()
    return CronExpression(
        text=text,
        seconds=(0,),
        minutes=_sorted(_values(minute, "minute", 0, 59)),
        hours=_sorted(_values(hour, "hour", 0, 23)),
        months=_values(month, "month", 1, 12, MONTHS),
        years=None,
        days=DayRule(
            dom_any=dom == "*",
            dom=_values(dom, "day-of-month", 1, 31) if dom != "*" else frozenset(),
            dow_any=dow == "*",
            dow=frozenset((value + 6) % 7 for value in weekdays),
        ),
    )
