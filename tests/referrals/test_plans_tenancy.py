"""Issue 8's matrix for plans (DESIGN.md principle 7): an agency that does
not take part in a plan, a member of the plan's team without a
confidentiality declaration (art. 9c) and a member removed from the team each
get, on every plan endpoint, the same 404 problem as for a plan that does not
exist, with valid tokens holding every scope; nothing is written (no ledger
entry, no event, no change) and no list shows the plan."""

import uuid

import pytest

from agencies.teams import team_member_remove
from consent_ledger.models import LedgerEntry
from hub.api.errors import NOT_FOUND, PROBLEM_CONTENT_TYPE
from hub.api.models import IdempotencyRecord
from schemas.vocabularies import AGENCY_KINDS, SCOPES, codes
from tests.conftest import bearer
from tests.referrals.plans_world import (
    GDP_CATEGORIES,
    PLANS,
    World,
    actions_url,
    created,
    goals_url,
    in_days,
    plan_url,
    reviews_url,
    snapshot,
    stage_url,
    transition_url,
)

EVERY_SCOPE = codes(SCOPES)


def requests_for(stranger, plan, own_action):
    """Every plan endpoint with a well-formed request, so only tenancy can refuse it."""
    action = own_action or plan.actions["school"]
    return [
        ("GET", plan_url(plan.id), None, {}),
        ("POST", stage_url(plan.id), {"stage": "intensive"}, {"HTTP_IF_MATCH": "*"}),
        ("POST", goals_url(plan.id), {"title": "A goal"}, {"HTTP_IDEMPOTENCY_KEY": "m-1"}),
        ("POST", actions_url(plan.id), {"agency": str(stranger.agency.id), "title": "Help", "due_on": in_days(3)},
         {"HTTP_IDEMPOTENCY_KEY": "m-2"}),
        ("POST", reviews_url(plan.id), {"summary": "Seen."}, {"HTTP_IDEMPOTENCY_KEY": "m-3"}),
        ("POST", transition_url(action), {"status": "in_progress"}, {"HTTP_IF_MATCH": "*"}),
    ]


def call(member, method, url, body, headers):
    if method == "GET":
        return member.client.get(url, {"purpose": "team_plan"}, **bearer(member.token), **headers)
    return member.client.post(url, body, content_type="application/json", **bearer(member.token), **headers)


def missing(url: str, plan, own_action) -> str:
    """The same URL for an object that does not exist."""
    return url.replace(str(plan.id), str(uuid.uuid4())).replace(str(own_action or plan.actions["school"]), str(uuid.uuid4()))


def without_request_id(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "request_id"}


def assert_plan_invisible(stranger, plan, own_action=None):
    for method, url, body, headers in requests_for(stranger, plan, own_action):
        response = call(stranger, method, url, body, headers)
        assert response.status_code == 404, (stranger.agency.kind, method, url, response.content)
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert response.json()["code"] == NOT_FOUND
        assert "ETag" not in response
        # Not even the wording tells an existing plan from a missing one.
        absent = call(stranger, method, missing(url, plan, own_action), body, {**headers, "HTTP_IDEMPOTENCY_KEY": "m-9"})
        assert without_request_id(response.json()) == without_request_id(absent.json())
    listed = stranger.get(PLANS)
    assert listed.status_code == 200
    assert plan.id not in {p["id"] for p in listed.json()["results"]}


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.blue_card_basis()
    return world


def everything_about(world, plan) -> dict:
    return {**snapshot(plan.id), "idempotency": IdempotencyRecord.objects.count()}


def test_a_non_member_of_every_kind_gets_404_and_nothing_is_written(world, party):
    plan = world.full_plan()
    strangers = [party(f"Obca {kind}", kind, scopes=EVERY_SCOPE) for kind in codes(AGENCY_KINDS)]
    before = everything_about(world, plan)

    for stranger in strangers:
        assert_plan_invisible(stranger, plan)

    assert everything_about(world, plan) == before


def test_a_non_member_with_a_consent_for_the_person_still_gets_404(world, party):
    plan = world.full_plan()
    stranger = party("Fundacja z zgodą", "ngo", scopes=EVERY_SCOPE)
    world.consent_for(stranger, GDP_CATEGORIES)
    assert stranger.get(f"/api/v1/subjects/{world.subject.id}", purpose="team_plan").status_code == 200
    before = everything_about(world, plan)

    assert_plan_invisible(stranger, plan)

    assert everything_about(world, plan) == before


def test_a_member_without_a_confidentiality_declaration_gets_404_and_nothing_is_written(world, party):
    undeclared = party("Poradnia Psychologiczna", "health", scopes=EVERY_SCOPE)
    world.join(world.zi, undeclared)
    world.join(world.gdp, undeclared, declared=False)
    plan = world.full_plan()
    before = everything_about(world, plan)

    assert_plan_invisible(undeclared, plan)

    assert everything_about(world, plan) == before
    # Nor can the lead assign it an action.
    problem = world.ops.post(actions_url(plan.id), {
        "agency": str(undeclared.agency.id), "title": "Help", "due_on": in_days(3),
    }).json()
    assert [e["pointer"] for e in problem["errors"]] == ["/agency"]


def test_a_removed_member_loses_access_on_its_next_request_even_to_its_own_action(world, party):
    leaving = party("Ośrodek Interwencji Kryzysowej", "ngo", scopes=EVERY_SCOPE)
    world.join(world.zi, leaving)
    world.join(world.gdp, leaving)
    plan = world.full_plan()
    own = created(world.ops.post(actions_url(plan.id), {
        "agency": str(leaving.agency.id), "title": "Crisis counselling", "due_on": in_days(3),
    }))["id"]
    assert call(leaving, "GET", plan_url(plan.id), None, {}).status_code == 200

    team_member_remove(caller=world.ops.caller, team_id=world.gdp.id, agency_id=leaving.agency.id)
    before = everything_about(world, plan)

    assert_plan_invisible(leaving, plan, own_action=own)

    assert everything_about(world, plan) == before


def test_creating_a_plan_for_a_person_without_a_basis_is_404_like_a_missing_person(world, party):
    stranger = party("MOPS Obcy", "ops", scopes=EVERY_SCOPE)
    entries = LedgerEntry.objects.count()

    known = stranger.post(PLANS, {"subject": str(world.subject.id), "stage": "crisis"})
    unknown = stranger.post(PLANS, {"subject": str(uuid.uuid4()), "stage": "crisis"})

    assert known.status_code == unknown.status_code == 404
    assert without_request_id(known.json()) == without_request_id(unknown.json())
    assert LedgerEntry.objects.count() == entries
