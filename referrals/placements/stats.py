"""Conversion statistics for employment placements (issue 9, item 5; DESIGN 4.6, 6.2).

The answer holds counts only: no id, date or row of a person. The
statistics (the ESF rule, the Wilson interval, small-cell suppression, CSV)
are pure functions over plain `PlacementRow`s; the selector at the end loads
those rows for one agency with one query.

Definitions (what a coordinator reports to a funder):

- **started**: placements that began (status active, completed or ended_early,
  or an outcome recorded) whose `start_on` falls in the period. Proposed,
  confirmed-but-not-begun, declined and withdrawn placements are not counted.
- **completed**: started placements that have finished: served the full term
  *or ended early*. Ended-early placements stay in the denominator (intention
  to treat), so a partnership cannot raise its rate by ending the hard
  placements early; a person who left early because she was hired counts as
  hired, as in ESF practice. A finished placement whose outcome is not yet
  recorded counts as completed and not hired until it is.
- **hired**: completed placements with outcome `hired` that count as
  employment under the ESF effectiveness rule (`counts_as_employment`).
- **employed_90d**: hires (ESF rule) confirmed still employed at the 90-day
  follow-up.
- **conversion_rate** = hired / completed, with its 95% Wilson interval, next
  to the Wrocław model's 38% (`BENCHMARK`).

Each total is published with its complement, so every pair adds up:
started = completed + not_completed, completed = hired + not_hired,
hired = employed_90d + not_employed_90d.
"""

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q

from . import lifecycle
from .models import HIRED, Placement, meets_esf_rule

# The Wrocław "Model Wsparcia": 38% of three-month placements ended in employment.
BENCHMARK = 0.38
# The 0.975 quantile of the standard normal distribution (two-sided 95%).
Z_95 = 1.959963984540054

# --- The ESF effectiveness rule ---------------------------------------------------------


def counts_as_employment(contract_months, fte) -> bool:
    """True when a hire meets the ESF rule: a contract of at least 3 months
    and at least half-time (EFS "efektywność zatrudnieniowa").

    Months are decimal, as the placement stores them (one decimal place): 2.9
    months fails, 3 passes; None is an open-ended contract (umowa na czas
    nieokreślony), which is long enough. `fte` is hours as a fraction of full
    time: 0.49 fails, 0.5 passes; None (not recorded) fails. Numbers are
    compared as decimals, so a float that prints as 0.5 is 0.5. The rule
    itself lives in one place, models.meets_esf_rule.
    """
    return meets_esf_rule(fte=_decimal(fte), contract_months=_decimal(contract_months))


def _decimal(value) -> Decimal | None:
    return value if value is None or isinstance(value, Decimal) else Decimal(str(value))


# --- The Wilson score interval ----------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for a binomial proportion (Wilson 1927;
    Newcombe 1998, method 3), or None when n is 0.

    Unlike the Wald interval it stays inside [0, 1] and keeps its coverage for
    the small counts a single partnership has (e.g. 0 of 20 -> [0, 0.1611]).
    """
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# --- Small-cell suppression -------------------------------------------------------------

# A count under 5, zero included, is a small cell, shown as "<5". Zero is
# small too: were it shown, "<5" would mean 1 to 4, and a total of 8 split
# into two "<5" cells, or a chain of "<5" cells under a "<5" total, would give
# the exact counts back.
SMALL_CELL_LIMIT = 5
SMALL = "<5"
# A cell withheld only so that a small cell cannot be recovered from the
# others. "#" is the sign GUS uses for data withheld under statistical
# confidentiality (tajemnica statystyczna); "<5" would be a false statement
# about a count of, say, 17.
COMPLEMENTARY = "#"

CELLS = (
    "started", "not_completed", "completed", "hired", "not_hired", "employed_90d", "not_employed_90d",
)
# What `suppressed` may name: a cell, or the rate and its interval.
SUPPRESSIBLE = (*CELLS, "conversion_rate", "ci95")
# Every cell is a difference of two running totals
# t = (0, employed_90d, hired, completed, started): started = completed +
# not_completed, completed = hired + not_hired, hired = employed_90d +
# not_employed_90d. So what a reader can infer from the shown cells is a
# system of difference constraints t[j] - t[i] in [lo, hi].
SPANS = {
    "employed_90d": (0, 1), "not_employed_90d": (1, 2), "hired": (0, 2), "not_hired": (2, 3),
    "completed": (0, 3), "not_completed": (3, 4), "started": (0, 4),
}
# Which shown cell to give up first to protect another: complements before
# totals, and the two cells the conversion rate is made of last, so that
# 3 placements still running withhold `started`, not `completed`.
GIVE_UP_ORDER = (
    "not_employed_90d", "not_hired", "not_completed", "started", "employed_90d", "hired", "completed",
)


def suppress(counts: dict[str, int]) -> tuple[dict[str, int | str], list[str]]:
    """Small cells as "<5", complementary cells as "#"; and the withheld names.

    Small cells first; then, while a reader could still work out any
    withheld cell exactly from what is shown (hired = completed - not_hired,
    or less obvious chains of bounds), one more cell is withheld: the first
    in GIVE_UP_ORDER that frees it. `feasible_ranges` is the reader.
    """
    shown: dict[str, int | str] = {
        cell: SMALL if counts[cell] < SMALL_CELL_LIMIT else counts[cell] for cell in CELLS
    }
    while (pinned := _pinned(shown)) and (cell := _complement_for(pinned[0], shown)):
        shown[cell] = COMPLEMENTARY
    return shown, [cell for cell in CELLS if _withheld(shown[cell])]


def feasible_ranges(shown: dict[str, int | str]) -> dict[str, tuple[int, float]]:
    """For each cell, the least and the greatest count consistent with `shown`.

    The shown cells are difference constraints on the running totals, so the
    tightest bounds are shortest paths (Floyd-Warshall on five nodes), and
    every whole number between them is possible (difference constraints with
    whole bounds have whole solutions).
    """
    far = math.inf
    dist = [[0 if i == j else far for j in range(5)] for i in range(5)]
    for cell, (i, j) in SPANS.items():
        value = shown[cell]
        low, high = {SMALL: (0, SMALL_CELL_LIMIT - 1), COMPLEMENTARY: (0, far)}.get(value, (value, value))
        dist[i][j] = min(dist[i][j], high)  # t[j] <= t[i] + high
        dist[j][i] = min(dist[j][i], -low)  # t[i] <= t[j] - low
    for k in range(5):
        for i in range(5):
            for j in range(5):
                dist[i][j] = min(dist[i][j], dist[i][k] + dist[k][j])
    return {cell: (-dist[j][i], dist[i][j]) for cell, (i, j) in SPANS.items()}


def _withheld(value) -> bool:
    return isinstance(value, str)


def _pinned(shown) -> list[str]:
    ranges = feasible_ranges(shown)
    return [cell for cell in CELLS if _withheld(shown[cell]) and ranges[cell][0] == ranges[cell][1]]


def _complement_for(pinned: str, shown) -> str | None:
    """The first shown cell in GIVE_UP_ORDER whose withholding frees `pinned`;
    failing that, the first shown cell (then look again); None when every
    cell is withheld already (and so nothing is shown to work from)."""
    candidates = [cell for cell in GIVE_UP_ORDER if not _withheld(shown[cell])]
    freeing = (cell for cell in candidates if pinned not in _pinned({**shown, cell: COMPLEMENTARY}))
    return next(freeing, candidates[0] if candidates else None)


# --- The statistics ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementRow:
    """What the statistics need of one placement: no id, no person."""

    started_on: date
    status: str
    outcome: str | None = None
    contract_months: Decimal | None = None
    fte: Decimal | None = None
    employed_90d: bool | None = None


def count_cells(rows) -> dict[str, int]:
    started = completed = hired = employed = 0
    for row in rows:
        finished = row.status in lifecycle.ENDED or bool(row.outcome)
        if not (finished or row.status in lifecycle.STARTED):
            continue
        started += 1
        if not finished:
            continue
        completed += 1
        if row.outcome == HIRED and counts_as_employment(row.contract_months, row.fte):
            hired += 1
            employed += row.employed_90d is True
    return {
        "started": started, "not_completed": started - completed,
        "completed": completed, "hired": hired, "not_hired": completed - hired,
        "employed_90d": employed, "not_employed_90d": hired - employed,
    }


def placement_statistics(rows, *, benchmark: float = BENCHMARK) -> dict:
    """{started, ..., conversion_rate, ci95, benchmark, suppressed} for the rows.

    `conversion_rate` and `ci95` are null when nothing has completed, and
    null *and* listed in `suppressed` when hired or completed is withheld (a
    rate next to a published denominator gives its numerator back).
    """
    counts = count_cells(rows)
    shown, suppressed = suppress(counts)
    rate = ci95 = None
    if "hired" in suppressed or "completed" in suppressed:
        suppressed += ["conversion_rate", "ci95"]
    elif counts["completed"]:
        rate = round(counts["hired"] / counts["completed"], 4)
        ci95 = [round(bound, 4) for bound in wilson_interval(counts["hired"], counts["completed"])]
    return {**shown, "conversion_rate": rate, "ci95": ci95, "benchmark": benchmark, "suppressed": suppressed}


# --- Periods ----------------------------------------------------------------------------

COHORT_PATTERN = r"^([0-9]{4})Q([1-4])$"
_COHORT = re.compile(COHORT_PATTERN)


def cohort_bounds(cohort: str) -> tuple[date, date]:
    """'2026Q3' -> (2026-07-01, 2026-09-30): the start quarter of a cohort."""
    match = _COHORT.fullmatch(cohort)
    if match is None:
        raise ValueError("A cohort is a start quarter such as 2026Q3.")
    year, quarter = int(match[1]), int(match[2])
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(after.toordinal() - 1)


# --- CSV --------------------------------------------------------------------------------

# Column order and headers. English headers are the JSON member names, so a
# script reads both the same way; Polish ones are for people.
CSV_COLUMNS = (
    ("from", "Od"),
    ("to", "Do"),
    ("cohort", "Kohorta (kwartał rozpoczęcia)"),
    ("started", "Rozpoczęte"),
    ("not_completed", "W trakcie"),
    ("completed", "Zakończone"),
    ("hired", "Zatrudnione (zasada EFS)"),
    ("not_hired", "Niezatrudnione"),
    ("employed_90d", "Zatrudnione po 90 dniach"),
    ("not_employed_90d", "Niepotwierdzone po 90 dniach"),
    ("conversion_rate", "Wskaźnik zatrudnienia"),
    ("ci95_lo", "Przedział ufności 95% od"),
    ("ci95_hi", "Przedział ufności 95% do"),
    ("benchmark", "Wartość odniesienia"),
    ("suppressed", "Utajnione"),
)
LANGUAGES = ("en", "pl")


def statistics_csv(stats: dict, *, language: str = "en") -> str:
    """RFC 4180 CSV (CRLF line ends): a header row and one row of values.

    Null is an empty cell; withheld counts keep their "<5" or "#";
    `suppressed` names the withheld columns, separated by "; ".
    """
    polish = language == "pl"
    names = {key: (pl if polish else key) for key, pl in (*CSV_COLUMNS, ("ci95", "Przedział ufności 95%"))}
    ci95 = stats.get("ci95") or [None, None]
    values = {**stats, "ci95_lo": ci95[0], "ci95_hi": ci95[1]}
    values["suppressed"] = "; ".join(names.get(cell, cell) for cell in stats.get("suppressed", []))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names[key] for key, _ in CSV_COLUMNS)
    writer.writerow("" if values.get(key) is None else values[key] for key, _ in CSV_COLUMNS)
    return out.getvalue()


# --- The selector -----------------------------------------------------------------------


def placement_stats_for_agency(agency, *, start_from=None, start_to=None, cohort=None) -> dict:
    """The statistics of the agency's placements that started in the period
    (placement_stats_rows), suppressed and ready to render."""
    return placement_statistics(
        placement_stats_rows(agency, start_from=start_from, start_to=start_to, cohort=cohort)
    )


def placement_stats_rows(agency, *, start_from=None, start_to=None, cohort=None) -> list[PlacementRow]:
    """The rows the statistics count, in one query whatever their number.

    The agency's placements are those it coordinates or, for an employer,
    those it hosts, and nobody else's: tenancy holds by construction. The
    period is on `start_on`, both ends inclusive, narrowed to the cohort's
    start quarter when one is given. Only placements that started (or have
    an outcome) are loaded; no id leaves the query.
    """
    if cohort:
        first, last = cohort_bounds(cohort)
        start_from = max(start_from, first) if start_from else first
        start_to = min(start_to, last) if start_to else last
    placements = Placement.objects.filter(Q(coordinating_agency=agency) | Q(employer=agency)).filter(
        Q(status__in=lifecycle.STARTED) | ~Q(outcome="")
    )
    if start_from:
        placements = placements.filter(start_on__gte=start_from)
    if start_to:
        placements = placements.filter(start_on__lte=start_to)
    columns = ("start_on", "status", "outcome", "contract_months", "fte", "employed_90d")
    return [PlacementRow(*values) for values in placements.values_list(*columns)]
