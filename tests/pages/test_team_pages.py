"""The team pages through Django's test client: teams, Blue Card procedures
with their deadlines, and a shared plan disclosed for `team_plan` whose
actions the assigned agency moves on. State is built through the services."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.callers import Caller
from agencies.models import OutboxEvent
from agencies.services import agency_create, client_create, user_create
from agencies.teams import team_create, team_member_add
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import subject_create
from referrals.blue_card.models import BlueCardDeadline, BlueCardProcedure, BlueCardStep
from referrals.blue_card.services import blue_card_open, blue_card_step_record
from referrals.plans.models import Action, ActionTransition, Plan
from referrals.plans.services import (
    plan_action_add,
    plan_action_transition,
    plan_create,
    plan_goal_add,
    plan_review_add,
)
from referrals.working_days import POLAND
from tests.conftest import bearer

from .helpers import post_forms, staff_client
from .world import PASSWORD, PERSON_DATA

# The plan's texts: only the choke point may put them on a page.
SAFETY_GOAL = "Plan bezpieczeństwa omówiony z całą rodziną"
JOB_GOAL = "Praca na pół etatu od jesieni"  # employment: outside the Blue Card basis, withheld from the team
SCHOOL_ACTION = "Spotkania z pedagogiem szkolnym co dwa tygodnie"
SCHOOL_ACTION_2 = "Konsultacja z psychologiem szkolnym"
SHELTER_ACTION = "Miejsce w schronisku dla matki z dziećmi"
REVIEW = "Kryzys po zdarzeniu z 3 marca; matka chce pomocy."
PLAN_TEXTS = [SAFETY_GOAL, JOB_GOAL, SCHOOL_ACTION, SCHOOL_ACTION_2, SHELTER_ACTION, REVIEW]
NKC_PLAN = "Konsultacje psychologiczne co tydzień; pomoc prawna."


@dataclass
class Scene:
    world: object
    school: object
    school_worker: object
    zi: object
    gdp: object
    overdue: object  # a procedure whose NK-A deadline passed weeks ago
    running: object  # the person's procedure, up to the GDP, in time
    plan: Plan
    actions: dict


def mops_caller(world) -> Caller:
    return Caller(agency=world.mops, user=world.mops_worker)


def build_scene(world) -> Scene:
    """Wrocław's ZI chaired by the MOPS, with the shelter and a school; a GDP
    of the three; two Blue Card procedures (one overdue); the person's plan
    led by the MOPS and shared with the GDP."""
    mops = mops_caller(world)
    now = timezone.now()
    declared = now - timedelta(days=1)
    school = agency_create(name="Szkoła Podstawowa nr 12", kind="school")
    school_worker = user_create(agency=school, username="szkola.marta", password=PASSWORD, role="caseworker")
    zi = team_create(caller=mops, name="ZI Wrocław", kind="zi", confidentiality_declaration_at=declared)
    gdp = team_create(caller=mops, name="GDP 7/2026", kind="gdp", parent_id=zi.id, confidentiality_declaration_at=declared)
    for team in (zi, gdp):
        for agency in (world.shelter, school):
            team_member_add(caller=mops, team_id=team.id, agency_id=agency.id, confidentiality_declaration_at=declared)
    other = subject_create(caller=mops, external_ref="MOPS/8/2026", profile={"person": {"given_name": "Zofia"}})
    overdue = blue_card_open(
        caller=mops, subject_id=other.id, team_id=zi.id, opened_at=now - timedelta(days=30), opened_by_kind="ops",
        forms_of_violence=["psychological"], children_in_household=1,
    )
    running = blue_card_open(
        caller=mops, subject_id=world.subject.id, team_id=zi.id, opened_at=now - timedelta(hours=3),
        opened_by_kind="ops", forms_of_violence=["physical", "psychological"], children_in_household=2,
    )
    blue_card_step_record(caller=mops, procedure_id=running.id, step="nka_to_chair", at=now - timedelta(hours=2))
    blue_card_step_record(caller=mops, procedure_id=running.id, step="gdp_formed", at=now - timedelta(hours=1),
                          gdp_id=gdp.id)
    plan = plan_create(caller=mops, subject_id=world.subject.id, stage="crisis", team_id=gdp.id)
    plan_goal_add(caller=mops, plan_id=plan.id, title=SAFETY_GOAL, indicator="Plan omówiony", baseline="brak planu",
                  category="risk")
    plan_goal_add(caller=mops, plan_id=plan.id, title=JOB_GOAL, category="employment")
    in_days = lambda days: timezone.localdate() + timedelta(days=days)
    actions = {
        "school": plan_action_add(caller=mops, plan_id=plan.id, agency_id=school.id, title=SCHOOL_ACTION,
                                  due_on=in_days(14), category="education"),
        "school2": plan_action_add(caller=mops, plan_id=plan.id, agency_id=school.id, title=SCHOOL_ACTION_2,
                                   due_on=in_days(21), category="education"),
        "shelter": plan_action_add(caller=mops, plan_id=plan.id, agency_id=world.shelter.id, title=SHELTER_ACTION,
                                   due_on=in_days(3), category="case_notes"),
    }
    plan_review_add(caller=mops, plan_id=plan.id, kind="assessment", summary=REVIEW, category="case_notes")
    plan.refresh_from_db()
    return Scene(world, school, school_worker, zi, gdp, overdue, running, plan, actions)


@pytest.fixture
def scene(world):
    return build_scene(world)


def current(procedure) -> BlueCardProcedure:
    return BlueCardProcedure.objects.get(pk=procedure.pk)


def disclosures(subject):
    return list(LedgerEntry.objects.filter(subject=subject, kind=EntryKind.DISCLOSURE).order_by("recorded_at", "id"))


def error_summary(response) -> str:
    found = re.search(r"govuk-error-summary__list.*?</ul>", response.content.decode(), re.DOTALL)
    return f"{response.status_code}: {found.group(0) if found else ''}"


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.DOTALL).group(1)


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the team list ------------------------------------------------------------------------


def test_the_team_list_shows_only_my_teams_with_role_and_declaration(scene):
    world = scene.world
    outsider = Caller(agency=world.outsider, user=world.outsider_worker)
    team_create(caller=outsider, name="ZI Oława", kind="zi")

    school = html_of(staff_client(scene.school_worker).get("/app/teams/"))
    olawa = html_of(staff_client(world.outsider_worker).get("/app/teams/"))

    assert "ZI Wrocław" in school and "GDP 7/2026" in school and "ZI Oława" not in school
    assert "Członek" in school and "Grupa diagnostyczno-pomocowa (GDP)" in school
    assert timezone.localdate().strftime("%Y") in school  # the declaration's date
    assert "ZI Oława" in olawa and "Przewodniczący" in olawa
    assert "ZI Wrocław" not in olawa and "GDP 7/2026" not in olawa
    assert str(scene.running.id) not in olawa and str(scene.plan.id) not in olawa


def test_a_team_without_my_declaration_is_counted_never_named(scene):
    world = scene.world
    team_create(caller=mops_caller(world), name="GDP 9/2026", kind="gdp", parent_id=scene.zi.id)
    gdp9 = scene.zi.groups.get(name="GDP 9/2026")
    team_member_add(caller=mops_caller(world), team_id=gdp9.id, agency_id=scene.school.id)  # no declaration yet

    html = html_of(staff_client(scene.school_worker).get("/app/teams/"))

    assert "GDP 9/2026" not in html
    assert "do 1 kolejnego zespołu" in html
    assert staff_client(scene.school_worker).get(f"/app/teams/{gdp9.id}").status_code == 404


def test_procedures_are_listed_overdue_first_with_the_due_day_in_working_days(scene):
    html = html_of(staff_client(scene.school_worker).get("/app/teams/"))

    rows = re.findall(r'data-procedure="([0-9a-f-]+)"', html)
    # Newest first would put the running one first: the overdue one leads.
    assert rows == [str(scene.overdue.id), str(scene.running.id)]
    overdue_row = html[html.index(f'data-procedure="{scene.overdue.id}"'):html.index(f'data-procedure="{scene.running.id}"')]
    assert "Po terminie" in overdue_row and "NK-A do przewodniczącego ZI" in overdue_row
    due = BlueCardDeadline.objects.get(procedure=scene.overdue, step="nka_to_chair").due
    assert f"do {due.day} " in overdue_row and "dni roboczych spóźnienia" in overdue_row
    running_row = html[html.index(f'data-procedure="{scene.running.id}"'):]
    assert "Pierwsze posiedzenie grupy" in running_row and "Po terminie" not in running_row.split("</tr>")[0]
    assert "dni robocz" in running_row.split("</tr>")[0]


def test_metadata_pages_disclose_nothing_and_show_no_person_data(scene, django_assert_max_num_queries):
    client = staff_client(scene.school_worker)
    before = LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count()

    with django_assert_max_num_queries(30):
        teams = html_of(client.get("/app/teams/"))
    team = html_of(client.get(f"/app/teams/{scene.gdp.id}"))
    closed = html_of(client.get("/app/teams/", {"status": "closed"}))

    assert LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count() == before
    for html in (teams, team, closed):
        assert not [v for v in [*PERSON_DATA, *PLAN_TEXTS, "Zofia"] if v in html]
    assert f'href="/app/plans/{scene.plan.id}"' in teams and f'href="/app/plans/{scene.plan.id}"' in team
    assert "Szkoła Podstawowa nr 12" in team and "Schronisko Bezpieczny Dom" in team and "Przewodniczący" in team


# --- tenancy and roles ---------------------------------------------------------------------


def test_another_agencys_team_procedure_and_plan_are_404_pages(scene):
    outsider = staff_client(scene.world.outsider_worker)
    action = scene.actions["school"]

    for path in (f"/app/teams/{scene.zi.id}", f"/app/teams/{scene.gdp.id}", f"/app/blue-cards/{scene.running.id}",
                 f"/app/plans/{scene.plan.id}"):
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert "Nie znaleziono strony" in response.content.decode()
    posts = {
        f"/app/plans/{scene.plan.id}/actions/{action.id}/transition": {"to": "done", "if_match": action.etag},
        f"/app/blue-cards/{scene.running.id}/steps": {"step": "gdp_meeting", "if_match": "*", "day": "1", "month": "1",
                                                      "year": "2026", "time": "10:00"},
        f"/app/blue-cards/{scene.running.id}/close": {"ground": "groundless", "if_match": "*", "day": "1",
                                                      "month": "1", "year": "2026", "time": "10:00"},
        f"/app/plans/{scene.plan.id}/goals": {"title": "x", "category": "case_notes"},
    }
    for path, body in posts.items():
        assert outsider.post(path, body).status_code == 404, path
    action.refresh_from_db()
    assert action.status == "planned"
    assert not disclosures(scene.world.subject) or all(
        e.body["recipient"] != str(scene.world.outsider.id) for e in disclosures(scene.world.subject)
    )


def test_another_agencys_action_in_my_plan_cannot_be_moved(scene):
    shelter_action = scene.actions["shelter"]

    response = staff_client(scene.school_worker).post(
        f"/app/plans/{scene.plan.id}/actions/{shelter_action.id}/transition", {"to": "done", "if_match": shelter_action.etag}
    )

    assert response.status_code == 404
    shelter_action.refresh_from_db()
    assert shelter_action.status == "planned"


@pytest.mark.parametrize("path", ["/app/teams/", "/app/teams/{zi}", "/app/blue-cards/{procedure}", "/app/plans/{plan}"])
def test_roles_without_team_pages_get_the_403_page(scene, path):
    url = path.format(zi=scene.zi.id, procedure=scene.running.id, plan=scene.plan.id)
    employer = agency_create(name="Piekarnia", kind="employer")
    employer_contact = user_create(agency=employer, username="piekarnia.jan", password=PASSWORD, role="employer_contact")

    for user in (scene.world.mops_dpo, employer_contact):
        response = staff_client(user).get(url)
        assert response.status_code == 403, (user, url)
        assert "Nie masz dostępu do tej strony" in response.content.decode()
    assert staff_client(scene.world.shelter_coordinator).get(url).status_code == 200  # a coordinator works in teams


# --- the plan -----------------------------------------------------------------------------


@pytest.mark.parametrize("language, withheld", [
    ("pl", "Zatrudnienie — brak podstawy do udostępnienia"),
    ("en", "Employment — no basis to share"),
])
def test_the_plan_page_is_disclosed_for_team_plan_with_the_withheld_category_named(scene, language, withheld):
    subject = scene.world.subject
    before = len(disclosures(subject))

    html = html_of(staff_client(scene.school_worker, language).get(f"/app/plans/{scene.plan.id}"))

    new = disclosures(subject)[before:]
    assert len(new) == 1, "one page view, one accounting entry"
    entry = new[0]
    assert entry.body["purpose"] == "team_plan"
    assert entry.body["recipient"] == str(scene.school.id) and entry.actor == f"user:{scene.school_worker.pk}"
    assert "employment" in entry.body["withheld_categories"]
    assert withheld in html
    assert JOB_GOAL not in html
    for text in (SAFETY_GOAL, SCHOOL_ACTION, SHELTER_ACTION, REVIEW):
        assert text in html, text


def test_my_agencys_actions_have_transition_forms_and_other_agencies_none(scene):
    html = html_of(staff_client(scene.school_worker).get(f"/app/plans/{scene.plan.id}"))

    actions = {form["action"] for form in post_forms(html) if "/actions/" in (form["action"] or "")}
    base = f"/app/plans/{scene.plan.id}/actions"
    assert actions == {f"{base}/{scene.actions['school'].id}/transition", f"{base}/{scene.actions['school2'].id}/transition"}
    forms = [f for f in post_forms(html) if f["action"] == f"{base}/{scene.actions['school'].id}/transition"]
    assert len(forms) == 3 and all({"to", "if_match", "csrfmiddlewaretoken"} <= f["fields"] for f in forms)
    assert scene.actions["school"].etag.replace('"', "&quot;") in html
    assert "Oznacz jako w trakcie" in html and "Oznacz jako wykonane" in html
    assert f"{base}/{scene.actions['shelter'].id}/transition" not in html
    # Only the lead changes the plan itself.
    assert not [f for f in post_forms(html) if f["action"].endswith(("/goals", "/stage", "/reviews"))]


def test_an_action_moved_through_the_form_has_the_apis_effect(scene, client):
    school_action, api_action = scene.actions["school"], scene.actions["school2"]
    issued = client_create(agency=scene.school, scopes=["plans:read", "plans:write"])
    token = client.post("/o/token/", {"grant_type": "client_credentials", "client_id": issued.application.client_id,
                                      "client_secret": issued.client_secret}).json()["access_token"]
    plan_version = Plan.objects.get(pk=scene.plan.id).version
    events_before = OutboxEvent.objects.count()

    page = staff_client(scene.school_worker).post(
        f"/app/plans/{scene.plan.id}/actions/{school_action.id}/transition",
        {"to": "in_progress", "if_match": school_action.etag},
    )
    api = client.post(f"/api/v1/actions/{api_action.id}/transition", {"status": "in_progress"},
                      content_type="application/json", HTTP_IF_MATCH=api_action.etag, **bearer(token))

    assert page.status_code == 302 and page["Location"].endswith(f"/app/plans/{scene.plan.id}#action-{school_action.id}")
    assert api.status_code == 200, api.content
    by_page, by_api = Action.objects.get(pk=school_action.id), Action.objects.get(pk=api_action.id)
    assert (by_page.status, by_page.version) == (by_api.status, by_api.version) == ("in_progress", 2)
    moves = {t.action_id: t for t in ActionTransition.objects.filter(action__in=[by_page, by_api])}
    for move in moves.values():
        assert (move.from_status, move.to_status, move.agency_id) == ("planned", "in_progress", scene.school.id)
    assert moves[by_page.id].actor == f"user:{scene.school_worker.pk}"
    assert Plan.objects.get(pk=scene.plan.id).version == plan_version + 2
    events = list(OutboxEvent.objects.order_by("seq")[events_before:])
    assert [e.type for e in events] == ["plan.updated", "plan.updated"]
    page_event, api_event = events
    assert {k: v for k, v in page_event.data.items() if k not in ("version", "action")} == \
        {k: v for k, v in api_event.data.items() if k not in ("version", "action")} == \
        {"change": "action_transitioned", "action_status": "in_progress"}
    assert sorted(page_event.agencies) == sorted(api_event.agencies)


def test_the_assignee_marks_its_action_in_progress_then_done(scene):
    client = staff_client(scene.school_worker)
    action = scene.actions["school"]
    url = f"/app/plans/{scene.plan.id}/actions/{action.id}/transition"

    client.post(url, {"to": "in_progress", "if_match": action.etag})
    action.refresh_from_db()
    html = html_of(client.get(f"/app/plans/{scene.plan.id}"))
    assert "Działanie ma teraz status: W trakcie." in html
    client.post(url, {"to": "done", "if_match": action.etag})

    action.refresh_from_db()
    assert action.status == "done"
    html = html_of(client.get(f"/app/plans/{scene.plan.id}"))
    assert url not in html  # a final status moves no more


def test_a_stale_if_match_on_an_action_is_explained(scene):
    action = scene.actions["school"]
    stale = action.etag
    # Meanwhile the lead marks it done from its own system.
    plan_action_transition(caller=mops_caller(scene.world), action_id=action.id, to="in_progress")

    response = staff_client(scene.school_worker).post(
        f"/app/plans/{scene.plan.id}/actions/{action.id}/transition", {"to": "done", "if_match": stale}
    )

    assert response.status_code == 412
    html = response.content.decode()
    assert "govuk-error-summary" in html and "Ktoś zmienił to działanie" in html
    assert title_of(html).startswith("Błąd")
    action.refresh_from_db()
    assert action.status == "in_progress"


def test_a_final_action_is_explained_not_changed(scene):
    action = scene.actions["school"]
    plan_action_transition(caller=mops_caller(scene.world), action_id=action.id, to="done")

    response = staff_client(scene.school_worker).post(
        f"/app/plans/{scene.plan.id}/actions/{action.id}/transition", {"to": "cancelled", "if_match": "*"}
    )

    assert response.status_code == 409
    assert "nie może już tak się zmienić" in response.content.decode()


def test_the_lead_adds_a_goal_and_what_it_typed_is_kept_when_refused(scene):
    client = staff_client(scene.world.mops_worker)

    refused = client.post(f"/app/plans/{scene.plan.id}/goals",
                          {"title": "", "indicator": "Liczba dni w szkole", "category": "education"})
    added = client.post(f"/app/plans/{scene.plan.id}/goals",
                        {"title": "Ola chodzi do szkoły codziennie", "indicator": "Liczba dni w szkole",
                         "baseline": "8", "category": "education"})

    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'href="#goal-title"' in html and "Wpisz cel" in html and 'value="Liczba dni w szkole"' in html
    assert added.status_code == 302
    assert "Ola chodzi do szkoły codziennie" in html_of(staff_client(scene.school_worker).get(f"/app/plans/{scene.plan.id}"))
    # A member is not the lead: the same POST is refused.
    assert staff_client(scene.school_worker).post(
        f"/app/plans/{scene.plan.id}/goals", {"title": "Cel", "category": "case_notes"}
    ).status_code == 403


def test_the_lead_assigns_an_action_and_a_past_due_date_is_explained(scene):
    client = staff_client(scene.world.mops_worker)
    body = {"title": "Wizyta dzielnicowego", "agency": str(scene.world.shelter.id), "category": "risk",
            "due_day": "1", "due_month": "1", "due_year": "2020"}

    refused = client.post(f"/app/plans/{scene.plan.id}/actions", body)
    soon = timezone.localdate() + timedelta(days=5)
    added = client.post(f"/app/plans/{scene.plan.id}/actions",
                        {**body, "due_day": soon.day, "due_month": soon.month, "due_year": soon.year})

    assert refused.status_code == 422
    assert "Termin nie może być w przeszłości" in refused.content.decode()
    assert 'value="Wizyta dzielnicowego"' in refused.content.decode()
    assert added.status_code == 302
    assert Action.objects.filter(plan=scene.plan, agency=scene.world.shelter, due_on=soon).exists()


def test_the_lead_changes_the_stage_and_a_stale_one_is_explained(scene):
    client = staff_client(scene.world.mops_worker)
    stale = scene.plan.etag

    moved = client.post(f"/app/plans/{scene.plan.id}/stage", {"stage": "intensive", "if_match": stale})
    again = client.post(f"/app/plans/{scene.plan.id}/stage", {"stage": "transitional", "if_match": stale})

    assert moved.status_code == 302
    assert again.status_code == 412 and "Ktoś zmienił ten plan" in again.content.decode()
    assert Plan.objects.get(pk=scene.plan.id).stage == "intensive"


# --- the Blue Card procedure ---------------------------------------------------------------


def test_the_procedure_page_is_disclosed_for_team_plan(scene):
    subject = scene.world.subject
    before = len(disclosures(subject))

    html = html_of(staff_client(scene.school_worker).get(f"/app/blue-cards/{scene.running.id}"))

    new = disclosures(subject)[before:]
    assert len(new) == 1 and new[0].body["purpose"] == "team_plan"
    assert new[0].body["recipient"] == str(scene.school.id)
    assert "fizyczna, psychiczna" in html and "Liczba dzieci" not in title_of(html)
    assert "NK-A przekazana przewodniczącemu ZI" in html and "Dotrzymany" in html


def test_a_group_member_records_a_meeting_and_the_deadline_is_met(scene):
    client = staff_client(scene.school_worker)
    procedure = scene.running
    html = html_of(client.get(f"/app/blue-cards/{procedure.id}"))
    actions = {f["action"] for f in post_forms(html)}
    assert f"/app/blue-cards/{procedure.id}/steps" in actions
    assert f"/app/blue-cards/{procedure.id}/close" not in actions  # the chair closes
    held = timezone.localtime(timezone.now(), POLAND) - timedelta(minutes=10)  # also just after midnight

    response = client.post(f"/app/blue-cards/{procedure.id}/steps", {
        "step": "gdp_meeting", "if_match": current(procedure).etag,
        "day": held.day, "month": held.month, "year": held.year, "time": held.strftime("%H:%M"),
    })

    assert response.status_code == 302, error_summary(response)
    assert BlueCardStep.objects.filter(procedure=procedure, step="gdp_meeting", recorded_by=scene.school).exists()
    assert BlueCardDeadline.objects.get(procedure=procedure, step="gdp_meeting").met_at is not None


def test_a_stale_nkc_is_explained_and_the_typed_plan_kept(scene):
    client = staff_client(scene.school_worker)
    procedure = scene.running
    now = timezone.localtime(timezone.now(), POLAND)

    response = client.post(f"/app/blue-cards/{procedure.id}/steps", {
        "step": "nkc", "if_match": '"stale-1"', "nkc_plan": NKC_PLAN,
        "day": now.day, "month": now.month, "year": now.year, "time": "00:01",
    })

    assert response.status_code == 412
    html = response.content.decode()
    assert "Ktoś zapisał coś w tej procedurze" in html and NKC_PLAN in html
    assert not BlueCardStep.objects.filter(procedure=procedure, step="nkc").exists()


def test_a_bad_date_is_explained_at_its_field(scene):
    response = staff_client(scene.school_worker).post(f"/app/blue-cards/{scene.running.id}/steps", {
        "step": "nkc", "if_match": current(scene.running).etag, "nkc_plan": NKC_PLAN,
        "day": "31", "month": "2", "year": "2026", "time": "10:00",
    })

    assert response.status_code == 422
    html = response.content.decode()
    assert 'href="#nkc-day"' in html and "Wpisz prawdziwą datę" in html and NKC_PLAN in html


def test_the_chair_sees_the_deadlines_met_and_a_member_does_not(scene):
    chair = html_of(staff_client(scene.world.mops_worker).get(f"/app/teams/{scene.zi.id}"))
    member = html_of(staff_client(scene.school_worker).get(f"/app/teams/{scene.zi.id}"))

    assert "Dotrzymane terminy ustawowe" in chair
    counts = {step: re.findall(r"govuk-table__cell--numeric\">(\d+)<", row)
              for step, row in re.findall(r'data-step="(\w+)">(.*?)</tr>', chair, re.DOTALL)}
    # in time, late, missed, running
    assert counts == {"nka_to_chair": ["1", "0", "1", "0"], "gdp_formed": ["1", "0", "0", "0"],
                      "gdp_meeting": ["0", "0", "0", "1"]}
    assert "Dotrzymane terminy ustawowe" not in member and 'data-step="' not in member


def test_no_person_data_in_any_page_title(scene):
    client = staff_client(scene.school_worker)
    lead = staff_client(scene.world.mops_worker)
    forbidden = [*PERSON_DATA, *PLAN_TEXTS, "Zofia", "fizyczna"]

    for c, path in ((client, "/app/teams/"), (client, f"/app/teams/{scene.gdp.id}"),
                    (client, f"/app/blue-cards/{scene.running.id}"), (client, f"/app/plans/{scene.plan.id}"),
                    (lead, f"/app/plans/{scene.plan.id}"), (lead, f"/app/teams/{scene.zi.id}")):
        title = title_of(html_of(c.get(path)))
        assert not [v for v in forbidden if v in title], (path, title)
        assert str(scene.world.subject.id) not in title


def moment_now(minutes_ago: int = 5) -> dict:
    """A moment a few minutes ago as the date and time fields take it (Polish time)."""
    moment = timezone.localtime(timezone.now() - timedelta(minutes=minutes_ago), POLAND)
    return {"day": moment.day, "month": moment.month, "year": moment.year, "time": moment.strftime("%H:%M")}


def test_the_chair_records_the_late_nka_forms_the_group_and_closes_through_the_forms(scene):
    world = scene.world
    client = staff_client(world.mops_worker)
    procedure = scene.overdue
    free = team_create(caller=mops_caller(world), name="GDP 8/2026", kind="gdp", parent_id=scene.zi.id)
    url = f"/app/blue-cards/{procedure.id}"

    received = client.post(f"{url}/steps", {"step": "nka_to_chair", "if_match": current(procedure).etag,
                                            **moment_now(20)})
    html = html_of(client.get(url))
    formed = client.post(f"{url}/steps", {"step": "gdp_formed", "if_match": current(procedure).etag,
                                          "gdp": str(free.id), **moment_now(10)})
    closed = client.post(f"{url}/close", {"ground": "groundless", "if_match": current(procedure).etag,
                                          **moment_now(1)})

    assert (received.status_code, formed.status_code, closed.status_code) == (302, 302, 302), error_summary(received)
    assert "Po terminie, ale wykonany" in html and "GDP 8/2026" in html  # the free group offered
    assert "GDP 7/2026</option>" not in html  # it works on another case already
    procedure = current(procedure)
    assert (procedure.gdp_id, procedure.status, procedure.closure_ground) == (free.id, "closed", "groundless")
    after = html_of(client.get(url))
    assert "Brak zasadności podejmowania działań" in after and f"{url}/close" not in after


def test_a_member_cannot_close_and_a_chair_cannot_skip_a_step(scene):
    school = staff_client(scene.school_worker)
    chair = staff_client(scene.world.mops_worker)
    url = f"/app/blue-cards/{scene.overdue.id}"

    closing = school.post(f"{url}/close", {"ground": "groundless", "if_match": current(scene.overdue).etag,
                                           **moment_now()})
    skipping = chair.post(f"{url}/steps", {"step": "gdp_meeting", "if_match": current(scene.overdue).etag,
                                           **moment_now()})

    assert closing.status_code == 403
    assert skipping.status_code in (403, 409)
    assert current(scene.overdue).status == "open"


def test_the_forms_content_is_shown_only_through_the_choke_point(scene):
    world = scene.world
    police = agency_create(name="Komisariat Policji Wrocław-Krzyki", kind="police")
    officer = user_create(agency=police, username="policja.tomasz", password=PASSWORD, role="caseworker")
    team_member_add(caller=mops_caller(world), team_id=scene.zi.id, agency_id=police.id,
                    confidentiality_declaration_at=timezone.now() - timedelta(days=1))  # the ZI only, not the GDP
    school = staff_client(scene.school_worker)
    url = f"/app/blue-cards/{scene.running.id}"
    nkd_summary = "Przyznał się do gróźb; zobowiązany do terapii."
    school.post(f"{url}/steps", {"step": "nkc", "if_match": current(scene.running).etag, "nkc_plan": NKC_PLAN,
                                 "nkc_risk_level": "high", **moment_now(10)})
    school.post(f"{url}/steps", {"step": "nkd", "if_match": current(scene.running).etag, "nkd_summary": nkd_summary,
                                 "nkd_programme": "corrective_educational", **moment_now(5)})
    assert BlueCardStep.objects.filter(procedure=scene.running, step__in=["nkc", "nkd"]).count() == 2
    before = len(disclosures(world.subject))

    in_group = html_of(staff_client(world.shelter_worker).get(url))
    in_zi_only = html_of(staff_client(officer).get(url))

    assert NKC_PLAN in in_group and nkd_summary in in_group and "Program korekcyjno-edukacyjny" in in_group
    assert "Wysoki" in in_group
    assert NKC_PLAN in in_zi_only and nkd_summary not in in_zi_only
    assert "Dane sprawcy — brak podstawy do udostępnienia" in in_zi_only
    entries = disclosures(world.subject)[before:]
    assert [(e.body["recipient"], e.body["purpose"]) for e in entries] == [
        (str(world.shelter.id), "team_plan"), (str(police.id), "team_plan")]
    assert "perpetrator" in entries[1].body["withheld_categories"]


def test_the_home_page_counts_for_the_team_work(scene):
    from referrals.plans.pages import team_home_counts

    counts = team_home_counts(Caller(agency=scene.school, user=scene.school_worker))
    outsider = team_home_counts(Caller(agency=scene.world.outsider, user=scene.world.outsider_worker))

    assert counts == {"overdue_procedures": 1, "open_actions": 2, "plans_with_overdue_actions": 0}
    assert outsider == {"overdue_procedures": 0, "open_actions": 0, "plans_with_overdue_actions": 0}
