"""How often a cron schedule fires: the run count behind a scheduled job's monthly cost."""

from __future__ import annotations

import datetime as dt
from functools import cache

from compiler.spec.types import _CRON_FIELDS, _CRON_NAMES

HOURS_PER_MONTH = 730.0  # 365 days x 24 hours / 12: the month cloud price lists quote
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_REFERENCE_YEAR = 2025  # a year of 365 days, so that a month is HOURS_PER_MONTH long


@cache
def runs_per_month(schedule: str) -> float:
    """Average runs a month of a (validated) cron schedule, counted over a whole common year.

    Day of month and day of week combine as cron combines them: when both are restricted, a day
    matching either fires."""
    minute, hour, day, month, weekday = _MACROS.get(schedule, schedule).split()
    minutes, hours = _values(minute, 0), _values(hour, 1)
    days, months, weekdays = _values(day, 2), _values(month, 3), {w % 7 for w in _values(weekday, 4)}
    either = day != "*" and weekday != "*"
    fires = 0
    date = dt.date(_REFERENCE_YEAR, 1, 1)
    while date.year == _REFERENCE_YEAR:
        on_day, on_weekday = date.day in days, date.isoweekday() % 7 in weekdays
        if date.month in months and ((on_day or on_weekday) if either else (on_day and on_weekday)):
            fires += 1
        date += dt.timedelta(days=1)
    return fires * len(hours) * len(minutes) / 12


def _values(field: str, index: int) -> set[int]:
    _, low, high = _CRON_FIELDS[index]
    if index == 4:
        high = 6  # 7 is Sunday again
    names = _CRON_NAMES.get(index, {})
    out: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = low, high
        else:
            bounds = [names.get(b.upper(), int(b) if b.isdigit() else 0) for b in base.split("-", 1)]
            first, last = bounds[0], bounds[-1] if len(bounds) > 1 or not step else high
        out.update(range(first, last + 1, int(step or 1)))
    return out
