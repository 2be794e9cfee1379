"""The Blue Card procedure through the API (DESIGN.md 6.2; issue 8 items 2-3):
opening from an NK-A, steps with their working-day deadlines, the statutory
basis in the ledger, what each member may read, closure, the overview."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.models import OutboxEvent
from consent_ledger.models import EntryKind, LedgerEntry
from referrals.blue_card import rules
from referrals.blue_card.models import BlueCardPerpetratorRecord, BlueCardProcedure, BlueCardStep
from referrals.working_days import add_working_days, today_in_poland

from .blue_card_world import (
    BLUE_CARDS,
    NKA_DUE,
    NKC,
    NKD,
    NKD_WORDS,
    World,
    blue_card_bases,
    iso,
    recently,
    url,
    written,
)


@pytest.fixture
def world(party) -> World:
    return World(party)


def nkd_leaked(document) -> set[str]:
    text = json.dumps(document, ensure_ascii=False, default=str)
    return {word for word in NKD_WORDS if word in text}


# --- Opening -----------------------------------------------------------------------------------


def test_the_police_opens_a_procedure_and_gets_its_first_deadline_in_working_days(world):
    opened = world.police.post(BLUE_CARDS, world.nka())

    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["status"] == "open"
    # 23 December 2025 + 5 working days: 24-26 December and 1 January are holidays.
    assert body["deadlines"] == [
        {"step": "nka_to_chair", "due": NKA_DUE, "met_at": None, "overdue": True, "met_in_time": False}
    ]
    assert opened["Location"] == url(body["id"])
    procedure = BlueCardProcedure.objects.get(pk=body["id"])
    assert (procedure.opened_by_id, procedure.team_id, procedure.opened_by_kind) == (
        world.police.agency.id, world.zi.id, "police"
    )
    event = OutboxEvent.objects.get(type="blue_card.opened", object_id=procedure.id)
    assert set(event.agencies) == {str(a.agency.id) for a in (world.mops, world.police, world.school, world.ngo)}
    assert "Anna" not in json.dumps(event.as_message())


def test_opening_asserts_the_zi_basis_for_the_owner_to_see_and_the_gdp_adds_its_own(world):
    procedure_id = world.open()

    [zi_basis] = blue_card_bases(world.mops, world.subject.id)
    assert zi_basis["recipients"]["teams"] == [str(world.zi.id)]
    assert zi_basis["recipients"]["agencies"] == [] and zi_basis["recipients"]["agency_kinds"] == []
    assert zi_basis["purposes"] == ["case_coordination", "team_plan"]
    assert set(zi_basis["categories"]) == set(rules.ZI_BASIS_CATEGORIES)
    assert "perpetrator" not in zi_basis["categories"]
    # The statute grants it, not the owner: the police, a non-owner, recorded it.
    assert zi_basis["recorded_by"] == str(world.police.agency.id)
    assert zi_basis["reference"] == f"blue_card:{procedure_id}"

    world.up_to_gdp(procedure_id)

    bases = {b["recipients"]["teams"][0]: b for b in blue_card_bases(world.mops, world.subject.id)}
    assert set(bases) == {str(world.zi.id), str(world.gdp.id)}
    assert set(bases[str(world.gdp.id)]["categories"]) == set(rules.BASIS_CATEGORIES)
    assert bases[str(world.gdp.id)]["recorded_by"] == str(world.mops.agency.id)


def test_closure_ends_every_basis_the_procedure_asserted(world):
    procedure_id = world.with_forms()
    assert len(blue_card_bases(world.mops, world.subject.id)) == 2

    closed = world.mops.post(url(procedure_id, "/close"), {"ground": "violence_ceased", "at": recently(0.5)})

    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"
    assert blue_card_bases(world.mops, world.subject.id) == []
    ended = LedgerEntry.objects.filter(kind=EntryKind.LEGAL_BASIS_ENDED, subject=world.subject)
    assert ended.count() == 2
    assert set(ended.values_list("recorded_by", flat=True)) == {world.mops.agency.id}
    assert OutboxEvent.objects.filter(type="blue_card.closed", object_id=procedure_id).count() == 1


# --- Steps and deadlines -------------------------------------------------------------------------


def test_each_step_meets_its_deadline_and_starts_the_next_one(world):
    procedure_id = world.open()
    # The chair got the NK-A on Friday 2 January 2026, in time (due 5 January).
    world.record(world.mops, procedure_id, "nka_to_chair", at="2026-01-02T08:00:00+01:00")
    # The GDP formed on Thursday 8 January: 3 working days from 2 January end on
    # Thursday 8 January (6 January is Epiphany).
    world.record(world.mops, procedure_id, "gdp_formed", at="2026-01-08T12:00:00+01:00", gdp=str(world.gdp.id))
    # The first meeting on Monday 19 January: late (due Thursday 15 January).
    meeting = world.record(world.school, procedure_id, "gdp_meeting", at="2026-01-19T09:00:00+01:00")

    assert meeting["step"] == "gdp_meeting" and meeting["procedure"] == procedure_id
    assert [(d["step"], d["due"], d["met_in_time"], d["overdue"]) for d in meeting["deadlines"]] == [
        ("nka_to_chair", NKA_DUE, True, False),
        ("gdp_formed", "2026-01-08", True, False),
        ("gdp_meeting", "2026-01-15", False, False),
    ]
    # A second meeting does not move the first one's deadline.
    world.record(world.school, procedure_id, "gdp_meeting", at="2026-02-02T09:00:00+01:00")
    detail = world.school.get(url(procedure_id)).json()
    assert detail["deadlines"][2]["met_at"] == "2026-01-19T08:00:00Z"
    assert [s["step"] for s in detail["steps"]] == ["nka_to_chair", "gdp_formed", "gdp_meeting", "gdp_meeting"]


def test_deadline_lengths_are_settings(world, settings):
    settings.BLUE_CARD_DEADLINE_WORKING_DAYS = {**settings.BLUE_CARD_DEADLINE_WORKING_DAYS, "nka_to_chair": 1}

    opened = world.police.post(BLUE_CARDS, world.nka())

    assert opened.json()["deadlines"][0]["due"] == "2025-12-29"  # the first working day after 23 December


def test_a_deadline_still_running_is_neither_overdue_nor_decided(world):
    procedure_id = world.open(opened_at=recently(0.1))
    due = add_working_days(today_in_poland(), 5).isoformat()

    [deadline] = world.police.get(url(procedure_id)).json()["deadlines"]

    assert deadline == {"step": "nka_to_chair", "due": due, "met_at": None, "overdue": False, "met_in_time": None}


def test_monitoring_follows_closure(world):
    procedure_id = world.open()
    world.record(world.mops, procedure_id, "nka_to_chair")
    early = world.step(world.mops, procedure_id, "monitoring")
    assert early.status_code == 409 and early.json()["code"] == "blue_card_step_out_of_order"

    closed = world.mops.post(url(procedure_id, "/close"), {"ground": "groundless", "at": recently(0.5)})
    assert closed.status_code == 200, closed.content
    world.record(world.mops, procedure_id, "monitoring", at=recently(0.2))

    late = world.step(world.mops, procedure_id, "gdp_formed", gdp=str(world.gdp.id))
    assert late.status_code == 409 and late.json()["code"] == "blue_card_closed"
    # The GDP deadline that had not fallen due no longer runs; nothing is overdue on a closed procedure.
    assert all(not d["overdue"] for d in closed.json()["deadlines"])


# --- What each member reads -------------------------------------------------------------------------


def test_a_gdp_member_reads_the_forms_through_the_choke_point_under_the_blue_card_basis(world):
    procedure_id = world.with_forms()

    read = world.school.get(url(procedure_id))

    assert read.status_code == 200, read.content
    body = read.json()
    assert body["nka"] == {"forms_of_violence": ["physical", "psychological"], "children_in_household": 2}
    nkc, nkd = (s for s in body["steps"] if s["step"] in ("nkc", "nkd"))
    assert nkc["content"] == NKC  # the school wrote it: given back as written
    assert nkd["content"] == NKD  # the GDP's basis covers the person suspected
    assert body["withheld_categories"] == []
    entry = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE, recorded_by=world.school.agency).latest("seq")
    assert entry.body["purpose"] == "team_plan"
    assert {b["basis"] for b in entry.body["bases"]} == {"blue_card_procedure"}
    assert "perpetrator" in entry.body["categories"]
    # The owner's accounting shows the read and its basis.
    accounting = world.mops.get(f"/api/v1/subjects/{world.subject.id}/disclosures/").json()["results"]
    assert any(
        a["recipient"] == str(world.school.agency.id) and {b["basis"] for b in a["bases"]} == {"blue_card_procedure"}
        for a in accounting
    )


def test_a_zi_member_outside_the_gdp_reads_the_procedure_without_the_nkd(world):
    procedure_id = world.with_forms()

    read = world.ngo.get(url(procedure_id))

    assert read.status_code == 200, read.content
    body = read.json()
    assert body["nka"]["children_in_household"] == 2
    assert next(s for s in body["steps"] if s["step"] == "nkc")["content"] == NKC
    nkd = next(s for s in body["steps"] if s["step"] == "nkd")
    assert nkd["content"] == {} and nkd["withheld_categories"] == ["perpetrator"]
    assert body["withheld_categories"] == ["perpetrator"]
    assert nkd_leaked(body) == set()
    entry = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE, recorded_by=world.ngo.agency).latest("seq")
    assert "perpetrator" in entry.body["withheld_categories"] and "perpetrator" not in entry.body["categories"]


def test_after_closure_no_agency_without_a_basis_sees_the_nkd(world):
    procedure_id = world.with_forms()
    closed = world.mops.post(url(procedure_id, "/close"), {"ground": "violence_ceased", "at": recently(0.5)})
    assert closed.status_code == 200, closed.content

    for reader in (world.school, world.ngo, world.mops):
        body = reader.get(url(procedure_id)).json()
        assert nkd_leaked(body) == set(), reader.agency.name
        assert "perpetrator" in body["withheld_categories"]
    # The police wrote the NK-D: it keeps its own form.
    assert nkd_leaked(world.police.get(url(procedure_id)).json()) == NKD_WORDS


def test_the_nkd_is_stored_apart_from_the_victims_data(world):
    procedure_id = world.with_forms()

    nkd_step = BlueCardStep.objects.get(procedure_id=procedure_id, step="nkd")
    assert nkd_step.content is None
    assert BlueCardPerpetratorRecord.objects.get(step=nkd_step).document == NKD
    assert not nkd_leaked(list(BlueCardProcedure.objects.filter(pk=procedure_id).values()))


def test_lists_show_metadata_only_with_filters_in_a_fixed_number_of_queries(world):
    overdue_id = world.open()  # its NK-A deadline passed unmet

    with CaptureQueriesContext(connection) as queries:
        listed = world.ngo.get(BLUE_CARDS)
    assert listed.status_code == 200, listed.content
    [row] = listed.json()["results"]
    assert row["id"] == overdue_id
    assert "nka" not in row and "forms_of_violence" not in row and "children_in_household" not in row
    assert len(queries) <= 8, [q["sql"] for q in queries]

    assert [r["id"] for r in world.ngo.get(BLUE_CARDS, overdue="true").json()["results"]] == [overdue_id]
    assert [r["id"] for r in world.ngo.get(BLUE_CARDS, team=str(world.zi.id)).json()["results"]] == [overdue_id]
    assert world.ngo.get(BLUE_CARDS, team=str(world.gdp.id)).json()["results"] == []
    assert world.school.get(BLUE_CARDS, status="closed").json()["results"] == []
    bad = world.ngo.get(BLUE_CARDS, overdue="yes")
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "overdue"


# --- The overview and the ZI's meetings -----------------------------------------------------------


def test_the_overview_lists_open_procedures_with_their_next_deadline_and_the_share_met(world, party):
    late = world.open(opened_at=iso(timezone.now() - timedelta(days=40)))
    world.record(world.mops, late, "nka_to_chair", at=iso(timezone.now() - timedelta(days=39)))  # in time
    # the gdp_formed deadline (3 working days) passed unmet: missed

    meeting_at = timezone.now() - timedelta(days=100)
    recorded = world.mops.post(f"/api/v1/teams/{world.zi.id}/zi-meetings/", {"at": iso(meeting_at)})
    assert recorded.status_code == 201, recorded.content

    overview = world.ngo.get(f"/api/v1/teams/{world.zi.id}/blue-cards/overview")

    assert overview.status_code == 200, overview.content
    body = overview.json()
    [open_one] = body["open_procedures"]
    assert open_one["id"] == late and open_one["next_deadline"]["step"] == "gdp_formed"
    assert open_one["next_deadline"]["overdue"] is True
    record = body["deadlines_last_12_months"]
    assert (record["decided"], record["met_in_time"], record["share_met"]) == (2, 1, 0.5)
    # Last met about 100 days ago, more than 3 months: the ZI is due to meet.
    assert body["zi_meetings"]["overdue"] is True
    assert body["zi_meetings"]["last_at"] is not None
    # A GDP's overview has no ZI meetings; a member of another ZI gets a 404.
    assert world.school.get(f"/api/v1/teams/{world.gdp.id}/blue-cards/overview").json()["zi_meetings"] is None
    assert world.outsider.get(f"/api/v1/teams/{world.zi.id}/blue-cards/overview").status_code == 404


def test_only_the_chair_records_the_zis_meetings(world):
    refused = world.ngo.post(f"/api/v1/teams/{world.zi.id}/zi-meetings/", {"at": recently()})

    assert refused.status_code == 403 and refused.json()["code"] == "blue_card_not_permitted"


# --- Idempotency and concurrency of opening --------------------------------------------------------


def test_an_idempotent_open_creates_one_procedure(world):
    first = world.police.post(BLUE_CARDS, world.nka(), HTTP_IDEMPOTENCY_KEY="nka-1")
    again = world.police.post(BLUE_CARDS, world.nka(), HTTP_IDEMPOTENCY_KEY="nka-1")

    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert BlueCardProcedure.objects.count() == 1


def test_a_second_nka_while_a_procedure_runs_joins_it(world):
    procedure_id = world.open()
    before = written()

    second = world.mops.post(BLUE_CARDS, world.nka(opened_by_kind="ops"))

    assert second.status_code == 409
    assert second.json()["code"] == "blue_card_already_open" and second.json()["procedure"] == procedure_id
    assert written() == before


def test_deadline_settings_that_cannot_be_computed_stop_the_hub(settings):
    from referrals.blue_card.checks import blue_card_settings

    settings.BLUE_CARD_DEADLINE_WORKING_DAYS = {"nka_to_chair": 5}
    assert [e.id for e in blue_card_settings(None)] == ["referrals.E001"]
    settings.BLUE_CARD_DEADLINE_WORKING_DAYS = {"nka_to_chair": 5, "gdp_formed": -3, "gdp_meeting": 5}
    assert [e.id for e in blue_card_settings(None)] == ["referrals.E002"]
    settings.BLUE_CARD_DEADLINE_WORKING_DAYS = {"nka_to_chair": 5, "gdp_formed": 3, "gdp_meeting": 5}
    assert blue_card_settings(None) == []
