"""What the shared-plan tests start from (tests/referrals/test_plans*.py).

Wrocław's ZI, chaired by the MOPS, and a GDP for one family with a school, a
mental-health centre and the police; every member's confidentiality
declaration received. The MOPS owns the person and leads her plan: goals,
actions and reviews in several data categories, written through the API
with tokens from the real token endpoint. State is built through services
and the API, never the ORM."""

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from agencies.models import OutboxEvent
from agencies.teams import team_create, team_member_add
from consent_ledger.models import LedgerEntry
from consent_ledger.services import Terms, consent_grant, legal_basis_assert, subject_create
from referrals.plans.models import Action, Goal, Plan as PlanRow, Review
from tests.conftest import ALL_SCOPES

SCOPES = [*ALL_SCOPES, "plans:read", "plans:write"]
PLANS = "/api/v1/plans/"
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()

PROFILE = {"person": {"given_name": "Ewa", "family_name": "Kowalska", "birth_date": "1984-05-02"}}
# What the Blue Card basis (art. 9c) lets the GDP's members process for the plan.
GDP_CATEGORIES = ["case_notes", "children", "education", "risk"]
PURPOSES = ["team_plan", "case_coordination"]


def plan_url(plan_id) -> str:
    return f"{PLANS}{plan_id}"


def goals_url(plan_id) -> str:
    return f"{PLANS}{plan_id}/goals/"


def actions_url(plan_id) -> str:
    return f"{PLANS}{plan_id}/actions/"


def reviews_url(plan_id) -> str:
    return f"{PLANS}{plan_id}/reviews/"


def stage_url(plan_id) -> str:
    return f"{PLANS}{plan_id}/stage"


def transition_url(action_id) -> str:
    return f"/api/v1/actions/{action_id}/transition"


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def declared_yesterday():
    return timezone.now() - timedelta(days=1)


def snapshot(plan_id) -> dict:
    """Everything a request could change about a plan, and the ledger and outbox."""
    return {
        "plan": PlanRow.objects.filter(pk=plan_id).values().get(),
        "goals": Goal.objects.filter(plan_id=plan_id).count(),
        "actions": list(Action.objects.filter(plan_id=plan_id).values_list("id", "status", "version").order_by("id")),
        "reviews": Review.objects.filter(plan_id=plan_id).count(),
        "ledger": LedgerEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


def created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


@dataclass
class Plan:
    """The ids of the plan and of its parts, by a short name."""

    id: str
    goals: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)
    reviews: dict = field(default_factory=dict)


# Each part's text: what must never reach an agency without a basis for its category.
GOALS = {
    "school": {"title": "Ola attends school every day", "indicator": "Days present per month", "baseline": 8,
               "category": "education"},
    "health": {"title": "Treatment of the mother's depression", "indicator": "Psychiatrist visits kept",
               "baseline": "No treatment so far", "category": "health"},
    "safety": {"title": "A safety plan the family can use", "category": "case_notes"},
}
ACTIONS = {
    "school": ("school", "Meetings with the school pedagogue twice a month", "education", 14),
    "psychiatry": ("health", "Psychiatric consultation at the mental-health centre", "health", 7),
    "patrol": ("police", "Community officer visits the family weekly", "risk", 10),
}
REVIEWS = {
    "assessment": {"kind": "assessment", "summary": "Crisis after the incident of 3 March; mother wants help.",
                   "category": "case_notes"},
    "wellbeing": {"kind": "monitoring", "summary": "Mood lower than in March.", "measures": {"who5": 9},
                  "category": "mental_health"},
}
PERSON_DATA = (
    {g["title"] for g in GOALS.values()} | {g["indicator"] for g in GOALS.values() if "indicator" in g}
    | {"No treatment so far"} | {a[1] for a in ACTIONS.values()} | {r["summary"] for r in REVIEWS.values()}
    | {"Ewa", "Kowalska"}
)


class World:
    """The MOPS (lead, owner, ZI chair) and the GDP's members as API parties."""

    def __init__(self, party):
        self.ops = party("MOPS Wrocław", "ops", scopes=SCOPES)
        self.school = party("Szkoła Podstawowa nr 7", "school", scopes=SCOPES)
        self.health = party("Centrum Zdrowia Psychicznego", "health", scopes=SCOPES)
        self.police = party("Komisariat Wrocław-Fabryczna", "police", scopes=SCOPES)
        self.outsider = party("Fundacja Obca", "ngo", scopes=SCOPES)
        chair = self.ops.caller
        self.zi = team_create(caller=chair, name="ZI Wrocław", kind="zi")
        for member in (self.school, self.health, self.police):
            self.join(self.zi, member)
        self.gdp = team_create(caller=chair, name="GDP 1/2030", kind="gdp", parent_id=self.zi.id)
        for member in (self.school, self.health, self.police):
            self.join(self.gdp, member)
        self.subject = subject_create(caller=chair, external_ref="BC/1/2030", profile=PROFILE)

    def party(self, name: str) -> object:
        return getattr(self, name)

    def join(self, team, member, declared=True):
        team_member_add(
            caller=self.ops.caller, team_id=team.id, agency_id=member.agency.id,
            confidentiality_declaration_at=declared_yesterday() if declared else None,
        )

    def blue_card_basis(self, categories=GDP_CATEGORIES):
        """The statutory basis of the GDP's members (art. 9c), as the Blue Card
        procedure records it."""
        return legal_basis_assert(
            caller=self.ops.caller, subject_id=self.subject.id, basis="blue_card_procedure",
            terms=Terms(categories=list(categories), purposes=PURPOSES, teams=[str(self.gdp.id)]),
            reference="Niebieska Karta A 12/2030",
        )

    def consent_for(self, member, categories, purposes=("team_plan",)):
        return consent_grant(
            caller=self.ops.caller, subject_id=self.subject.id, form="written", grantor="subject",
            evidence_sha256=EVIDENCE,
            terms=Terms(categories=list(categories), purposes=list(purposes), agencies=[str(member.agency.id)]),
        )

    def open_plan(self, *, team=True, stage="crisis", subject=None) -> Plan:
        body = {"subject": str((subject or self.subject).id), "stage": stage}
        if team:
            body["team"] = str(self.gdp.id)
        return Plan(created(self.ops.post(PLANS, body))["id"])

    def full_plan(self, **kwargs) -> Plan:
        """A plan with every goal, action and review above."""
        plan = self.open_plan(**kwargs)
        for name, goal in GOALS.items():
            plan.goals[name] = created(self.ops.post(goals_url(plan.id), goal))["id"]
        for name, (assignee, title, category, days) in ACTIONS.items():
            body = {"agency": str(self.party(assignee).agency.id), "title": title, "category": category,
                    "due_on": in_days(days)}
            if name in plan.goals:
                body["goal"] = plan.goals[name]
            plan.actions[name] = created(self.ops.post(actions_url(plan.id), body))["id"]
        for name, review in REVIEWS.items():
            plan.reviews[name] = created(self.ops.post(reviews_url(plan.id), review))["id"]
        return plan
