"""GET /api/v1/placements/stats (DESIGN 6.2; issue 9, item 5) through the
real token endpoint. Placements are built through the placement services,
never the ORM; the dates are in 2025 so that every end and 90-day follow-up
is in the past."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent_ledger.services import Terms, consent_grant, subject_create
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.placements import lifecycle, services
from referrals.placements.stats import (
    COMPLEMENTARY,
    SMALL,
    count_cells,
    placement_statistics,
    placement_stats_rows,
    wilson_interval,
)
from tests.conftest import ALL_SCOPES

STATS = "/api/v1/placements/stats"
SCOPES = (*ALL_SCOPES, "placements:read", "placements:write")
ROLE = "pomoc kuchenna"
PROFILE = {
    "person": {"given_name": "Halina", "family_name": "Kowalska", "birth_date": "1968-03-02"},
    "contact": {"phone": "+48 600 300 400"},
}
EVIDENCE = "ab" * 32
Q1, Q2 = date(2025, 2, 3), date(2025, 5, 5)


class Partnership:
    """A coordinating agency, its coordinator and an agreement with an
    employer; `place` runs one placement as far as asked, through the services."""

    def __init__(self, coordinating, employer, make_user, username):
        self.coordinating, self.employer = coordinating, employer
        self.coordinator = make_user(coordinating.agency, username=username, role="coordinator")
        self.agreement = services.agreement_create(
            caller=coordinating.caller, employer_id=employer.agency.id, valid_from=date(2025, 1, 1),
            valid_until=date(2025, 12, 31), roles=[ROLE], places=60,
        )
        self.subject_ids = []
        self.placement_ids = []

    def place(self, start_on, to=lifecycle.COMPLETED, *, outcome=None, fte=None, months=None, employed=None):
        caller, host = self.coordinating.caller, self.employer.caller
        subject = subject_create(caller=caller, external_ref=f"{self.coordinator.username}/{len(self.subject_ids)}", profile=PROFILE)
        consent_grant(
            caller=caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
            terms=Terms(categories=["identity", "contact", "employment"], purposes=["employment_placement"],
                        agencies=[str(self.employer.agency.id)]),
        )
        placement = services.placement_create(
            caller=caller, subject_id=subject.id, employer_id=self.employer.agency.id,
            agreement_id=self.agreement.id, coordinator_id=self.coordinator.id, role=ROLE, hours_per_week=40,
            start_on=start_on,
        )
        self.subject_ids.append(str(subject.id))
        self.placement_ids.append(str(placement.id))
        steps = {
            lifecycle.PROPOSED: [], lifecycle.DECLINED: [(host, lifecycle.DECLINED, "no_vacancy")],
            lifecycle.WITHDRAWN: [(host, lifecycle.CONFIRMED, ""),
                                  (caller, lifecycle.WITHDRAWN, "person_withdrew")],
            lifecycle.ACTIVE: [(host, lifecycle.CONFIRMED, ""), (caller, lifecycle.ACTIVE, "")],
            lifecycle.COMPLETED: [(host, lifecycle.CONFIRMED, ""), (caller, lifecycle.ACTIVE, ""),
                                  (caller, lifecycle.COMPLETED, "")],
            lifecycle.ENDED_EARLY: [(host, lifecycle.CONFIRMED, ""), (caller, lifecycle.ACTIVE, ""),
                                    (caller, lifecycle.ENDED_EARLY, "attendance")],
        }[to]
        for who, status, reason in steps:
            ended_on = start_on + timedelta(days=60) if status in lifecycle.ENDED else None
            services.placement_transition(caller=who, placement_id=placement.id, to=status, reason=reason,
                                          ended_on=ended_on)
        if outcome:
            services.placement_outcome_record(
                caller=caller, placement_id=placement.id, outcome=outcome,
                contract_type="employment_contract" if outcome == "hired" else None,
                fte=fte, contract_months=months, reason="no_vacancy" if outcome == "not_hired" else None,
            )
        if employed is not None:
            services.placement_follow_up_record(caller=caller, placement_id=placement.id, still_employed=employed)
        return placement


def hire(partnership, start_on, *, fte="1", months="6", employed=None):
    months = None if months is None else Decimal(months)
    return partnership.place(start_on, outcome="hired", fte=Decimal(fte), months=months, employed=employed)


@pytest.fixture
def cis(party):
    return party("CIS Wrocław", "cis", scopes=SCOPES)


@pytest.fixture
def hotel(party):
    return party("Hotel Wrocław", "employer", scopes=SCOPES)


@pytest.fixture
def wroclaw(cis, hotel, make_user):
    return Partnership(cis, hotel, make_user, "koordynatorka")


@pytest.fixture
def cohort(wroclaw):
    """Twenty started placements, every cell 5 or more; three more never started.

    completed 15 (one ended early; two hires that miss the ESF rule, 2.9
    months and 0.49 FTE, count as not hired), hired 10 (half of them on
    open-ended contracts), employed at 90 days 5."""
    for _ in range(5):
        wroclaw.place(Q1, lifecycle.ACTIVE)
    wroclaw.place(Q1, lifecycle.ENDED_EARLY, outcome="ended_early")
    wroclaw.place(Q1, outcome="not_hired")
    wroclaw.place(Q2, outcome="not_hired")
    hire(wroclaw, Q2, months="2.9")
    hire(wroclaw, Q2, fte="0.49")
    for _ in range(5):
        hire(wroclaw, Q1, fte="0.5", months="3", employed=True)
    for employed in (False, False, False, None, None):
        hire(wroclaw, Q2, months=None, employed=employed)
    for never_started in (lifecycle.PROPOSED, lifecycle.DECLINED, lifecycle.WITHDRAWN):
        wroclaw.place(Q1, never_started)
    return wroclaw


def get_stats(party, accept=None, **params):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    return party.client.get(STATS, params, HTTP_AUTHORIZATION=f"Bearer {party.token}", **headers)


# --- JSON ------------------------------------------------------------------------------


def test_the_coordinating_agency_sees_its_conversion_rate_next_to_the_benchmark(cis, cohort):
    response = get_stats(cis)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "from": None, "to": None, "cohort": None,
        "started": 20, "not_completed": 5, "completed": 15,
        "hired": 10, "not_hired": 5, "employed_90d": 5, "not_employed_90d": 5,
        "conversion_rate": 0.6667, "ci95": [round(bound, 4) for bound in wilson_interval(10, 15)],
        "benchmark": 0.38, "suppressed": [],
    }


def test_a_cohort_of_one_quarter_is_suppressed_where_small(cis, cohort):
    # 2025Q1: started 12, not_completed 5, completed 7, hired 5, not_hired 2,
    # employed_90d 5, not_employed_90d 0. hired goes too: 7 - 5 is 2.
    body = get_stats(cis, cohort="2025Q1").json()

    assert body["cohort"] == "2025Q1"
    assert body["started"] == 12 and body["not_completed"] == 5 and body["completed"] == 7
    assert body["not_hired"] == SMALL and body["not_employed_90d"] == SMALL
    assert body["hired"] == COMPLEMENTARY and body["employed_90d"] == 5
    assert body["conversion_rate"] is None and body["ci95"] is None
    assert body["suppressed"] == ["hired", "not_hired", "not_employed_90d", "conversion_rate", "ci95"]


def test_the_period_is_on_the_start_day_both_ends_included_and_a_cohort_narrows_it(wroclaw, cis, cohort):
    def started(**period):
        return count_cells(placement_stats_rows(cis.agency, **period))["started"]

    assert started(start_from=Q2, start_to=Q2) == 8
    assert started(start_from=Q1 + timedelta(days=1)) == 8
    assert started(start_to=Q1) == 12
    assert started(start_to=Q1 - timedelta(days=1)) == 0
    assert started(cohort="2025Q2") == 8
    assert started(cohort="2025Q2", start_to=Q2 - timedelta(days=1)) == 0
    assert started(cohort="2025Q1", start_from=date(2024, 1, 1), start_to=date(2026, 1, 1)) == 12
    assert started(cohort="2025Q3") == 0
    body = get_stats(cis, **{"from": "2025-05-05", "to": "2025-05-05"}).json()
    rows = placement_stats_rows(cis.agency, start_from=Q2, start_to=Q2)
    assert body == {"from": "2025-05-05", "to": "2025-05-05", "cohort": None, **placement_statistics(rows)}


def test_the_answer_holds_counts_only(cis, hotel, cohort):
    for party in (cis, hotel):
        for accept in ("application/json", "text/csv"):
            text = get_stats(party, accept).content.decode()
            for identifier in (*cohort.subject_ids, *cohort.placement_ids):
                assert identifier not in text
            assert "Halina" not in text and "Kowalska" not in text


# --- Tenancy ---------------------------------------------------------------------------


def test_the_employer_sees_the_placements_it_hosts_and_no_one_elses(party, cis, hotel, make_user, cohort):
    bakery = party("Piekarnia", "employer", scopes=SCOPES)
    at_bakery = Partnership(cis, bakery, make_user, "koordynatorka2")
    for _ in range(6):
        hire(at_bakery, Q1, employed=True)

    assert get_stats(hotel).json()["started"] == 20
    assert get_stats(cis).json()["started"] == 26
    # The bakery's six: all hired, so every complement is 0 and withheld.
    assert count_cells(placement_stats_rows(bakery.agency))["started"] == 6
    assert get_stats(bakery).json()["hired"] == 6


def test_another_agency_sees_only_its_own_placements(party, cohort):
    other_cis = party("CIS Legnica", "cis", scopes=SCOPES)
    stranger = party("Fundacja Obca", "ngo", scopes=SCOPES)

    for outsider in (other_cis, stranger):
        body = get_stats(outsider).json()
        assert all(body[cell] == SMALL for cell in ("started", "completed", "hired", "employed_90d"))
        assert count_cells(placement_stats_rows(outsider.agency))["started"] == 0


def test_statistics_need_the_placements_read_scope(party):
    caseworker = party("OPS bez staży", "ops")  # ALL_SCOPES: no placements:read

    response = get_stats(caseworker)

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


# --- CSV -------------------------------------------------------------------------------


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_csv_for_accept_text_csv_with_english_headers(cis, cohort):
    response = get_stats(cis, "text/csv", **{"from": "2025-01-01"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, values = read_csv(response)
    record = dict(zip(header, values))
    assert header[:4] == ["from", "to", "cohort", "started"]
    assert record["from"] == "2025-01-01" and record["cohort"] == "" and record["started"] == "20"
    assert record["conversion_rate"] == "0.6667" and record["benchmark"] == "0.38" and record["suppressed"] == ""


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"lang": "pl"}, {}), ({}, {"HTTP_ACCEPT_LANGUAGE": "pl-PL,pl;q=0.9,en;q=0.5"})],
)
def test_csv_headers_in_polish_on_request(cis, cohort, params, headers):
    response = cis.client.get(
        STATS, params, HTTP_AUTHORIZATION=f"Bearer {cis.token}", HTTP_ACCEPT="text/csv", **headers
    )

    header, values = read_csv(response)
    assert header[3:6] == ["Rozpoczęte", "W trakcie", "Zakończone"]
    assert dict(zip(header, values))["Rozpoczęte"] == "20"


def test_english_wins_when_asked_for_before_polish(cis, cohort):
    response = cis.client.get(
        STATS, {}, HTTP_AUTHORIZATION=f"Bearer {cis.token}", HTTP_ACCEPT="text/csv",
        HTTP_ACCEPT_LANGUAGE="en;q=0.9,pl;q=0.8",
    )

    assert read_csv(response)[0][3] == "started"


def test_csv_by_the_format_parameter_too(cis):
    response = get_stats(cis, format="csv")

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"


def test_another_format_is_406_problem_json(cis):
    response = get_stats(cis, "application/xml")

    assert response.status_code == 406
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "not_acceptable"


# --- Bad parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "2025-02-30"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-13-01"}, "to"),
        ({"from": "2025-06-01", "to": "2025-05-31"}, "from"),
        ({"cohort": "2025Q5"}, "cohort"),
        ({"cohort": "2025-Q1"}, "cohort"),
        ({"lang": "de"}, "lang"),
        ({"format": "xml"}, "format"),
    ],
)
def test_a_bad_parameter_is_422_naming_it(cis, params, parameter):
    for accept in ("application/json", "text/csv"):
        response = get_stats(cis, accept, **params)

        assert response.status_code == 422, response.content
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert [e["parameter"] for e in response.json()["errors"]] == [parameter]


# --- Queries ---------------------------------------------------------------------------


def _queries(party, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert get_stats(party, **params).status_code == 200
    return len(captured)


def test_the_query_count_does_not_grow_with_the_placements(cis, wroclaw, django_assert_max_num_queries):
    hire(wroclaw, Q1, employed=True)
    few = _queries(cis)
    for _ in range(6):
        hire(wroclaw, Q1, employed=True)
    wroclaw.place(Q2, lifecycle.ACTIVE)

    with django_assert_max_num_queries(few):
        assert get_stats(cis, cohort="2025Q1").status_code == 200
    assert _queries(cis) == few
    assert count_cells(placement_stats_rows(cis.agency))["started"] == 8
