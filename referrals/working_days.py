"""Polish working days, for statutory deadlines (DESIGN.md 4.6).

A working day is a day that is neither a Saturday, a Sunday, nor a public
holiday under the Act of 18 January 1951 on public holidays (dni wolne od
pracy), as the `holidays` package lists them for Poland: that package is the
one calendar, never a list of our own. 24 December is a holiday from 2025 on
(the amendment of December 2024); the version pinned in pyproject.toml has it,
and tests/referrals/test_working_days.py checks that it does.

Counting follows art. 57 § 1 of the Code of Administrative Procedure (KPA), the
practice for the Blue Card deadlines of art. 9d of the Act on Counteracting
Domestic Violence: the day of the event that starts the deadline does not
count. "5 working days from the NK-A" ends on the fifth working day AFTER the
day the form was filled; that day is `due`, the last day on which the step is
still in time.

Calendar days are days in Poland (Europe/Warsaw): an NK-A filled at 00:30 on
2 May in Warsaw is 1 May 22:30 UTC, and its deadline runs from 2 May.
"""

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

POLAND = ZoneInfo("Europe/Warsaw")
_SATURDAY = 5


@cache
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PL", years=year))


def is_working_day(day: date) -> bool:
    """Neither a weekend nor a Polish public holiday."""
    return day.weekday() < _SATURDAY and day not in _public_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (`start` itself never counts, KPA
    art. 57 § 1). For n == 0 it is `start` itself. n must not be negative."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(a: date, b: date) -> int:
    """How many working days d there are with a < d <= b: the inverse of
    add_working_days (working_days_between(a, add_working_days(a, n)) == n).
    Negative when b is before a."""
    if b < a:
        return -working_days_between(b, a)
    return sum(1 for offset in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=offset)))


def polish_date(moment: datetime) -> date:
    """The calendar day in Poland of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no day in Poland")
    return moment.astimezone(POLAND).date()


def today_in_poland() -> date:
    from django.utils import timezone

    return polish_date(timezone.now())
