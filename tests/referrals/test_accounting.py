"""A complete accounting (issue 12, item 4): a document another agency
supplied is disclosed to the person's owner through the choke point, and the
accounting says so (supplier, recipient, categories, the reply basis and the
referral the document answers); the person's report is filtered by period
and recipient (GET subjects/{id}/disclosures/?from=&to=&recipient=)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_ledger.disclosure import disclose
from consent_ledger.models import EntryKind, LedgerEntry, Provision, Subject
from consent_ledger.selectors import disclosure_list_for_subject
from tests.conftest import bearer

from . import blue_card_world, placements_world, plans_world
from .conftest import (
    PAYLOAD,
    REASON,
    WITHHOLD,
    detail,
    move,
    send,
    transition_url,
    updates_url,
)

POLISH = {"HTTP_ACCEPT_LANGUAGE": "pl-PL,pl;q=0.9"}
UPDATES = [
    {"kind": "note", "payload": {"text": "Settled in; the children started school."}},
    {"kind": "appointment", "payload": {"when": "2030-03-02T10:00:00Z", "notes": "First session.",
                                        "where": {"name": "Punkt konsultacyjny", "city": "Wrocław"}}},
    {"kind": "outcome", "payload": {"summary": "Moved to a sheltered flat."}},
]


def accounting_url(subject_id) -> str:
    return f"/api/v1/subjects/{subject_id}/disclosures/"


def accounting(owner, subject_id, **params) -> list[dict]:
    response = owner.get(accounting_url(subject_id), **params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def consent_entry_to(agency) -> str:
    """The ledger entry of the consent naming `agency`."""
    return str(Provision.objects.get(recipient_agencies=[str(agency.id)]).granted_entry_id)


def test_the_ops_reading_the_shelters_case_updates_is_a_disclosure_by_the_shelter(ops, shelter, subject_id):
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    for update in UPDATES:
        assert shelter.post(updates_url(referral_id), update).status_code == 201
    before = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count()

    seen = ops.get(updates_url(referral_id)).json()["results"]

    assert [u["payload"] for u in seen][::2] == [UPDATES[0]["payload"], UPDATES[2]["payload"]]
    assert seen[1]["withheld_categories"] == ["location"]  # her consent to the shelter has no location
    assert LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count() == before + 1
    [row] = accounting(ops, subject_id)
    assert row["suppliers"] == [str(shelter.agency.id)]
    assert (row["recipient"], row["actor"]) == (str(ops.agency.id), f"client:{ops.application.client_id}")
    assert (row["categories"], row["withheld_categories"], row["purpose"]) == (["case_notes"], ["location"], "referral")
    assert row["bases"] == [
        {"category": "case_notes", "basis": "consent", "entry": consent_entry_to(shelter.agency), "reply": True}
    ]
    assert row["about"] == f"referral:{referral_id}"


def test_the_owners_read_of_the_referral_records_the_shelters_status_reason_and_nothing_of_its_own(
    ops, shelter, subject_id
):
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    shelter.get(detail(referral_id))
    shelter.post(transition_url(referral_id), {"status": "received", "reason": "A room from Monday."})

    body = ops.get(detail(referral_id)).json()

    assert (body["status_reason"], body["payload"], body["reason"]) == ("A room from Monday.", PAYLOAD, REASON)
    owners, shelters = accounting(ops, subject_id)
    assert (owners["recipient"], owners["suppliers"], owners["categories"]) == (
        str(ops.agency.id), [str(shelter.agency.id)], ["case_notes"],
    )
    assert owners["about"] == f"referral:{referral_id}" and owners["bases"][0]["reply"] is True
    # The recipient's own read: its entry keeps its shape (the hot path, issue 11).
    assert (shelters["recipient"], shelters["suppliers"], shelters["about"]) == (
        str(shelter.agency.id), [str(ops.agency.id)], None,
    )
    assert all("reply" not in basis for basis in shelters["bases"])


def test_an_owner_reading_only_what_it_wrote_records_nothing(ops, shelter, subject_id):
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    ops.post(updates_url(referral_id), UPDATES[0])

    ops.get(detail(referral_id))
    ops.get(updates_url(referral_id))

    assert accounting(ops, subject_id) == []


# --- every other read where the owner receives another agency's document -------------------------


def owners_latest(owner, subject_id) -> dict:
    rows = [row for row in accounting(owner, subject_id) if row["recipient"] == str(owner.agency.id)]
    assert rows, "the owner's read is not in the accounting"
    return rows[0]


def test_a_plan_led_by_a_team_member_reaches_the_owner_on_the_team_basis(party):
    world = plans_world.World(party)
    basis = world.blue_card_basis()
    plan = plans_world.created(world.school.post(plans_world.PLANS, {
        "subject": str(world.subject.id), "stage": "crisis", "team": str(world.gdp.id),
    }))["id"]
    goal = {"title": "Regular attendance", "category": "education"}
    assert world.school.post(plans_world.goals_url(plan), goal).status_code == 201

    read = world.ops.get(plans_world.plan_url(plan), purpose="team_plan").json()

    assert [g["title"] for g in read["goals"]] == ["Regular attendance"]
    row = owners_latest(world.ops, world.subject.id)
    assert (row["suppliers"], row["categories"], row["about"]) == ([str(world.school.agency.id)], ["education"],
                                                                    f"plan:{plan}")
    assert row["bases"] == [{"category": "education", "basis": "blue_card_procedure",
                             "entry": str(basis.granted_entry_id)}]


def test_the_forms_of_a_blue_card_procedure_reach_the_owner_as_the_members_disclosures(party):
    world = blue_card_world.World(party)
    procedure = world.with_forms()

    assert world.mops.get(blue_card_world.url(procedure)).status_code == 200

    row = owners_latest(world.mops, world.subject.id)
    assert set(row["suppliers"]) == {str(world.police.agency.id), str(world.school.agency.id)}
    assert row["about"] == f"bluecardprocedure:{procedure}"
    assert {b["basis"] for b in row["bases"]} == {"blue_card_procedure"}


def test_the_employers_check_in_reaches_the_coordinating_owner_on_the_reply_basis(party):
    world = placements_world.World(party)
    world.consent(world.hotel)
    placement = world.placement("active")
    check_in = {"month": placements_world.month_text(placements_world.months_ago(1)), "days_worked": 18,
                "days_absent": 2, "employer_feedback": 4}
    assert world.hotel.post(placements_world.check_ins_url(placement), check_in).status_code == 201

    world.cis.get(placements_world.placement_url(placement), purpose="employment_placement")

    row = owners_latest(world.cis, world.subject.id)
    assert (row["suppliers"], row["categories"]) == ([str(world.hotel.agency.id)], ["employment"])
    assert row["about"] == f"placement:{placement}"
    assert [b.get("reply") for b in row["bases"]] == [True]


# --- the person's report: period and recipient ---------------------------------------------------

DAYS = [date(2030, 3, 1) + timedelta(days=n) for n in range(6)]


@pytest.fixture
def dated(ops, shelter, outsider, subject_id):
    """Disclosures at 23:59 UTC on each of DAYS, alternately to the shelter and
    to the outsider (which her consent covers too): [(day, recipient id)]."""
    consent_to = ops.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": {"agencies": [str(outsider.agency.id)]}, "categories": ["identity"], "purposes": ["referral"],
        "form": "written", "grantor": "subject", "evidence_sha256": "ab" * 32,
    })
    assert consent_to.status_code == 201
    subject = Subject.objects.get(pk=subject_id)
    made = []
    for index, day in enumerate(DAYS):
        reader = (shelter, outsider)[index % 2]
        with mock.patch("django.utils.timezone.now", return_value=datetime(*day.timetuple()[:3], 23, 59, tzinfo=UTC)):
            disclose(subject=subject, caller=reader.caller, purpose="referral", document=subject.profile,
                     schema=subject.profile_schema)
        made.append((day, str(reader.agency.id)))
    return made


def test_the_period_is_whole_utc_days_both_ends_included(ops, subject_id, dated):
    rows = accounting(ops, subject_id, **{"from": "2030-03-02", "to": "2030-03-04"})

    assert [row["at"][:10] for row in rows] == ["2030-03-04", "2030-03-03", "2030-03-02"]


def test_one_recipient_and_a_period_together(ops, shelter, subject_id, dated):
    rows = accounting(ops, subject_id, **{"from": "2030-03-02", "recipient": str(shelter.agency.id)})

    assert [(row["at"][:10], row["recipient"]) for row in rows] == [
        ("2030-03-05", str(shelter.agency.id)), ("2030-03-03", str(shelter.agency.id)),
    ]


def test_the_filters_hold_on_every_page_of_the_cursor(ops, outsider, subject_id, dated):
    page = ops.get(accounting_url(subject_id), page_size=1, recipient=str(outsider.agency.id), to="2030-03-05").json()
    seen = page["results"]
    while page["next"]:
        page = ops.client.get(page["next"], **bearer(ops.token)).json()
        seen += page["results"]

    assert [row["at"][:10] for row in seen] == ["2030-03-04", "2030-03-02"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.one_of(st.none(), st.sampled_from(DAYS)), end=st.one_of(st.none(), st.sampled_from(DAYS)),
       to_shelter=st.one_of(st.none(), st.booleans()))
def test_the_report_holds_exactly_the_disclosures_of_its_period_and_recipient(
    ops, shelter, outsider, subject_id, dated, start, end, to_shelter
):
    recipient = None if to_shelter is None else str((shelter if to_shelter else outsider).agency.id)
    entries = disclosure_list_for_subject(Subject.objects.get(pk=subject_id), start=start, end=end,
                                          recipient_id=recipient)

    expected = [
        (day, agency) for day, agency in reversed(dated)
        if (start is None or day >= start) and (end is None or day <= end) and recipient in (None, agency)
    ]
    assert [(e.recorded_at.date(), e.body["recipient"]) for e in entries] == expected


@pytest.mark.parametrize("params, parameters", [
    ({"from": "1 March"}, ["from"]),
    ({"to": "2030-02-30"}, ["to"]),
    ({"from": "2030-03-05", "to": "2030-03-01"}, ["from"]),
    ({"recipient": "shelter"}, ["recipient"]),
    ({"recipient": str(uuid.UUID(int=7))}, ["recipient"]),
    ({"from": "x", "to": "y", "recipient": "z"}, ["from", "to", "recipient"]),
])
def test_a_bad_filter_is_a_422_naming_each_parameter(ops, subject_id, params, parameters):
    response = ops.get(accounting_url(subject_id), **params)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [e["parameter"] for e in response.json()["errors"]] == parameters


def test_a_bad_filter_is_explained_in_polish(ops, subject_id):
    response = ops.client.get(accounting_url(subject_id), {"from": "2030-03-05", "to": "2030-03-01"},
                              **bearer(ops.token), **POLISH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == "Musi przypadać nie później niż to."


def test_the_last_day_there_is_is_a_period_without_an_end(ops, subject_id, dated):
    assert len(accounting(ops, subject_id, **{"from": "0001-01-01", "to": "9999-12-31"})) == len(DAYS)


def test_another_agency_gets_404_whatever_the_filters(shelter, subject_id, dated):
    assert shelter.get(accounting_url(subject_id), **{"from": "nonsense"}).status_code == 404


def queries(owner, subject_id, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = owner.get(accounting_url(subject_id), **params)
    assert response.status_code == 200
    return len(captured)


def test_the_report_costs_the_same_queries_for_3_disclosures_as_for_30(ops, shelter, subject_id):
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    move(shelter, referral_id, "received")
    filters = {"from": "2000-01-01", "recipient": str(shelter.agency.id), "page_size": 50}

    def reads(count):
        for _ in range(count):
            shelter.get(detail(referral_id))

    reads(3)
    few = (queries(ops, subject_id), queries(ops, subject_id, **filters))
    reads(27)
    many = (queries(ops, subject_id), queries(ops, subject_id, **filters))

    assert len(accounting(ops, subject_id, page_size=50)) == 30
    assert many == few
