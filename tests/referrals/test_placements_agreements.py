"""Partnership agreements (issue 9 item 1): who records them, with whom, and
the places they offer: a proposal beyond them is a 409 that says why, and a
place comes free when a placement is declined, withdrawn or ends."""

import uuid

import pytest

from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.placements import services
from referrals.placements.models import Placement, PlacementAgreement
from tests.referrals.placements_world import (
    AGREEMENTS,
    PLACEMENTS,
    SCOPES,
    World,
    created,
    months_ago,
    ok,
    transition_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.consent(world.hotel)
    return world


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    if code is not None:
        assert response.json()["code"] == code, response.json()
    return response.json()


def agreement_body(world, **changes) -> dict:
    return {"employer": str(world.hotel.agency.id), "roles": ["reception"], "places": 1,
            "valid_from": months_ago(1).isoformat(), "valid_until": months_ago(-11).isoformat(), **changes}


@pytest.mark.parametrize("kind", services.COORDINATING_KINDS)
def test_each_coordinating_kind_records_an_agreement_with_an_employer(world, party, kind):
    coordinating = party(f"Koordynator {kind}", kind, scopes=SCOPES)

    agreement = created(coordinating.post(AGREEMENTS, agreement_body(world), HTTP_IDEMPOTENCY_KEY="a-1"))

    assert agreement["coordinating_agency"] == str(coordinating.agency.id)
    assert agreement["employer"] == str(world.hotel.agency.id)
    assert (agreement["roles"], agreement["places"], agreement["in_use"]) == (["reception"], 1, 0)


@pytest.mark.parametrize("kind", ["employer", "police", "school", "shelter", "health"])
def test_another_kind_of_agency_is_refused_with_422_and_nothing_is_recorded(world, party, kind):
    other = party(f"Agencja {kind}", kind, scopes=SCOPES)

    problem = assert_problem(other.post(AGREEMENTS, agreement_body(world)), 422, services.NOT_A_COORDINATING_AGENCY)

    assert problem["errors"][0]["pointer"] == ""
    assert not PlacementAgreement.objects.exists()


BAD_AGREEMENTS = {
    "unknown employer": ({"employer": str(uuid.uuid4())}, "/employer"),
    "an ops agency as employer": ({"employer": "ops"}, "/employer"),
    "ends before it starts": ({"valid_until": months_ago(2).isoformat()}, "/valid_until"),
    "no roles": ({"roles": []}, "/roles"),
    "a blank role": ({"roles": ["reception", "  "]}, "/roles/1"),
    "a role twice": ({"roles": ["reception", "reception"]}, "/roles/1"),
    "no places": ({"places": 0}, "/places"),
    "places not a number": ({"places": "many"}, "/places"),
}


@pytest.mark.parametrize("case", list(BAD_AGREEMENTS), ids=list(BAD_AGREEMENTS))
def test_a_bad_agreement_is_a_422_with_a_pointer(world, party, case):
    changes, pointer = BAD_AGREEMENTS[case]
    if changes.get("employer") == "ops":
        changes = {"employer": str(party("MOPS Wrocław", "ops").agency.id)}

    problem = assert_problem(world.cis.post(AGREEMENTS, agreement_body(world, **changes)), 422)

    assert pointer in {e["pointer"] for e in problem["errors"]}, problem
    assert not PlacementAgreement.objects.exists()


def test_both_parties_see_the_agreement_with_its_places_in_use_and_no_one_else(world):
    agreement_id = world.agreement(places=2)
    world.placement("active", agreement_id=agreement_id)

    for party in (world.cis, world.hotel):
        shown = ok(party.get(f"{AGREEMENTS}{agreement_id}"))
        assert (shown["places"], shown["in_use"]) == (2, 1)
        assert [a["id"] for a in ok(party.get(AGREEMENTS))["results"]] == [agreement_id]
    for stranger in (world.bakery, world.outsider):
        assert_problem(stranger.get(f"{AGREEMENTS}{agreement_id}"), 404, "not_found")
        assert ok(stranger.get(AGREEMENTS))["results"] == []


def test_a_proposal_beyond_the_places_is_409_saying_how_many_there_are_and_are_in_use(world):
    agreement_id = world.agreement(places=2)
    world.placement("proposed", agreement_id=agreement_id)
    world.placement("active", agreement_id=agreement_id)
    placements = Placement.objects.count()

    problem = assert_problem(world.propose(agreement_id), 409, services.AGREEMENT_FULL)

    assert (problem["places"], problem["in_use"], problem["agreement"]) == (2, 2, agreement_id)
    assert problem["detail"].startswith("The agreement is full: 2 of its 2 places")
    assert Placement.objects.count() == placements


@pytest.mark.parametrize("ending", ["declined", "withdrawn", "completed", "ended_early"])
def test_a_placement_that_no_longer_holds_its_place_frees_it(world, ending):
    agreement_id = world.agreement(places=1)
    world.placement(ending, agreement_id=agreement_id)

    created(world.propose(agreement_id))

    assert_problem(world.propose(agreement_id), 409, services.AGREEMENT_FULL)


def test_a_placement_is_possible_only_under_an_agreement_in_force_on_its_start(world):
    agreement_id = world.agreement(valid_from=months_ago(1), valid_until=months_ago(-1))

    too_early = assert_problem(world.propose(agreement_id, start_on=months_ago(2).isoformat()), 422)
    too_late = assert_problem(world.propose(agreement_id, start_on=months_ago(-2).isoformat()), 422)

    assert [e["pointer"] for e in too_early["errors"]] == [e["pointer"] for e in too_late["errors"]] == ["/start_on"]
    created(world.propose(agreement_id, start_on=months_ago(1).isoformat()))


def test_only_the_agreements_own_coordinating_agency_places_under_it(world, party):
    other_cis = party("CIS Opole", "cis", scopes=SCOPES)
    agreement_id = world.agreement()
    subject = created(other_cis.post("/api/v1/subjects/", {"external_ref": "O/1", "profile": {}}))["id"]

    problem = assert_problem(other_cis.post(PLACEMENTS, {**world.proposal(agreement_id), "subject": subject}), 422)

    assert "/agreement" in {e["pointer"] for e in problem["errors"]}


def test_an_employer_with_no_free_place_confirms_what_it_already_has(world):
    agreement_id = world.agreement(places=1)
    placement_id = world.placement("proposed", agreement_id=agreement_id)

    assert ok(world.hotel.post(transition_url(placement_id), {"status": "confirmed"}))["status"] == "confirmed"
