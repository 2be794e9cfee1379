"""Placement statistics, the pure part (issue 9, item 5): the Wilson interval,
the ESF rule, small-cell suppression and the CSV. No database."""

import csv
import io
import itertools
import math
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.placements.stats import (
    CELLS,
    COMPLEMENTARY,
    SMALL,
    PlacementRow,
    cohort_bounds,
    count_cells,
    counts_as_employment,
    feasible_ranges,
    placement_statistics,
    statistics_csv,
    suppress,
    wilson_interval,
)

# --- Wilson interval -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (score).
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0000, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
        # The Wrocław rate on 100 placements (computed below by a second formula).
        (38, 100, (0.2910, 0.4779)),
    ],
)
def test_wilson_interval_matches_the_published_table(successes, n, expected):
    lo, hi = wilson_interval(successes, n)

    assert (round(lo, 4), round(hi, 4)) == expected


def _wilson_by_the_other_formula(k, n, z=1.959963984540054):
    # (2k + z^2 -+ z sqrt(z^2 + 4k(n-k)/n)) / (2(n + z^2)): algebraically the
    # same interval, written differently (Agresti & Coull 1998, eq. 2).
    root = z * math.sqrt(z * z + 4 * k * (n - k) / n)
    return (2 * k + z * z - root) / (2 * (n + z * z)), (2 * k + z * z + root) / (2 * (n + z * z))


@pytest.mark.parametrize(("successes", "n"), [(0, 1), (1, 1), (3, 7), (38, 100), (500, 1000), (999, 1000)])
def test_wilson_interval_agrees_with_an_independent_formula(successes, n):
    assert wilson_interval(successes, n) == pytest.approx(_wilson_by_the_other_formula(successes, n), abs=1e-12)


def test_wilson_interval_is_undefined_without_trials():
    assert wilson_interval(0, 0) is None


def test_the_38_percent_benchmark_is_not_the_wald_interval():
    # Wald would say (0.2849, 0.4751): the check that the score form is used.
    lo, hi = wilson_interval(38, 100)
    assert round(lo, 4) != 0.2849 and round(hi, 4) != 0.4751


# --- ESF rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "fte", "counts"),
    [
        (Decimal(3), Decimal("0.5"), True),
        (Decimal("2.9"), Decimal("0.5"), False),
        (Decimal(3), Decimal("0.49"), False),
        (Decimal("2.9"), Decimal("0.49"), False),
        (Decimal(12), Decimal(1), True),
        (3, 0.5, True),  # plain numbers compare the same
        (2.9, 0.5, False),
        (3, 0.49, False),
        (None, Decimal("0.5"), True),  # no length: an open-ended contract
        (None, Decimal("0.49"), False),
        (Decimal(6), None, False),  # FTE not recorded: not claimed
    ],
)
def test_esf_rule_at_its_boundaries(months, fte, counts):
    assert counts_as_employment(months, fte) is counts


def test_a_float_sum_on_the_boundary_still_counts():
    assert counts_as_employment(3, 0.1 + 0.4)


# --- Suppression -----------------------------------------------------------------------


def cells(started, completed, hired, employed):
    return {
        "started": started, "not_completed": started - completed, "completed": completed,
        "hired": hired, "not_hired": completed - hired,
        "employed_90d": employed, "not_employed_90d": hired - employed,
    }


def test_five_is_shown_and_four_is_not():
    shown, _ = suppress(cells(40, 20, 5, 5))
    assert shown["hired"] == 5 and shown["not_hired"] == 15

    shown, suppressed = suppress(cells(40, 20, 4, 0))
    assert shown["hired"] == SMALL
    assert "hired" in suppressed


def test_zero_is_a_small_cell():
    shown, _ = suppress(cells(40, 20, 0, 0))

    assert shown["hired"] == SMALL


def test_a_small_hired_withholds_not_hired_too():
    # hired 3 of completed 20: not_hired 17 would give the 3 back.
    shown, suppressed = suppress(cells(25, 20, 3, 0))

    assert shown["hired"] == SMALL
    assert shown["not_hired"] == COMPLEMENTARY
    assert shown["completed"] == 20 and shown["started"] == 25
    assert {"hired", "not_hired"} <= set(suppressed)


def test_a_small_not_hired_withholds_hired_and_what_would_rebuild_it():
    # not_hired 3 of 20: hired 17 gives it back; so would employed + not employed.
    shown, _ = suppress(cells(25, 20, 17, 10))

    assert shown["not_hired"] == SMALL
    assert shown["hired"] == COMPLEMENTARY
    assert COMPLEMENTARY in (shown["employed_90d"], shown["not_employed_90d"])


def test_few_placements_still_running_withhold_started_not_completed():
    # started 20, completed 17: 3 running. Withholding `started` keeps the rate.
    shown, _ = suppress(cells(20, 17, 8, 5))

    assert shown["not_completed"] == SMALL
    assert shown["started"] == COMPLEMENTARY
    assert shown["completed"] == 17 and shown["hired"] == 8


def test_a_small_employed_at_90_days_withholds_its_complement():
    shown, _ = suppress(cells(30, 25, 9, 4))

    assert shown["employed_90d"] == SMALL
    assert shown["not_employed_90d"] == COMPLEMENTARY
    assert shown["hired"] == 9


def test_complementary_boundary_at_5():
    # Every cell 5 or more: nothing withheld.
    assert suppress(cells(20, 15, 10, 5)) == (cells(20, 15, 10, 5), [])
    # One running placement fewer: not_completed 4, so started goes too.
    shown, suppressed = suppress(cells(19, 15, 10, 5))
    assert suppressed == ["started", "not_completed"]
    # One hire fewer: not_hired 6 stays, employed/not employed 5 and 4.
    shown, suppressed = suppress(cells(20, 15, 9, 5))
    assert suppressed == ["employed_90d", "not_employed_90d"] and shown["employed_90d"] == COMPLEMENTARY


def _consistent(value, shown):
    if shown == SMALL:
        return value < 5
    return shown == COMPLEMENTARY or value == shown


def test_no_withheld_cell_can_be_worked_out_from_what_is_shown():
    """Every table up to 9 placements: for each withheld cell, some other
    table that shows the same has a different count there (enumerated, not
    trusting `feasible_ranges`). Other tables are drawn from up to 13, which
    can only make a cell look more exposed than it is."""
    tables = lambda top: [
        cells(*counts) for counts in itertools.combinations_with_replacement(range(top + 1), 4)
        for counts in [tuple(sorted(counts, reverse=True))]
    ]
    universe = [tuple(table[c] for c in CELLS) for table in tables(13)]
    for table in tables(9):
        shown, suppressed = suppress(table)
        pattern = [shown[c] for c in CELLS]
        alike = [other for other in universe if all(map(_consistent, other, pattern))]
        for index, cell in enumerate(CELLS):
            if cell in suppressed:
                assert len({other[index] for other in alike}) > 1, (table, shown, cell)
            else:
                assert shown[cell] == table[cell]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=4, max_size=4))
def test_at_any_size_shown_counts_are_true_and_withheld_ones_stay_open(values):
    table = cells(*sorted(values, reverse=True))

    shown, suppressed = suppress(table)

    ranges = feasible_ranges(shown)
    for cell in CELLS:
        assert ranges[cell][0] <= table[cell] <= ranges[cell][1]
        if cell in suppressed:
            assert ranges[cell][0] < ranges[cell][1], (table, shown, cell)
        else:
            assert shown[cell] == table[cell] >= 5


def test_feasible_ranges_show_what_a_reader_can_infer():
    shown = {**cells(25, 20, 3, 0), "hired": SMALL, "employed_90d": SMALL, "not_employed_90d": SMALL}

    assert feasible_ranges(shown)["hired"] == (3, 3)  # 20 - 17: why not_hired must go


# --- The statistics --------------------------------------------------------------------

START = date(2026, 7, 1)


def row(status="completed", outcome="hired", months=Decimal(6), fte=Decimal(1), employed=True):
    return PlacementRow(START, status, outcome, months, fte, employed)


def test_counts_follow_the_documented_definitions():
    rows = [
        row(),  # hired, still employed
        row(employed=False),  # hired, not at 90 days
        row(months=Decimal("2.9")),  # hired but too short: not employment
        row(outcome="not_hired"),
        row(status="ended_early", outcome="ended_early"),  # stays in the denominator
        row(status="completed", outcome=None),  # outcome not yet recorded
        row(status="active", outcome=None),
        row(status="proposed", outcome=None),  # never started
        row(status="confirmed", outcome=None),
        row(status="declined", outcome=None),
    ]

    assert count_cells(rows) == cells(started=7, completed=6, hired=2, employed=1)


def test_statistics_with_enough_placements_show_rate_interval_and_benchmark():
    rows = [row()] * 6 + [row(employed=False)] * 5 + [row(outcome="not_hired")] * 9 + [row("active", None)] * 5

    stats = placement_statistics(rows)

    assert stats == {
        "started": 25, "not_completed": 5, "completed": 20,
        "hired": 11, "not_hired": 9, "employed_90d": 6, "not_employed_90d": 5,
        "conversion_rate": 0.55, "ci95": [round(b, 4) for b in wilson_interval(11, 20)],
        "benchmark": 0.38, "suppressed": [],
    }


def test_a_rate_made_of_a_withheld_cell_is_withheld():
    rows = [row()] * 3 + [row(outcome="not_hired")] * 17

    stats = placement_statistics(rows)

    assert stats["hired"] == SMALL
    assert stats["conversion_rate"] is None and stats["ci95"] is None
    assert {"hired", "not_hired", "conversion_rate", "ci95"} <= set(stats["suppressed"])


def test_no_placements_give_nothing_away():
    stats = placement_statistics([])

    assert all(stats[c] == SMALL for c in CELLS)
    assert stats["conversion_rate"] is None and stats["benchmark"] == 0.38


def test_statistics_hold_counts_only():
    stats = placement_statistics([row()] * 12)

    assert set(stats) == {*CELLS, "conversion_rate", "ci95", "benchmark", "suppressed"}
    assert all(isinstance(stats[c], int | str) for c in CELLS)


# --- Cohorts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cohort", "bounds"),
    [
        ("2026Q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2024Q1", (date(2024, 1, 1), date(2024, 3, 31))),
        ("2026Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2026Q4", (date(2026, 10, 1), date(2026, 12, 31))),
    ],
)
def test_a_cohort_is_its_start_quarter(cohort, bounds):
    assert cohort_bounds(cohort) == bounds


@pytest.mark.parametrize("cohort", ["2026Q5", "2026Q0", "2026-Q3", "26Q3", "2026q3", "", "2026Q3\n"])
def test_a_cohort_that_is_not_a_quarter_is_refused(cohort):
    with pytest.raises(ValueError):
        cohort_bounds(cohort)


# --- CSV -------------------------------------------------------------------------------


def _read(text):
    return list(csv.reader(io.StringIO(text)))


def test_csv_has_english_headers_by_default():
    rows = [row()] * 5 + [row(employed=False)] * 5 + [row(outcome="not_hired")] * 5 + [row("active", None)] * 5
    stats = {**placement_statistics(rows), "from": date(2026, 1, 1), "to": None, "cohort": None}

    header, values = _read(statistics_csv(stats))

    assert header[:6] == ["from", "to", "cohort", "started", "not_completed", "completed"]
    record = dict(zip(header, values))
    assert record["from"] == "2026-01-01" and record["to"] == ""
    assert record["started"] == "20" and record["benchmark"] == "0.38"
    assert record["conversion_rate"] == "0.6667" and record["suppressed"] == ""
    assert record["ci95_lo"] == str(round(wilson_interval(10, 15)[0], 4))


def test_csv_in_polish_names_columns_and_withheld_cells_in_polish():
    stats = placement_statistics([row()] * 3 + [row(outcome="not_hired")] * 17)

    text = statistics_csv({**stats, "from": None, "to": None, "cohort": None}, language="pl")

    header, values = _read(text)
    assert header[3:7] == ["Rozpoczęte", "W trakcie", "Zakończone", "Zatrudnione (zasada EFS)"]
    record = dict(zip(header, values))
    assert record["Zatrudnione (zasada EFS)"] == "<5"
    assert record["Niezatrudnione"] == "#"
    assert "Zatrudnione (zasada EFS)" in record["Utajnione"].split("; ")
    assert text.encode("utf-8").decode("utf-8") == text and "\r\n" in text
