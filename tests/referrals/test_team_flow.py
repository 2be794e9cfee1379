"""Issue 8's end-to-end acceptance flow, through the API with tokens from the
real token endpoint: the OPS registers a person and forms the ZI; the police
opens a Blue Card procedure (NK-A) and the statute's basis appears in her
consent state; the ZI's chair forms a GDP; the OPS opens her plan in the GDP;
a school in the GDP reads it and gets exactly the categories the basis
allows (art. 9c; rules.BASIS_CATEGORIES), recorded as one disclosure under
`blue_card_procedure`; closing the procedure ends the basis, and the school's
next read is a 404 that writes nothing."""

import hashlib
from datetime import UTC, timedelta

from django.utils import timezone

from consent_ledger.models import EntryKind, LedgerEntry
from referrals.blue_card import rules
from tests.conftest import ALL_SCOPES

from .blue_card_world import NKC

SCOPES = [*ALL_SCOPES, "plans:read", "plans:write"]
WROCLAW = "0264011"
PROFILE = {
    "person": {"given_name": "Maria", "family_name": "Wiśniewska", "birth_date": "1979-09-14"},
    "contact": {"phone": "+48 600 700 800"},
    "safe_contact": {"channel": "sms", "codeword": "bratki"},
}
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()

# The plan: a goal and two actions in categories the Blue Card basis covers,
# and a goal and the school's own action in two it does not.
HEALTH_GOAL = {"title": "Leczenie depresji", "indicator": "Wizyty u psychiatry w miesiącu", "baseline": 0,
               "category": "health"}
WORK_GOAL = {"title": "Powrót do pracy w sklepie", "indicator": "Godziny pracy w tygodniu", "baseline": 0,
             "category": "employment"}
SCHOOL_ACTION = {"title": "Pedagog szkolny: plan nadrabiania zaległości syna", "category": "education"}
POLICE_ACTION = {"title": "Dzielnicowy odwiedza rodzinę co tydzień", "category": "case_notes"}
PLAN_CATEGORIES = {"health", "employment", "education", "case_notes"}


def at(hours_ago: float) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).astimezone(UTC).isoformat()


def ok(response, status: int = 201) -> dict:
    assert response.status_code == status, response.content
    return response.json() if response.content else {}


def blue_card_bases(ops, subject_id) -> list[dict]:
    state = ok(ops.get(f"/api/v1/subjects/{subject_id}/consent-state"), 200)
    return [p for p in state["provisions"] if p["basis"] == rules.BASIS]


def school_disclosures(school) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE, recorded_by=school.agency).order_by("seq"))


def add_members(chair, team_id, *parties) -> None:
    for member in parties:
        ok(chair.post(f"/api/v1/teams/{team_id}/members/", {
            "agency": str(member.agency.id), "role": "member", "confidentiality_declaration_at": at(48),
        }))


def test_a_blue_card_team_works_a_plan_under_the_statute_until_the_procedure_closes(party):
    # The plan's premise: one of its categories is outside the statute's basis.
    assert "employment" not in rules.BASIS_CATEGORIES and "education" in rules.BASIS_CATEGORIES
    ops = party("MOPS Wrocław", "ops", scopes=SCOPES, teryt=WROCLAW)
    police = party("Komisariat Policji Wrocław-Krzyki", "police", scopes=SCOPES, teryt=WROCLAW)
    school = party("Szkoła Podstawowa nr 12", "school", scopes=SCOPES, teryt=WROCLAW)
    health = party("Przychodnia Zdrowia Psychicznego", "health", scopes=SCOPES, teryt=WROCLAW)

    # The OPS registers her and forms the gmina's ZI with declared members.
    subject_id = ok(ops.post("/api/v1/subjects/", {"external_ref": "MOPS/2026/41", "profile": PROFILE}))["id"]
    zi = ok(ops.post("/api/v1/teams/", {"name": "ZI Wrocław", "kind": "zi"}))["id"]
    add_members(ops, zi, police, school, health)
    # The police may open a procedure only about a person it may see: here
    # she agreed to the OPS telling it who she is (blue_card_open refuses an
    # opener without any basis for the person).
    ok(ops.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": {"agencies": [str(police.agency.id)]}, "categories": ["identity"],
        "purposes": ["case_coordination"], "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
    }))

    # The police opens the procedure from an NK-A.
    procedure = ok(police.post("/api/v1/blue-cards/", {
        "subject": subject_id, "team": zi, "opened_at": at(6), "opened_by_kind": "police",
        "forms_of_violence": ["physical", "psychological"], "children_in_household": 1,
    }))
    assert procedure["status"] == "open"
    [zi_basis] = blue_card_bases(ops, subject_id)
    assert zi_basis["recipients"]["teams"] == [zi]
    assert set(zi_basis["categories"]) == set(rules.ZI_BASIS_CATEGORIES)
    assert set(zi_basis["purposes"]) == {"team_plan", "case_coordination"}

    # The ZI's chair receives the NK-A and forms the GDP.
    steps = f"/api/v1/blue-cards/{procedure['id']}/steps/"
    ok(ops.post(steps, {"step": "nka_to_chair", "at": at(5)}))
    gdp = ok(ops.post("/api/v1/teams/", {"name": "GDP 41/2026", "kind": "gdp", "parent": zi}))["id"]
    add_members(ops, gdp, police, school, health)
    ok(ops.post(steps, {"step": "gdp_formed", "at": at(4), "gdp": gdp}))
    assert {b["recipients"]["teams"][0] for b in blue_card_bases(ops, subject_id)} == {zi, gdp}

    # The OPS opens her plan in the GDP and assigns the work.
    plan = ok(ops.post("/api/v1/plans/", {"subject": subject_id, "team": gdp, "stage": "crisis"}))["id"]
    health_goal = ok(ops.post(f"/api/v1/plans/{plan}/goals/", HEALTH_GOAL))["id"]
    work_goal = ok(ops.post(f"/api/v1/plans/{plan}/goals/", WORK_GOAL))["id"]
    due_on = (timezone.localdate() + timedelta(days=14)).isoformat()
    school_action = ok(ops.post(f"/api/v1/plans/{plan}/actions/", {
        **SCHOOL_ACTION, "agency": str(school.agency.id), "due_on": due_on}))["id"]
    police_action = ok(ops.post(f"/api/v1/plans/{plan}/actions/", {
        **POLICE_ACTION, "agency": str(police.agency.id), "due_on": due_on}))["id"]

    # The school reads the plan: exactly the categories the statute allows.
    released = PLAN_CATEGORIES & set(rules.BASIS_CATEGORIES)
    assert released == {"health", "case_notes", "education"}
    before = len(school_disclosures(school))
    body = ok(school.get(f"/api/v1/plans/{plan}", purpose="team_plan"), 200)

    assert body["withheld_categories"] == ["employment"]
    assert [(g["id"], g["category"], g["title"]) for g in body["goals"]] == [
        (health_goal, "health", HEALTH_GOAL["title"])]
    actions = {a["id"]: a for a in body["actions"]}
    assert set(actions) == {school_action, police_action}
    assert actions[police_action]["title"] == POLICE_ACTION["title"]
    # Its own action is about the boy's schooling, which the statute covers;
    # the employment goal is absent altogether.
    assert actions[school_action]["title"] == SCHOOL_ACTION["title"]
    assert work_goal not in str(body) and WORK_GOAL["title"] not in str(body)
    entries = school_disclosures(school)
    assert len(entries) == before + 1
    entry = entries[-1].body
    assert (entry["recipient"], entry["purpose"]) == (str(school.agency.id), "team_plan")
    assert set(entry["categories"]) == released
    assert entry["withheld_categories"] == ["employment"]
    assert {b["category"] for b in entry["bases"]} == released
    assert {b["basis"] for b in entry["bases"]} == {rules.BASIS}

    # The GDP agrees the NK-C plan with her; the chair closes the procedure.
    ok(ops.post(steps, {"step": "nkc", "at": at(3), "content": NKC}))
    close = {"ground": "violence_ceased", "at": at(1)}
    closed = ok(ops.post(f"/api/v1/blue-cards/{procedure['id']}/close", close), 200)
    assert closed["status"] == "closed"
    assert blue_card_bases(ops, subject_id) == []

    # The basis is gone: the school's next read is a 404 and writes nothing.
    ledger_before = LedgerEntry.objects.count()
    gone = school.get(f"/api/v1/plans/{plan}", purpose="team_plan")
    assert gone.status_code == 404, gone.content
    assert LedgerEntry.objects.count() == ledger_before
