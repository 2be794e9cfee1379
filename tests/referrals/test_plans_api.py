"""Shared support plans through the API (DESIGN.md 4.6, 6.2; issue 8 item 4):
what each party reads through the choke point, who may change what, ETags,
idempotent creates, thin events and the metadata list."""

import uuid

import pytest
from django.test.utils import CaptureQueriesContext
from django.db import connection

from agencies.models import OutboxEvent
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import legal_basis_end
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.plans import lifecycle, services
from referrals.plans.models import Action, Goal, Plan
from tests.referrals.conftest import leaked
from tests.referrals.plans_world import (
    GOALS,
    PERSON_DATA,
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


@pytest.fixture
def world(party) -> World:
    return World(party)


def read(member, plan_id, purpose="team_plan"):
    return member.get(plan_url(plan_id), purpose=purpose)


def disclosures(world) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(subject=world.subject, kind=EntryKind.DISCLOSURE).order_by("seq"))


def by_id(items) -> dict:
    return {item["id"]: item for item in items}


def assert_problem(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    if code is not None:
        assert response.json()["code"] == code, response.json()
    return response.json()


# --- Reading through the choke point ------------------------------------------------------


def test_a_school_in_the_gdp_reads_what_the_blue_card_basis_allows_and_not_the_health_goal(world):
    world.blue_card_basis()
    plan = world.full_plan()
    before = len(disclosures(world))

    response = read(world.school, plan.id)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(by_id(body["goals"])) == {plan.goals["school"], plan.goals["safety"]}
    assert by_id(body["goals"])[plan.goals["school"]]["title"] == GOALS["school"]["title"]
    assert by_id(body["goals"])[plan.goals["school"]]["baseline"] == 8
    # Its own action and the police's risk action, with their text; never the psychiatric one.
    actions = by_id(body["actions"])
    assert set(actions) == {plan.actions["school"], plan.actions["patrol"]}
    assert actions[plan.actions["school"]]["title"].startswith("Meetings with the school pedagogue")
    assert set(by_id(body["reviews"])) == {plan.reviews["assessment"]}
    assert body["withheld_categories"] == ["health", "mental_health"]
    assert not leaked({"Treatment of the mother's depression", "Psychiatric consultation at the mental-health centre",
                       "No treatment so far", "Mood lower than in March."}, body)
    assert response["ETag"] == f'"{plan.id}-{Plan.objects.get(pk=plan.id).version}"'
    # One read, one disclosure entry, naming the statute as the basis.
    entries = disclosures(world)
    assert len(entries) == before + 1
    entry = entries[-1].body
    assert entry["recipient"] == str(world.school.agency.id)
    assert entry["purpose"] == "team_plan"
    assert entry["categories"] == ["case_notes", "education", "risk"]
    assert entry["withheld_categories"] == ["health", "mental_health"]
    assert {b["basis"] for b in entry["bases"]} == {"blue_card_procedure"}
    assert entry["documents"][0]["schema"].endswith("/plan-content/1")
    assert entry["documents"][0]["supplied_by"] == str(world.ops.agency.id)


def test_a_school_with_a_consent_reads_the_categories_it_covers_recorded_as_consent(world):
    world.consent_for(world.school, ["case_notes", "education"])
    plan = world.full_plan()

    body = read(world.school, plan.id).json()

    assert set(by_id(body["goals"])) == {plan.goals["school"], plan.goals["safety"]}
    assert set(by_id(body["actions"])) == {plan.actions["school"]}
    assert body["withheld_categories"] == ["health", "mental_health", "risk"]
    entry = disclosures(world)[-1].body
    assert entry["categories"] == ["case_notes", "education"]
    assert {b["basis"] for b in entry["bases"]} == {"consent"}


def test_the_lead_reads_everything_it_wrote_without_a_disclosure_entry(world):
    world.blue_card_basis()
    plan = world.full_plan()
    before = len(disclosures(world))

    body = world.ops.get(plan_url(plan.id)).json()

    assert len(body["goals"]) == 3 and len(body["actions"]) == 3 and len(body["reviews"]) == 2
    assert body["withheld_categories"] == []
    assert by_id(body["reviews"])[plan.reviews["wellbeing"]]["measures"] == {"who5": 9}
    assert len(disclosures(world)) == before


def test_an_own_action_in_a_withheld_category_shows_its_metadata_without_its_title(world):
    world.blue_card_basis()
    plan = world.open_plan()
    action = created(world.ops.post(actions_url(plan.id), {
        "agency": str(world.school.agency.id), "title": "Talk to the school psychologist about self-harm",
        "category": "mental_health", "due_on": in_days(5),
    }))

    body = read(world.school, plan.id).json()

    (shown,) = body["actions"]
    assert shown["id"] == action["id"] and shown["status"] == "planned" and shown["category"] == "mental_health"
    assert shown["agency"] == str(world.school.agency.id) and shown["due_on"] == in_days(5)
    assert "title" not in shown
    assert body["withheld_categories"] == ["mental_health"]
    assert not leaked({"Talk to the school psychologist about self-harm"}, body)
    # It can still move its own action.
    moved = world.school.post(transition_url(action["id"]), {"status": "in_progress"}, HTTP_IF_MATCH=shown["etag"])
    assert moved.status_code == 200, moved.content
    assert "title" not in moved.json()


def test_after_the_basis_ends_the_schools_next_read_is_404_and_nothing_is_recorded(world):
    basis = world.blue_card_basis()
    plan = world.full_plan()
    assert read(world.school, plan.id).status_code == 200

    legal_basis_end(caller=world.ops.caller, legal_basis_id=basis.id, reason="Procedure closed: violence ceased.")
    before = LedgerEntry.objects.count()

    assert_problem(read(world.school, plan.id), 404, "not_found")
    assert_problem(world.school.post(transition_url(plan.actions["school"]), {"status": "in_progress"}), 404)
    assert plan.id not in {p["id"] for p in world.school.get(PLANS).json()["results"]}
    assert LedgerEntry.objects.count() == before


def test_a_purpose_other_than_team_plan_is_refused(world):
    world.blue_card_basis()
    plan = world.open_plan()

    problem = assert_problem(read(world.school, plan.id, purpose="referral"), 422)

    assert problem["errors"][0]["parameter"] == "purpose"


# --- Who may do what ----------------------------------------------------------------------


def test_an_assignee_moves_its_own_action_but_gets_404_for_another_agencys(world):
    world.blue_card_basis()
    plan = world.full_plan()

    own = world.school.post(transition_url(plan.actions["school"]), {"status": "in_progress"})
    other = world.school.post(transition_url(plan.actions["patrol"]), {"status": "done"})

    assert own.status_code == 200, own.content
    assert own.json()["status"] == "in_progress" and own.json()["version"] == 2
    assert own["ETag"] == own.json()["etag"]
    assert_problem(other, 404, "not_found")
    assert Action.objects.get(pk=plan.actions["patrol"]).status == "planned"


def test_the_lead_moves_any_action(world):
    world.blue_card_basis()
    plan = world.full_plan()

    response = world.ops.post(transition_url(plan.actions["patrol"]), {"status": "cancelled"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("final", ["done", "cancelled"])
def test_a_final_action_does_not_move_409_with_the_allowed_list(world, final):
    world.blue_card_basis()
    plan = world.full_plan()
    assert world.school.post(transition_url(plan.actions["school"]), {"status": final}).status_code == 200
    version = Plan.objects.get(pk=plan.id).version

    problem = assert_problem(
        world.school.post(transition_url(plan.actions["school"]), {"status": "in_progress"}), 409,
        lifecycle.ACTION_FINAL,
    )

    assert problem["allowed"] == [] and problem["current_status"] == final
    assert Plan.objects.get(pk=plan.id).version == version


def test_in_progress_cannot_go_back_to_in_progress_409_lists_what_is_allowed(world):
    world.blue_card_basis()
    plan = world.full_plan()
    world.school.post(transition_url(plan.actions["school"]), {"status": "in_progress"})

    problem = assert_problem(
        world.school.post(transition_url(plan.actions["school"]), {"status": "in_progress"}), 409,
        lifecycle.ACTION_TRANSITION_NOT_ALLOWED,
    )

    assert problem["allowed"] == ["done", "cancelled"]


def test_the_lead_changes_the_stage_with_if_match_and_a_stale_etag_is_412(world):
    plan = world.open_plan()
    etag = world.ops.get(plan_url(plan.id))["ETag"]

    changed = world.ops.post(stage_url(plan.id), {"stage": "intensive"}, HTTP_IF_MATCH=etag)
    stale = world.ops.post(stage_url(plan.id), {"stage": "transitional"}, HTTP_IF_MATCH=etag)

    assert changed.status_code == 200, changed.content
    assert changed.json()["stage"] == "intensive" and changed["ETag"] != etag
    problem = assert_problem(stale, 412, "precondition_failed")
    assert problem["current_etag"] == changed["ETag"]
    assert Plan.objects.get(pk=plan.id).stage == "intensive"


def test_a_stale_action_etag_is_412_and_the_action_does_not_move(world):
    world.blue_card_basis()
    plan = world.full_plan()
    first = world.school.post(transition_url(plan.actions["school"]), {"status": "in_progress"},
                              HTTP_IF_MATCH=f'"{plan.actions["school"]}-1"')
    assert first.status_code == 200, first.content

    stale = world.school.post(transition_url(plan.actions["school"]), {"status": "done"},
                              HTTP_IF_MATCH=f'"{plan.actions["school"]}-1"')

    assert_problem(stale, 412, "precondition_failed")
    assert Action.objects.get(pk=plan.actions["school"]).status == "in_progress"


@pytest.mark.parametrize("url_of, body", [
    (goals_url, {"title": "Another goal"}),
    (reviews_url, {"kind": "monitoring", "summary": "All well."}),
    (stage_url, {"stage": "intensive"}),
    (actions_url, None),
], ids=["goal", "review", "stage", "action"])
def test_only_the_lead_changes_goals_actions_reviews_and_stage(world, url_of, body):
    world.blue_card_basis()
    plan = world.open_plan()
    body = body or {"agency": str(world.school.agency.id), "title": "Self-assigned", "due_on": in_days(3)}
    before = snapshot(plan.id)

    assert_problem(world.school.post(url_of(plan.id), body), 403, services.PLAN_LEAD_REQUIRED)

    assert snapshot(plan.id) == before


def test_closing_a_plan_needs_every_action_final_and_a_closed_plan_takes_no_new_goals(world):
    world.blue_card_basis()
    plan = world.full_plan()

    problem = assert_problem(world.ops.post(stage_url(plan.id), {"stage": "closed"}), 409,
                             services.PLAN_HAS_OPEN_ACTIONS)
    assert set(problem["actions"]) == set(plan.actions.values())
    for action_id in plan.actions.values():
        assert world.ops.post(transition_url(action_id), {"status": "done"}).status_code == 200
    assert world.ops.post(stage_url(plan.id), {"stage": "closed"}).status_code == 200

    assert_problem(world.ops.post(goals_url(plan.id), {"title": "Late goal"}), 409, services.PLAN_CLOSED)
    # Post-closure monitoring is still recorded.
    created(world.ops.post(reviews_url(plan.id), {"kind": "monitoring", "summary": "Stable after closure."}))
    # And the plan can be reopened when a crisis returns.
    assert world.ops.post(stage_url(plan.id), {"stage": "crisis"}).json()["stage"] == "crisis"


def test_a_person_has_one_open_plan(world):
    world.open_plan()

    assert_problem(world.ops.post(PLANS, {"subject": str(world.subject.id), "stage": "crisis"}), 409,
                   services.PLAN_EXISTS)
    assert Plan.objects.filter(subject=world.subject).count() == 1


def test_creating_a_plan_is_idempotent(world):
    body = {"subject": str(world.subject.id), "stage": "crisis", "team": str(world.gdp.id)}

    first = world.ops.post(PLANS, body, HTTP_IDEMPOTENCY_KEY="plan-1")
    again = world.ops.post(PLANS, body, HTTP_IDEMPOTENCY_KEY="plan-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"] and first["Location"] == plan_url(first.json()["id"])
    assert Plan.objects.filter(subject=world.subject).count() == 1


def test_a_goal_create_with_the_same_idempotency_key_is_not_added_twice(world):
    plan = world.open_plan()

    for _ in range(2):
        response = world.ops.post(goals_url(plan.id), {"title": "Safe housing"}, HTTP_IDEMPOTENCY_KEY="goal-1")
        assert response.status_code == 201

    assert Goal.objects.filter(plan_id=plan.id).count() == 1


# --- Bad input ------------------------------------------------------------------------------


BAD_INPUT = {
    "unknown category": (goals_url, {"title": "Goal", "category": "horoscope"}, "/category"),
    "empty title": (goals_url, {"title": ""}, "/title"),
    "baseline not text or number": (goals_url, {"title": "Goal", "baseline": {"x": 1}}, "/baseline"),
    "action for a non-member": (actions_url, {"agency": "outsider", "title": "Help", "due_on": in_days(3)}, "/agency"),
    "action for no agency": (actions_url, {"agency": str(uuid.uuid4()), "title": "Help", "due_on": in_days(3)},
                             "/agency"),
    "action due in the past": (actions_url, {"agency": "school", "title": "Help", "due_on": in_days(-1)}, "/due_on"),
    "action for a goal of no plan": (actions_url, {"agency": "school", "title": "Help", "due_on": in_days(3),
                                                   "goal": str(uuid.uuid4())}, "/goal"),
    "action in an unknown category": (actions_url, {"agency": "school", "title": "Help", "due_on": in_days(3),
                                                    "category": "gossip"}, "/category"),
    "unknown review kind": (reviews_url, {"kind": "gossip"}, "/kind"),
    "measures not a map or list": (reviews_url, {"summary": "x", "measures": "14"}, "/measures"),
    "measure without a value": (reviews_url, {"measures": [{"indicator": "who5"}]}, "/measures/0/value"),
    "review in the future": (reviews_url, {"summary": "x", "at": "2999-01-01T00:00:00Z"}, "/at"),
    "unknown stage": (stage_url, {"stage": "limbo"}, "/stage"),
    "unknown member": (goals_url, {"title": "Goal", "priority": 1}, "/priority"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_a_422_problem_with_a_pointer_and_writes_nothing(world, case):
    url_of, body, pointer = BAD_INPUT[case]
    plan = world.open_plan()
    body = {k: str(world.party(v).agency.id) if k == "agency" and v in ("outsider", "school") else v
            for k, v in body.items()}
    before = snapshot(plan.id)

    problem = assert_problem(world.ops.post(url_of(plan.id), body, HTTP_IDEMPOTENCY_KEY=f"bad-{case}"), 422)

    assert pointer in {error.get("pointer") for error in problem["errors"]}, problem
    assert snapshot(plan.id) == before


def test_a_plan_for_a_team_the_lead_is_not_in_is_422_at_team(world, party):
    stranger_team_owner = party("MOPS Opole", "ops")
    from agencies.teams import team_create

    other = team_create(caller=stranger_team_owner.caller, name="ZI Opole", kind="zi")

    problem = assert_problem(
        world.ops.post(PLANS, {"subject": str(world.subject.id), "stage": "crisis", "team": str(other.id)}), 422
    )

    assert [e["pointer"] for e in problem["errors"]] == ["/team"]
    assert not Plan.objects.exists()


def test_a_new_plan_cannot_start_closed(world):
    problem = assert_problem(world.ops.post(PLANS, {"subject": str(world.subject.id), "stage": "closed"}), 422)

    assert [e["pointer"] for e in problem["errors"]] == ["/stage"]


# --- Events ---------------------------------------------------------------------------------


def test_plan_updated_events_carry_ids_and_codes_only_to_the_lead_assignees_and_members(world, party):
    world.blue_card_basis()
    undeclared = party("Poradnia bez deklaracji", "ngo")
    world.join(world.zi, undeclared)
    world.join(world.gdp, undeclared, declared=False)

    plan = world.full_plan()

    events = list(OutboxEvent.objects.filter(type=services.EVENT_UPDATED, object_id=plan.id).order_by("seq"))
    assert [e.data["change"] for e in events] == (
        ["created"] + ["goal_added"] * 3 + ["action_added"] * 3 + ["review_added"] * 2
    )
    assert [e.data["version"] for e in events] == list(range(1, 10))
    members = {str(p.agency.id) for p in (world.ops, world.school, world.health, world.police)}
    for event in events:
        message = event.as_message()
        assert set(message["agencies"]) == members
        assert not leaked(PERSON_DATA, message)
        assert set(message["data"]) <= {"version", "change", "goal", "action", "agency", "review", "kind"}
        assert str(world.subject.id) not in str(message)


def test_plan_actions_due_notify_emits_once_per_action_due_within_the_setting(world, settings):
    settings.PLAN_ACTION_DUE_DAYS = 7
    world.blue_card_basis()
    plan = world.full_plan()  # due in 14 (school), 7 (psychiatry) and 10 (patrol) days

    first = services.plan_actions_due_notify()
    again = services.plan_actions_due_notify()

    assert (first, again) == (1, 0)
    (event,) = OutboxEvent.objects.filter(type=services.EVENT_ACTION_DUE)
    assert event.object_id == uuid.UUID(plan.actions["psychiatry"])
    assert set(event.agencies) == {str(world.ops.agency.id), str(world.health.agency.id)}
    assert not leaked(PERSON_DATA, event.as_message())


def test_a_finished_action_is_not_announced_as_due(world, settings):
    settings.PLAN_ACTION_DUE_DAYS = 30
    world.blue_card_basis()
    plan = world.full_plan()
    world.ops.post(transition_url(plan.actions["patrol"]), {"status": "done"})

    assert services.plan_actions_due_notify() == 2


# --- The list -------------------------------------------------------------------------------


def test_the_list_shows_metadata_of_the_callers_plans_only(world):
    world.blue_card_basis()
    plan = world.full_plan()

    for member in (world.ops, world.school, world.police):
        (listed,) = member.get(PLANS).json()["results"]
        assert listed["id"] == plan.id and listed["team"] == str(world.gdp.id)
        assert set(listed) == {"id", "subject", "lead", "team", "stage", "version", "created_at", "updated_at",
                               "stage_changed_at"}
    assert world.outsider.get(PLANS).json()["results"] == []
    assert world.ops.get(PLANS, stage="intensive").json()["results"] == []
    assert_problem(world.ops.get(PLANS, stage="limbo"), 422)


def test_the_list_query_count_does_not_grow_with_the_number_of_plans(world, django_assert_max_num_queries):
    from consent_ledger.services import subject_create

    def plans_for(count):
        for index in range(count):
            subject = subject_create(caller=world.ops.caller, external_ref=f"BC/{uuid.uuid4()}", profile={})
            world.subject = subject
            world.blue_card_basis()
            world.open_plan(subject=subject)

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            response = world.school.get(PLANS)
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    plans_for(2)
    few, listed_few = list_queries()
    plans_for(8)
    many, listed_many = list_queries()

    assert (listed_few, listed_many) == (2, 10)
    assert many == few
    with django_assert_max_num_queries(few):
        world.school.get(PLANS)


# --- The plan-content schema ----------------------------------------------------------------


def test_the_plan_content_schema_has_one_group_per_data_category_carrying_that_category():
    from schemas.registry import get_registry
    from schemas.vocabularies import DATA_CATEGORIES, codes

    registry = get_registry()
    schema = registry.get("plan-content/1")
    pointers = registry.category_map("plan-content/1").pointers()

    assert set(schema["properties"]) == set(codes(DATA_CATEGORIES))
    for category in codes(DATA_CATEGORIES):
        assert schema["properties"][category]["x-category"] == category
        assert {c for p, c in pointers.items() if p.startswith(f"/{category}/") or p == f"/{category}"} == {category}
