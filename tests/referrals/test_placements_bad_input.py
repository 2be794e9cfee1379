"""Bad input to a proposal or a transition (issue 9 acceptance): a 4xx
problem with a pointer at what is wrong, never a 500 and never a partial
write (no placement, no ledger entry, no event). Bad agreements, check-ins
and outcomes are in their own modules."""

import uuid
from datetime import timedelta

import pytest

from agencies.models import OutboxEvent
from agencies.services import user_create
from consent_ledger.models import LedgerEntry
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.placements.models import Placement, PlacementTransition
from tests.referrals.placements_world import PLACEMENTS, World, months_ago, snapshot, transition_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.consent(world.hotel)
    return world


def counts() -> tuple[int, int, int, int]:
    return (Placement.objects.count(), PlacementTransition.objects.count(), LedgerEntry.objects.count(),
            OutboxEvent.objects.count())


# Each case: the changes to a well-formed proposal, and the pointer the problem names.
BAD_PROPOSALS = {
    "unknown employer": ({"employer": str(uuid.uuid4())}, "/employer"),
    "employer not a UUID": ({"employer": "Hotel Piast"}, "/employer"),
    "an ops agency as employer": ({"employer": "ops"}, "/employer"),
    "another employer than the agreement's": ({"employer": "bakery"}, "/employer"),
    "unknown agreement": ({"agreement": str(uuid.uuid4())}, "/agreement"),
    "end before start": ({"planned_end_on": (months_ago(2) - timedelta(days=1)).isoformat()}, "/planned_end_on"),
    "role not in the agreement": ({"role": "chef"}, "/role"),
    "no hours": ({"hours_per_week": 0}, "/hours_per_week"),
    "more hours than the law allows": ({"hours_per_week": 49}, "/hours_per_week"),
    "hours not a number": ({"hours_per_week": "full"}, "/hours_per_week"),
    "a start that is no date": ({"start_on": "2030-02-30"}, "/start_on"),
    "a caseworker as coordinator": ({"coordinator": "caseworker"}, "/coordinator"),
    "no such coordinator": ({"coordinator": 987654}, "/coordinator"),
    "another agency's coordinator": ({"coordinator": "hotel-user"}, "/coordinator"),
    "a therapist both user and agency": ({"therapist": {"user": "caseworker", "agency": "outsider"}}, "/therapist"),
    "a therapist of another agency": ({"therapist": {"user": "hotel-user"}}, "/therapist/user"),
    "the employer as therapist": ({"therapist": {"agency": "hotel"}}, "/therapist/agency"),
    "a therapist agency that does not exist": ({"therapist": {"agency": str(uuid.uuid4())}}, "/therapist/agency"),
    "a therapist with an unknown member": ({"therapist": {"name": "Dr X"}}, "/therapist/name"),
    "an unknown member": ({"salary": 4000}, "/salary"),
    "a NUL in the role": ({"role": "kitchen\u0000assistant"}, "/role"),
}


def resolved(world, party, changes: dict) -> dict:
    """Names in a case stand for the ids of this world's parties and users."""
    def resolve(value):
        if value == "ops":
            return str(party("MOPS Wrocław", "ops").agency.id)
        if value in ("bakery", "hotel", "outsider"):
            return str(getattr(world, value).agency.id)
        if value == "caseworker":
            return world.caseworker.id
        if value == "hotel-user":
            return user_create(agency=world.hotel.agency, username="hr", password="correct horse battery 9",
                               role="coordinator").id
        return value

    return {key: ({k: resolve(v) for k, v in value.items()} if isinstance(value, dict) else resolve(value))
            for key, value in changes.items()}


@pytest.mark.parametrize("case", list(BAD_PROPOSALS), ids=list(BAD_PROPOSALS))
def test_a_bad_proposal_is_a_4xx_problem_with_a_pointer_and_writes_nothing(world, party, case):
    changes, pointer = BAD_PROPOSALS[case]
    agreement_id = world.agreement()
    body = {**world.proposal(agreement_id), **resolved(world, party, changes)}
    before = counts()

    response = world.cis.post(PLACEMENTS, body, HTTP_IDEMPOTENCY_KEY=case)

    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert pointer in {e.get("pointer") for e in response.json().get("errors", [])}, response.json()
    assert counts() == before


def test_every_problem_of_a_proposal_is_named_at_once(world):
    body = {**world.proposal(world.agreement()), "role": "chef", "hours_per_week": 0, "coordinator": 987654,
            "planned_end_on": "2000-01-01"}

    problem = world.cis.post(PLACEMENTS, body).json()

    assert {e["pointer"] for e in problem["errors"]} == {"/role", "/hours_per_week", "/coordinator",
                                                         "/planned_end_on"}


BAD_TRANSITIONS = {
    "unknown status": ("hotel", {"status": "forwarded"}, "/status"),
    "back to proposed": ("hotel", {"status": "proposed"}, "/status"),
    "unknown reason code": ("hotel", {"status": "declined", "reason": "too old"}, "/reason"),
    "a reason where none is taken": ("hotel", {"status": "confirmed", "reason": "other"}, "/reason"),
    "a last day for a confirmation": ("hotel", {"status": "confirmed", "ended_on": "2030-01-01"}, "/ended_on"),
    "a last day that is no date": ("hotel", {"status": "confirmed", "ended_on": "soon"}, "/ended_on"),
    "an unknown member": ("hotel", {"status": "confirmed", "note": "She seems nice"}, "/note"),
}


@pytest.mark.parametrize("case", list(BAD_TRANSITIONS), ids=list(BAD_TRANSITIONS))
def test_a_bad_transition_is_a_422_with_a_pointer_and_changes_nothing(world, case):
    who, body, pointer = BAD_TRANSITIONS[case]
    placement_id = world.placement()
    before = snapshot(placement_id)

    response = getattr(world, who).post(transition_url(placement_id), body)

    assert response.status_code == 422, response.content
    assert pointer in {e.get("pointer") for e in response.json()["errors"]}
    assert snapshot(placement_id) == before


@pytest.mark.parametrize("body", [[], "confirmed", None, {"status": ["confirmed"]}])
def test_a_body_that_is_not_the_right_shape_is_a_4xx_never_a_500(world, body):
    placement_id = world.placement()

    response = world.hotel.client.post(transition_url(placement_id), body, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {world.hotel.token}")

    assert 400 <= response.status_code < 500 and response["Content-Type"] == PROBLEM_CONTENT_TYPE
