"""Placements through the API (DESIGN.md 4.6, 6.2; issue 9 items 2, 4, 6):
the proposal's basis check, what each side reads through the choke point,
who takes which step, ETags, idempotent creates, thin events and the
metadata list with a constant query count."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import OutboxEvent
from agencies.services import user_create
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import consent_revoke
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.placements import lifecycle, services
from referrals.placements.models import Placement, PlacementTransition
from referrals.services import UNCOVERED_CATEGORIES
from tests.referrals.conftest import leaked
from tests.referrals.placements_world import (
    IDENTITY_AND_CONTACT,
    NEVER_FOR_EMPLOYERS,
    PLACEMENTS,
    PROFILE,
    SCOPES,
    World,
    check_ins_url,
    created,
    month_text,
    months_ago,
    ok,
    placement_url,
    snapshot,
    transition_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(party) -> World:
    return World(party)


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    if code is not None:
        assert response.json()["code"] == code, response.json()
    return response.json()


def disclosures() -> list[dict]:
    return [e.body for e in LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).order_by("seq")]


# --- The proposal's basis check -------------------------------------------------------------


def test_without_a_basis_for_the_employer_the_owner_is_told_each_missing_category_at_its_pointer(world):
    world.consent(world.hotel, ["identity"])  # contact and employment are missing
    agreement_id = world.agreement()

    problem = assert_problem(world.propose(agreement_id), 422, UNCOVERED_CATEGORIES)

    by_pointer = {e["pointer"]: e["categories"] for e in problem["errors"]}
    assert by_pointer == {
        "/subject/profile/contact": ["contact"],
        "/role": ["employment"], "/hours_per_week": ["employment"], "/start_on": ["employment"],
        "/planned_end_on": ["employment"],
    }
    assert not Placement.objects.exists() and not OutboxEvent.objects.exists()


def test_a_consent_for_another_purpose_is_no_basis_for_the_placement(world):
    world.consent(world.hotel, purposes=["referral"])

    problem = assert_problem(world.propose(world.agreement()), 422, UNCOVERED_CATEGORIES)

    assert {c for e in problem["errors"] for c in e["categories"]} == {"identity", "contact", "employment"}


def test_a_coordinating_agency_that_does_not_own_the_person_is_never_told_the_employers_bases(world, party):
    """An NGO with Halina's consent coordinates her placement: whether the
    hotel holds a basis is the CIS's record, so the NGO's proposal is not
    refused for it; the hotel then gets only what the choke point releases."""
    ngo = party("Fundacja Aktywizacja", "ngo", scopes=SCOPES)
    world.consent(ngo, ["identity", "contact", "employment"], purposes=["employment_placement", "referral"])
    coordinator = user_create(agency=ngo.agency, username="ngo-koord", password="correct horse battery 9",
                              role="coordinator")
    agreement_id = created(ngo.post("/api/v1/placement-agreements/", {
        "employer": str(world.hotel.agency.id), "roles": ["reception"], "places": 1,
        "valid_from": months_ago(3).isoformat(), "valid_until": months_ago(-3).isoformat(),
    }))["id"]

    proposed = ngo.post(PLACEMENTS, {**world.proposal(agreement_id), "coordinator": coordinator.id,
                                     "role": "reception"})

    placement_id = created(proposed)["id"]
    body = ok(world.hotel.get(placement_url(placement_id)))
    assert body["subject"]["profile"] == {} and body["employment"] == {}
    assert body["subject"]["withheld_categories"] == ["contact", "identity"]
    assert body["withheld_categories"] == ["employment"]


def test_a_person_the_coordinating_agency_may_not_see_is_404_like_a_missing_one(world, party):
    stranger = party("CIS Opole", "cis", scopes=SCOPES)
    coordinator = user_create(agency=stranger.agency, username="opole", password="correct horse battery 9",
                              role="coordinator")
    agreement_id = created(stranger.post("/api/v1/placement-agreements/", {
        "employer": str(world.hotel.agency.id), "roles": ["kitchen assistant"], "places": 1,
        "valid_from": months_ago(3).isoformat(), "valid_until": months_ago(-3).isoformat(),
    }))["id"]
    body = {**world.proposal(agreement_id), "coordinator": coordinator.id}

    known = stranger.post(PLACEMENTS, body)
    unknown = stranger.post(PLACEMENTS, {**body, "subject": str(uuid.uuid4())})

    assert known.status_code == unknown.status_code == 404
    assert known.json()["detail"] == unknown.json()["detail"]
    assert not Placement.objects.exists()


# --- Reading -----------------------------------------------------------------------------------


def test_the_employer_reads_identity_contact_and_employment_whatever_else_she_consented_to(world):
    world.consent(world.hotel, ["identity", "contact", "employment", "safe_contact", "demographics", "case_notes",
                                "mental_health"])
    placement_id = world.placement("active")
    created(world.cis.post(check_ins_url(placement_id), {"month": month_text(months_ago(2)),
                                                         "coordinator_notes": "Flashbacks at night.", "who5": [1] * 5}))
    before = len(disclosures())

    response = world.hotel.get(placement_url(placement_id), purpose="employment_placement")

    body = ok(response)
    assert set(body["subject"]["profile"]) == {"person", "contact"}
    assert not leaked(NEVER_FOR_EMPLOYERS | {"Flashbacks at night."}, body)
    assert body["check_ins"] == [] and "therapist" not in body and "follow_up" not in body
    assert response["ETag"] == Placement.objects.get(pk=placement_id).etag
    entries = disclosures()
    assert len(entries) == before + 1
    assert entries[-1]["categories"] == ["contact", "employment", "identity"]
    assert entries[-1]["withheld_categories"] == []
    assert {d["schema"].rsplit("/", 2)[1] for d in entries[-1]["documents"]} == {"subject", "placement-employment"}


def test_the_coordinating_owner_reads_everything_it_wrote_without_a_disclosure_entry(world):
    world.consent(world.hotel)
    placement_id = world.placement("active", therapist={"agency": str(world.outsider.agency.id)})
    created(world.cis.post(check_ins_url(placement_id), {"month": month_text(months_ago(2)),
                                                         "coordinator_notes": "Settling in."}))
    before = len(disclosures())

    body = ok(world.cis.get(placement_url(placement_id)))

    assert body["subject"]["profile"] == PROFILE
    assert body["employment"]["role"] == "kitchen assistant"
    assert body["therapist"] == {"agency": str(world.outsider.agency.id)} and body["follow_up"] is None
    assert [c["coordinator_notes"] for c in body["check_ins"]] == ["Settling in."]
    assert len(disclosures()) == before


def test_after_the_consent_is_revoked_the_employer_still_sees_its_placement_but_no_person_data(world):
    consent = world.consent(world.hotel)
    placement_id = world.placement("confirmed")

    consent_revoke(caller=world.cis.caller, consent_id=consent.id)
    body = ok(world.hotel.get(placement_url(placement_id)))

    assert body["status"] == "confirmed"
    assert body["subject"]["profile"] == {} and body["employment"] == {}
    assert not leaked(IDENTITY_AND_CONTACT | {"kitchen assistant"}, body)


def test_a_purpose_other_than_employment_placement_is_refused(world):
    world.consent(world.hotel)
    placement_id = world.placement()

    problem = assert_problem(world.hotel.get(placement_url(placement_id), purpose="referral"), 422)

    assert problem["errors"][0]["parameter"] == "purpose"


# --- Who takes which step ---------------------------------------------------------------------


STEPS = [
    ("proposed", "employer", "confirmed"), ("proposed", "employer", "declined"),
    ("proposed", "coordinator", "withdrawn"), ("confirmed", "coordinator", "withdrawn"),
    ("confirmed", "coordinator", "active"), ("active", "coordinator", "completed"),
    ("active", "coordinator", "ended_early"), ("active", "employer", "ended_early"),
]
REASON = {"declined": "role_filled", "ended_early": "person_withdrew"}


@pytest.mark.parametrize("start, side, to", STEPS)
def test_each_side_takes_its_own_steps_and_gets_409_with_what_it_may_do_for_the_others(world, start, side, to):
    world.consent(world.hotel)
    placement_id = world.placement(start)
    mover, other = (world.hotel, world.cis) if side == "employer" else (world.cis, world.hotel)
    body = {"status": to, **({"reason": REASON[to]} if to in REASON else {})}

    if (start, to) != ("active", "ended_early"):  # either side ends a placement early
        refused = assert_problem(other.post(transition_url(placement_id), body), 409, lifecycle.NOT_YOUR_STEP)
        assert refused["current_status"] == start
        assert to not in refused["allowed"]

    moved = ok(mover.post(transition_url(placement_id), body))
    assert moved["status"] == to and moved["status_reason"] == REASON.get(to, "")
    assert moved["version"] == Placement.objects.get(pk=placement_id).version
    assert PlacementTransition.objects.filter(placement_id=placement_id, to_status=to).count() == 1


def test_a_final_placement_does_not_move_409_with_nothing_allowed(world):
    world.consent(world.hotel)
    placement_id = world.placement("declined")

    problem = assert_problem(world.cis.post(transition_url(placement_id), {"status": "active"}), 409,
                             lifecycle.PLACEMENT_FINAL)

    assert problem["allowed"] == [] and problem["current_status"] == "declined"


def test_a_proposal_cannot_skip_the_employers_confirmation(world):
    world.consent(world.hotel)
    placement_id = world.placement()

    problem = assert_problem(world.cis.post(transition_url(placement_id), {"status": "active"}), 409,
                             lifecycle.ILLEGAL_TRANSITION)

    assert problem["allowed"] == ["withdrawn"]


def test_declining_and_ending_early_need_a_reason_code(world):
    world.consent(world.hotel)
    proposed, active = world.placement(), world.placement("active")

    for placement_id, to in ((proposed, "declined"), (active, "ended_early")):
        problem = assert_problem(world.hotel.post(transition_url(placement_id), {"status": to}), 422)
        assert [e["pointer"] for e in problem["errors"]] == ["/reason"]
        problem = assert_problem(world.hotel.post(transition_url(placement_id), {"status": to, "reason": "health"}),
                                 422)
        assert [e["pointer"] for e in problem["errors"]] == ["/reason"]  # no code tells why she is in the programme


def test_ending_records_the_last_day_not_before_the_start_nor_in_the_future(world):
    world.consent(world.hotel)
    placement_id = world.placement("active")
    start = months_ago(2)

    for day in (start - timedelta(days=1), months_ago(-1)):
        problem = assert_problem(world.cis.post(transition_url(placement_id), {
            "status": "completed", "ended_on": day.isoformat()}), 422)
        assert [e["pointer"] for e in problem["errors"]] == ["/ended_on"]
    ended = ok(world.cis.post(transition_url(placement_id),
                              {"status": "completed", "ended_on": months_ago(1).isoformat()}))

    assert Placement.objects.get(pk=ended["id"]).ended_on == months_ago(1)


def test_a_stale_etag_is_412_and_the_placement_does_not_move(world):
    world.consent(world.hotel)
    placement_id = world.placement()
    etag = world.hotel.get(placement_url(placement_id))["ETag"]
    ok(world.cis.post(transition_url(placement_id), {"status": "withdrawn"}, HTTP_IF_MATCH=etag))

    stale = world.hotel.post(transition_url(placement_id), {"status": "confirmed"}, HTTP_IF_MATCH=etag)

    problem = assert_problem(stale, 412, "precondition_failed")
    assert problem["current_etag"] == Placement.objects.get(pk=placement_id).etag
    assert Placement.objects.get(pk=placement_id).status == "withdrawn"


# --- Creating --------------------------------------------------------------------------------


def test_proposing_is_idempotent(world):
    world.consent(world.hotel)
    body = world.proposal(world.agreement())

    first = world.cis.post(PLACEMENTS, body, HTTP_IDEMPOTENCY_KEY="p-1")
    again = world.cis.post(PLACEMENTS, body, HTTP_IDEMPOTENCY_KEY="p-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert first["Location"] == placement_url(first.json()["id"]) and first["ETag"] == again["ETag"]
    assert Placement.objects.count() == 1


def test_the_planned_end_defaults_to_the_setting_and_may_be_given(world, settings):
    world.consent(world.hotel)
    agreement_id = world.agreement(places=3)
    settings.PLACEMENT_DEFAULT_MONTHS = 6

    start = months_ago(1).replace(day=15)
    end = months_ago(-1).replace(day=10)

    default = Placement.objects.get(pk=created(world.propose(agreement_id, start_on=start.isoformat()))["id"])
    given = Placement.objects.get(pk=created(world.propose(agreement_id, planned_end_on=end.isoformat()))["id"])

    assert default.planned_end_on == months_ago(-5).replace(day=14)  # six months, to the day before
    assert given.planned_end_on == end


# --- Events ----------------------------------------------------------------------------------


def test_every_status_change_is_a_thin_event_to_both_parties(world):
    world.consent(world.hotel)
    ended = world.placement("ended_early")
    withdrawn = world.placement("withdrawn")

    for placement_id, expected in ((ended, ["proposed", "confirmed", "activated", "ended_early"]),
                                   (withdrawn, ["proposed", "withdrawn"])):
        events = list(OutboxEvent.objects.filter(object_id=placement_id).order_by("seq"))
        assert [e.type for e in events] == [f"placement.{t}" for t in expected]
        assert [e.data["version"] for e in events] == list(range(1, len(events) + 1))
        for event in events:
            message = event.as_message()
            assert set(message["agencies"]) == {str(world.cis.agency.id), str(world.hotel.agency.id)}
            assert set(message["data"]) <= {"version", "agreement", "reason"}
            assert not leaked(IDENTITY_AND_CONTACT | NEVER_FOR_EMPLOYERS | {"kitchen assistant"}, message)
            assert str(world.subject.id) not in str(message)
    assert events[-1].data == {"version": 2}
    assert OutboxEvent.objects.filter(object_id=ended, type="placement.ended_early").get().data["reason"] == "attendance"


def test_every_event_type_is_in_the_vocabulary(settings):
    emitted = {services.EVENT_PROPOSED, *services.EVENT_OF_STATUS.values(), services.EVENT_OUTCOME_RECORDED,
               services.EVENT_CHECK_IN_RECORDED, services.EVENT_CHECK_IN_DUE, services.EVENT_FOLLOWED_UP}

    assert emitted <= set(settings.EVENT_TYPES)


# --- The list --------------------------------------------------------------------------------


def test_the_list_shows_each_party_metadata_of_its_own_placements_only(world):
    world.consent(world.hotel)
    world.consent(world.bakery)
    at_hotel = world.placement("active")
    at_bakery = world.placement(employer=world.bakery)

    assert {p["id"] for p in ok(world.cis.get(PLACEMENTS))["results"]} == {at_hotel, at_bakery}
    (listed,) = ok(world.hotel.get(PLACEMENTS))["results"]
    assert listed["id"] == at_hotel
    assert set(listed) == {
        "id", "subject", "coordinating_agency", "employer", "agreement", "coordinator", "status", "status_reason",
        "version", "etag", "created_at", "updated_at", "confirmed_at", "declined_at", "withdrawn_at", "activated_at",
        "ended_at", "outcome_recorded_at",
    }
    assert [p["id"] for p in ok(world.bakery.get(PLACEMENTS))["results"]] == [at_bakery]
    assert ok(world.outsider.get(PLACEMENTS))["results"] == []
    assert [p["id"] for p in ok(world.cis.get(PLACEMENTS, status="active"))["results"]] == [at_hotel]
    assert_problem(world.cis.get(PLACEMENTS, status="limbo"), 422)
    assert_problem(world.cis.get(PLACEMENTS, agreement="not-a-uuid"), 422)


def test_the_list_query_count_does_not_grow_with_the_number_of_placements(world, django_assert_max_num_queries):
    world.consent(world.hotel)
    agreement_id = world.agreement(places=20)

    def list_queries(party):
        with CaptureQueriesContext(connection) as queries:
            response = party.get(PLACEMENTS, page_size=50)
        return len(queries), len(ok(response)["results"])

    for _ in range(2):
        world.placement("active", agreement_id=agreement_id)
    few = {party: list_queries(party) for party in (world.cis, world.hotel)}
    for _ in range(8):
        world.placement("confirmed", agreement_id=agreement_id)
    many = {party: list_queries(party) for party in (world.cis, world.hotel)}

    for party in (world.cis, world.hotel):
        assert (few[party][1], many[party][1]) == (2, 10)
        assert many[party][0] == few[party][0]
        with django_assert_max_num_queries(few[party][0]):
            party.get(PLACEMENTS, page_size=50)


def test_a_snapshot_helper_sees_what_a_transition_changes(world):
    # Guards the tenancy and bad-input tests: their "nothing written" relies on it.
    world.consent(world.hotel)
    placement_id = world.placement()
    before = snapshot(placement_id)

    ok(world.hotel.post(transition_url(placement_id), {"status": "confirmed"}))

    assert snapshot(placement_id) != before
