"""Polish working days (referrals/working_days.py) against an independent count
that walks the calendar with the `holidays` package directly."""

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.working_days import add_working_days, is_working_day, polish_date, working_days_between

POLAND = holidays.Poland(years=range(2019, 2037))


def independent_deadline(start: date, n: int) -> date:
    """Walk forward from the day after `start`, counting weekdays that are not
    Polish holidays, until n have been counted."""
    day, counted = start, 0
    while counted < n:
        day = day + timedelta(days=1)
        if day.isoweekday() not in (6, 7) and day not in POLAND:
            counted += 1
    return day


start_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@settings(max_examples=400, deadline=None)
@given(start=start_dates, n=st.integers(min_value=0, max_value=30))
def test_add_working_days_matches_an_independent_count(start, n):
    assert add_working_days(start, n) == independent_deadline(start, n)


@settings(max_examples=200, deadline=None)
@given(start=start_dates, n=st.integers(min_value=0, max_value=30))
def test_working_days_between_is_the_inverse_of_add_working_days(start, n):
    due = add_working_days(start, n)
    assert working_days_between(start, due) == n
    assert working_days_between(due, start) == -n
    if n:
        assert is_working_day(due)


@settings(max_examples=300, deadline=None)
@given(day=start_dates)
def test_is_working_day_is_a_weekday_outside_the_holidays(day):
    assert is_working_day(day) == (day.weekday() < 5 and day not in POLAND)


@pytest.mark.parametrize(
    ("start", "n", "due", "why"),
    [
        # Easter Monday 21 April 2025: Thursday 17 April + 2 skips the weekend and the Monday.
        (date(2025, 4, 17), 2, date(2025, 4, 22), "Easter Monday"),
        (date(2026, 4, 2), 3, date(2026, 4, 8), "Easter Monday 2026 (6 April)"),
        # Corpus Christi Thursday 19 June 2025.
        (date(2025, 6, 18), 1, date(2025, 6, 20), "Corpus Christi"),
        # 1 May 2026 is a Friday and 3 May a Sunday.
        (date(2026, 4, 30), 1, date(2026, 5, 4), "1 May on a Friday"),
        # 1 May 2025 (Thursday) and 3 May (Saturday).
        (date(2025, 4, 30), 1, date(2025, 5, 2), "1 May 2025"),
        (date(2025, 4, 30), 2, date(2025, 5, 5), "1 and 3 May 2025"),
        # 11 November 2025 is a Tuesday.
        (date(2025, 11, 10), 1, date(2025, 11, 12), "Independence Day"),
        # 24, 25 and 26 December 2025 (Wed, Thu, Fri): an NK-A filled on Tuesday
        # 23 December has its 5-day deadline on Monday 5 January, after 1 January.
        (date(2025, 12, 23), 1, date(2025, 12, 29), "Christmas Eve 2025 is a holiday"),
        (date(2025, 12, 23), 5, date(2026, 1, 5), "Christmas and New Year"),
        (date(2026, 12, 23), 1, date(2026, 12, 28), "Christmas Eve 2026 (Thursday)"),
        # Before 2025, 24 December was a working day: Monday 23 December 2024 + 1.
        (date(2024, 12, 23), 1, date(2024, 12, 24), "Christmas Eve 2024 is a working day"),
        (date(2024, 12, 23), 2, date(2024, 12, 27), "then 25 and 26 December 2024"),
        # The start day never counts, even when it is a working day.
        (date(2025, 3, 3), 5, date(2025, 3, 10), "a plain week"),
        (date(2025, 3, 8), 0, date(2025, 3, 8), "n = 0 is the start itself"),
    ],
)
def test_named_examples(start, n, due, why):
    assert add_working_days(start, n) == due, why


def test_christmas_eve_is_a_holiday_from_2025_only():
    assert is_working_day(date(2024, 12, 24))
    assert not is_working_day(date(2025, 12, 24))
    assert not is_working_day(date(2027, 12, 24))


def test_negative_n_is_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2025, 1, 1), -1)


def test_days_are_days_in_poland():
    # 22:30 UTC on 30 April 2025 is already 1 May in Warsaw (CEST, UTC+2).
    assert polish_date(datetime(2025, 4, 30, 22, 30, tzinfo=UTC)) == date(2025, 5, 1)
    assert polish_date(datetime(2025, 1, 31, 22, 59, tzinfo=UTC)) == date(2025, 1, 31)  # CET, UTC+1
    with pytest.raises(ValueError):
        polish_date(datetime(2025, 1, 1))
