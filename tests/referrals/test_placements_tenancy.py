"""Issue 9's matrix (DESIGN.md principle 7): an agency that is neither the
placement's coordinating agency nor its employer — a second employer, and a
third agency of every kind, with valid tokens holding every scope, and even
with the person's consent naming it — gets, on every placement endpoint, the
same 404 problem as for a placement that does not exist; nothing is written
(no ledger entry, no event, no change, no idempotency record) and no list
shows the placement or its agreement."""

import uuid

import pytest

from consent_ledger.models import LedgerEntry
from hub.api.errors import NOT_FOUND, PROBLEM_CONTENT_TYPE
from hub.api.models import IdempotencyRecord
from schemas.vocabularies import AGENCY_KINDS, SCOPES, codes
from tests.conftest import bearer
from tests.referrals.placements_world import (
    AGREEMENTS,
    PLACEMENTS,
    World,
    check_ins_url,
    follow_up_url,
    month_text,
    months_ago,
    outcome_url,
    placement_url,
    snapshot,
    transition_url,
)

pytestmark = pytest.mark.django_db

EVERY_SCOPE = codes(SCOPES)


def requests_for(placement_id, agreement_id):
    """Every placement endpoint with a well-formed request, so only tenancy can refuse it."""
    return [
        ("GET", placement_url(placement_id), {"purpose": "employment_placement"}, {}),
        ("GET", f"{AGREEMENTS}{agreement_id}", {}, {}),
        ("POST", transition_url(placement_id), {"status": "ended_early", "reason": "other"}, {"HTTP_IF_MATCH": "*"}),
        ("POST", check_ins_url(placement_id), {"month": month_text(months_ago(2)), "days_worked": 3,
                                               "days_absent": 0, "employer_feedback": 5},
         {"HTTP_IDEMPOTENCY_KEY": "m-1"}),
        ("POST", check_ins_url(placement_id), {"month": month_text(months_ago(1)), "coordinator_notes": "x"},
         {"HTTP_IDEMPOTENCY_KEY": "m-2"}),
        ("POST", outcome_url(placement_id), {"outcome": "not_hired", "reason": "other"},
         {"HTTP_IDEMPOTENCY_KEY": "m-3", "HTTP_IF_MATCH": "*"}),
        ("POST", follow_up_url(placement_id), {"still_employed": True}, {"HTTP_IDEMPOTENCY_KEY": "m-4"}),
    ]


def call(party, method, url, body, headers):
    if method == "GET":
        return party.client.get(url, body, **bearer(party.token), **headers)
    return party.client.post(url, body, content_type="application/json", **bearer(party.token), **headers)


def without_request_id(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "request_id"}


def assert_invisible(stranger, placement_id, agreement_id):
    for method, url, body, headers in requests_for(placement_id, agreement_id):
        response = call(stranger, method, url, body, headers)
        assert response.status_code == 404, (stranger.agency.kind, method, url, response.content)
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert response.json()["code"] == NOT_FOUND
        assert "ETag" not in response
        # Not even the wording tells an existing placement from a missing one.
        missing = url.replace(placement_id, str(uuid.uuid4())).replace(agreement_id, str(uuid.uuid4()))
        absent = call(stranger, method, missing, body, {**headers, "HTTP_IDEMPOTENCY_KEY": "m-9"})
        assert without_request_id(response.json()) == without_request_id(absent.json())
    for listing in (PLACEMENTS, AGREEMENTS):
        listed = stranger.get(listing)
        assert listed.status_code == 200
        assert {placement_id, agreement_id}.isdisjoint({item["id"] for item in listed.json()["results"]})


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.consent(world.hotel)
    return world


def everything(placement_id) -> dict:
    return {**snapshot(placement_id), "idempotency": IdempotencyRecord.objects.count()}


@pytest.mark.parametrize("status", ["proposed", "active", "completed"])
def test_every_other_agency_of_every_kind_gets_404_on_every_endpoint_and_nothing_is_written(world, party, status):
    agreement_id = world.agreement()
    placement_id = world.placement(status, agreement_id=agreement_id)
    strangers = [world.bakery, world.outsider]
    strangers += [party(f"Obca {kind}", kind, scopes=EVERY_SCOPE) for kind in codes(AGENCY_KINDS)]
    before = everything(placement_id)

    for stranger in strangers:
        assert_invisible(stranger, placement_id, agreement_id)

    assert everything(placement_id) == before


def test_a_second_employer_the_person_consented_to_still_gets_404(world):
    world.consent(world.bakery, ["identity", "contact", "employment"])
    agreement_id = world.agreement()
    placement_id = world.placement("active", agreement_id=agreement_id)
    assert world.bakery.get(f"/api/v1/subjects/{world.subject.id}", purpose="employment_placement").status_code == 200
    before = everything(placement_id)
    entries = LedgerEntry.objects.count()

    assert_invisible(world.bakery, placement_id, agreement_id)

    assert everything(placement_id) == before and LedgerEntry.objects.count() == entries


def test_the_two_parties_see_it(world):
    agreement_id = world.agreement()
    placement_id = world.placement("active", agreement_id=agreement_id)

    for party in (world.cis, world.hotel):
        assert party.get(placement_url(placement_id)).status_code == 200
        assert party.get(f"{AGREEMENTS}{agreement_id}").status_code == 200
        assert placement_id in {p["id"] for p in party.get(PLACEMENTS).json()["results"]}
