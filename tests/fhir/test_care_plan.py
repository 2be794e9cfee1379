"""GET fhir/CarePlan/{plan_id}: a shared plan as a FHIR R5 CarePlan, read
through the same choke point as GET plans/{id}?purpose=team_plan
(tests/referrals/plans_world.py: Wrocław's ZI and a GDP, the MOPS leading
Ewa's plan, the GDP's members with the Blue Card basis)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from fhir.resources.careplan import CarePlan

from referrals.fhir.care_plan import ACTION_STATUS, BLUE_CARD
from referrals.fhir.common import WITHHELD_CATEGORY
from referrals.plans import lifecycle
from tests.referrals.plans_world import (
    ACTIONS,
    GOALS,
    REVIEWS,
    World,
    plan_url,
    stage_url,
)

from .conftest import care_plan_url, disclosures, labels, read

WITHHELD_TEXTS = {GOALS["health"]["title"], ACTIONS["psychiatry"][1], REVIEWS["wellbeing"]["summary"]}


@pytest.fixture
def world(party) -> World:
    world = World(party)
    world.blue_card_basis()
    return world


def contained(plan, resource_type) -> dict:
    return {r.id: r for r in plan.contained or [] if r.get_resource_type() == resource_type}


def test_a_gdp_member_reads_the_plan_as_a_care_plan_without_what_is_withheld(world):
    plan = world.full_plan()
    before = disclosures()

    care_plan, text = read(world.school, care_plan_url(plan.id), CarePlan)

    assert len(disclosures()) == len(before) + 1
    assert (care_plan.status, care_plan.intent, care_plan.subject.reference) == (
        "active", "plan", f"Patient/{world.subject.id}")
    goals = contained(care_plan, "Goal")
    assert {g.description.text for g in goals.values()} == {GOALS["school"]["title"], GOALS["safety"]["title"]}
    assert [r.reference for r in care_plan.goal] == [f"#{goal_id}" for goal_id in goals]
    tasks = contained(care_plan, "Task")
    assert {t.description for t in tasks.values()} == {ACTIONS["school"][1], ACTIONS["patrol"][1]}
    assert {t.owner.reference for t in tasks.values()} == {
        f"Organization/{world.school.agency.id}", f"Organization/{world.police.agency.id}"}
    assert [a.plannedActivityReference.reference for a in care_plan.activity] == [f"#{t}" for t in tasks]
    school_goal = f"goal-{plan.goals['school']}"
    assert tasks[f"action-{plan.actions['school']}"].reason[0].reference.reference == f"#{school_goal}"
    assert [n.text for n in care_plan.note] == [REVIEWS["assessment"]["summary"]]
    assert [value for value in WITHHELD_TEXTS if value in text] == []
    assert labels(care_plan, WITHHELD_CATEGORY) == {"health", "mental_health"}
    assert care_plan.careTeam[0].identifier.value == str(world.gdp.id)


def test_the_lead_reads_its_whole_plan_and_nothing_is_recorded(world):
    plan = world.full_plan()
    before = disclosures()

    care_plan, text = read(world.ops, care_plan_url(plan.id), CarePlan)

    assert len(disclosures()) == len(before)
    assert all(value in text for value in WITHHELD_TEXTS)
    assert labels(care_plan, WITHHELD_CATEGORY) == set()


def test_action_statuses_and_a_closed_plan(world):
    plan = world.full_plan()
    for to in ("in_progress", "done"):
        moved = world.school.post(f"/api/v1/actions/{plan.actions['school']}/transition", {"status": to})
        assert moved.status_code == 200, moved.content
    for name in ("psychiatry", "patrol"):
        assert world.ops.post(f"/api/v1/actions/{plan.actions[name]}/transition",
                              {"status": "cancelled"}).status_code == 200
    assert world.ops.post(stage_url(plan.id), {"stage": "closed"}).status_code == 200

    care_plan, _ = read(world.school, care_plan_url(plan.id), CarePlan)

    assert care_plan.status == "completed" and care_plan.period.end is not None
    statuses = {t.id: t.status for t in contained(care_plan, "Task").values()}
    assert statuses[f"action-{plan.actions['school']}"] == ACTION_STATUS[lifecycle.DONE] == "completed"
    assert {g.lifecycleStatus for g in contained(care_plan, "Goal").values()} == {"completed"}


def test_the_blue_card_procedure_of_the_plans_team_is_supporting_info(world):
    opened = world.ops.post("/api/v1/blue-cards/", {
        "subject": str(world.subject.id), "team": str(world.zi.id),
        "opened_at": (timezone.now() - timedelta(hours=2)).isoformat(), "opened_by_kind": "ops",
        "forms_of_violence": ["psychological"], "children_in_household": 1,
    })
    assert opened.status_code == 201, opened.content
    procedure_id = opened.json()["id"]
    for step in ({"step": "nka_to_chair"}, {"step": "gdp_formed", "gdp": str(world.gdp.id)}):
        recorded = world.ops.post(f"/api/v1/blue-cards/{procedure_id}/steps/",
                                  {**step, "at": (timezone.now() - timedelta(hours=1)).isoformat()})
        assert recorded.status_code == 201, recorded.content
    plan = world.open_plan()

    care_plan, _ = read(world.school, care_plan_url(plan.id), CarePlan)

    assert [(s.identifier.system, s.identifier.value) for s in care_plan.supportingInfo] == [(BLUE_CARD, procedure_id)]


def test_a_plan_without_a_procedure_has_no_supporting_info(world):
    care_plan, _ = read(world.school, care_plan_url(world.open_plan().id), CarePlan)

    assert care_plan.supportingInfo is None


def test_the_plan_is_disclosed_for_team_plan_only_and_is_a_404_to_others(world):
    plan = world.full_plan()

    wrong = world.school.get(care_plan_url(plan.id), purpose="referral")
    other = world.outsider.get(care_plan_url(plan.id))

    assert wrong.status_code == 422 and wrong.json()["errors"][0]["parameter"] == "purpose"
    assert other.status_code == 404 and other.json() == {
        **world.outsider.get(plan_url(plan.id)).json(), "request_id": other.json()["request_id"]}
