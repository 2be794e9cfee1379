"""The management commands of DESIGN.md section 6, with --json."""

import json
from datetime import date, timedelta
from io import StringIO

import holidays
import pytest
from django.core.management import CommandError, call_command

from agencies.models import (
    Agency,
    AgencyApplication,
    Membership,
    OutboxEvent,
    Team,
    TeamMembership,
)
from consent_ledger.models import LedgerEntry, Provision, SubjectReference
from consent_ledger.sealing import unsealed
from hub.management.commands.demo_seed import (
    PARTNERSHIP,
    TEAM_AGENCIES,
    Command,
    demo_blue_card_timeline,
)
from referrals.blue_card.models import BlueCardDeadline, BlueCardProcedure
from referrals.placements.models import (
    Placement,
    PlacementAgreement,
    PlacementCheckIn,
    meets_esf_rule,
)
from referrals.placements.stats import count_cells, placement_stats_rows
from referrals.plans.models import Action, Goal, Plan, Review
from referrals.working_days import add_working_days, polish_date, today_in_poland
from tests.conftest import bearer


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object"
    return json.loads(lines[0])


def test_add_agency_defaults_the_sector_from_the_kind(db):
    result = run("add_agency", "--name", "Fundacja Dom", "--kind", "shelter", "--teryt", "0264011")

    agency = Agency.objects.get(pk=result["id"])
    assert (agency.name, agency.kind, agency.sector, agency.teryt) == ("Fundacja Dom", "shelter", "ngo", "0264011")


def test_add_agency_refuses_a_malformed_teryt(db):
    with pytest.raises(CommandError, match="TERYT"):
        run("add_agency", "--name", "X", "--kind", "ops", "--teryt", "12")
    assert not Agency.objects.exists()


def test_add_client_prints_working_credentials(client, db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    result = run("add_client", "--agency", agency_id, "--scope", "agencies:read events:read")

    assert set(result) == {"client_id", "client_secret"}
    token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION="Basic "
        + __import__("base64").b64encode(f"{result['client_id']}:{result['client_secret']}".encode()).decode(),
    ).json()["access_token"]
    assert client.get("/api/v1/agencies/me", **bearer(token)).json()["id"] == agency_id
    assert AgencyApplication.objects.get(client_id=result["client_id"]).allowed_scope_set == {
        "agencies:read",
        "events:read",
    }


def test_add_client_refuses_unknown_scopes_and_agencies(db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    with pytest.raises(CommandError, match="everything"):
        run("add_client", "--agency", agency_id, "--scope", "agencies:read everything")
    with pytest.raises(CommandError, match="No agency"):
        run("add_client", "--agency", "not-a-uuid", "--scope", "agencies:read")
    assert not AgencyApplication.objects.exists()


def test_add_user_creates_a_member_with_a_role(db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    result = run(
        "add_user", "--agency", agency_id, "--username", "kasia", "--password", "long enough pass 42", "--role", "dpo"
    )

    membership = Membership.objects.get(user_id=result["id"])
    assert (str(membership.agency_id), membership.role, membership.user.username) == (agency_id, "dpo", "kasia")


def test_add_user_refuses_a_weak_password_and_writes_nothing(db):
    agency_id = run("add_agency", "--name", "MOPS", "--kind", "ops")["id"]

    with pytest.raises(CommandError):
        run("add_user", "--agency", agency_id, "--username", "kasia", "--password", "123", "--role", "caseworker")
    assert not Membership.objects.exists()


def test_demo_seed_builds_the_wroclaw_partnership_once(db, settings, client):
    settings.DEBUG = True
    out = StringIO()

    call_command("demo_seed", stdout=out)
    call_command("demo_seed", stdout=StringIO())

    kinds = sorted(Agency.objects.values_list("kind", flat=True))
    assert kinds == sorted(kind for _, _, kind, *_ in (*PARTNERSHIP, *TEAM_AGENCIES))
    assert {"ops", "pcpr", "shelter", "cis", "police", "employer", "school", "health", "ngo"} <= set(kinds)
    assert kinds.count("employer") == 2
    assert AgencyApplication.objects.count() == len(PARTNERSHIP) + len(TEAM_AGENCIES)
    assert "http://127.0.0.1:8000/" in out.getvalue()
    token = client.post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": "demo-mops", "client_secret": "demo-secret-mops"}
    ).json()["access_token"]
    assert client.get("/api/v1/agencies/me", **bearer(token)).json()["kind"] == "ops"
    assert client.login(username="mops.kasia", password="demo-password-2026")


def test_demo_seed_refuses_without_debug(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_seed", stdout=StringIO())
    assert not Agency.objects.exists()


def demo_token(client, slug: str) -> str:
    return client.post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": f"demo-{slug}", "client_secret": f"demo-secret-{slug}"}
    ).json()["access_token"]


def test_demo_seed_registers_a_person_the_shelter_sees_only_in_part(db, settings, client):
    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    subject_id = SubjectReference.objects.get(external_ref="MOPS/DEMO/1").subject_id

    def read(slug):
        return client.get(f"/api/v1/subjects/{subject_id}?purpose=referral", **bearer(demo_token(client, slug)))

    shelter = read("shelter").json()
    assert set(shelter["profile"]) == {"person", "safe_contact"}
    assert shelter["withheld_categories"] == ["contact", "demographics"]
    # The PCPR is in neither her consent nor her Blue Card team.
    assert read("pcpr").status_code == 404
    # The police is in her GDP: the statute's basis is for the team's
    # purposes, so for a referral it gets nothing about her.
    assert read("police").json()["profile"] == {}


# --- The interdisciplinary team (issue 8) -------------------------------------------------


def next_working_day_after(day: date) -> date:
    """Counted with `holidays` directly, not with referrals.working_days."""
    polish = holidays.country_holidays("PL", years=range(day.year, day.year + 2))
    day += timedelta(days=1)
    while day.weekday() >= 5 or day in polish:
        day += timedelta(days=1)
    return day


def team_state() -> dict:
    """Everything the team part of the seed writes, counted."""
    return {
        "agencies": Agency.objects.count(), "clients": AgencyApplication.objects.count(),
        "users": Membership.objects.count(), "teams": Team.objects.count(),
        "memberships": TeamMembership.objects.count(), "procedures": BlueCardProcedure.objects.count(),
        "deadlines": BlueCardDeadline.objects.count(), "provisions": Provision.objects.count(),
        "plans": Plan.objects.count(), "goals": Goal.objects.count(), "actions": Action.objects.count(),
        "reviews": Review.objects.count(), "ledger": LedgerEntry.objects.count(),
    }


def members(team) -> dict[str, tuple[str, bool]]:
    """{agency kind: (role, declaration received)} of the team's active members."""
    return {
        m.agency.kind: (m.role, m.confidentiality_declaration_at is not None)
        for m in TeamMembership.objects.filter(team=team, removed_at__isnull=True).select_related("agency")
    }


def test_demo_seed_builds_the_blue_card_team_procedure_and_plan_once(db, settings, client):
    settings.DEBUG = True
    out = StringIO()

    call_command("demo_seed", stdout=out)
    first = team_state()
    call_command("demo_seed", stdout=StringIO())

    assert team_state() == first
    zi = Team.objects.get(kind=Team.ZI, teryt="0264011")
    assert members(zi) == {"ops": ("chair", True), "police": ("member", True), "school": ("member", True),
                           "health": ("member", True), "ngo": ("member", True)}
    gdp = Team.objects.get(kind=Team.GDP, parent=zi)
    assert members(gdp) == {"ops": ("chair", True), "police": ("member", True), "school": ("member", True),
                            "health": ("member", True)}
    subject_id = SubjectReference.objects.get(external_ref="MOPS/DEMO/1").subject_id
    procedure = BlueCardProcedure.objects.get(subject_id=subject_id)
    assert (procedure.status, procedure.team_id, procedure.gdp_id) == ("open", zi.id, gdp.id)
    deadlines = {d.step: d for d in procedure.deadlines.all()}
    # The NK-A reached the chair and the GDP was formed, each by its due day;
    # the GDP's first meeting is due on the next working day (tomorrow unless
    # tomorrow is a weekend day or a holiday), and nothing is overdue.
    met = {step for step, d in deadlines.items() if d.met_at is not None}
    assert met == {"nka_to_chair", "gdp_formed"}
    assert all(polish_date(deadlines[step].met_at) <= deadlines[step].due for step in met)
    assert deadlines["gdp_meeting"].met_at is None
    assert deadlines["gdp_meeting"].due == next_working_day_after(today_in_poland())
    plan = Plan.objects.get(subject_id=subject_id)
    assert (plan.team_id, plan.lead.kind, plan.stage) == (gdp.id, "ops", "crisis")
    assigned = {a.agency.kind: a.category for a in plan.actions.select_related("agency")}
    assert set(assigned) == {"ops", "school", "health"}
    assert len(set(assigned.values())) == 3
    assert plan.goals.count() >= 2
    printed = out.getvalue()
    for text in (f"/api/v1/blue-cards/{procedure.id}", f"/api/v1/plans/{plan.id}", "school.marta", "health.piotr",
                 "ngo.zofia", "school, health, ngo", f"gdp_meeting due {deadlines['gdp_meeting'].due}"):
        assert text in printed


def test_demo_seed_plan_reaches_the_school_through_the_choke_point(db, settings, client):
    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    plan = Plan.objects.get()
    school = Agency.objects.get(kind="school")

    read = client.get(f"/api/v1/plans/{plan.id}?purpose=team_plan", **bearer(demo_token(client, "school")))

    assert read.status_code == 200, read.content
    body = read.json()
    # Employment is outside the Blue Card basis (art. 9c): withheld from the team.
    assert body["withheld_categories"] == ["employment"]
    [own] = [a for a in body["actions"] if a["agency"] == str(school.id)]
    assert own["category"] == "children" and own["title"]
    entry = LedgerEntry.objects.filter(kind="disclosure", recorded_by=school).get()
    assert {b["basis"] for b in entry.body["bases"]} == {"blue_card_procedure"}


def test_demo_seed_adds_the_team_to_a_partnership_seeded_before_it(db, settings):
    settings.DEBUG = True
    Command(stdout=StringIO())._seed()  # the partnership alone, as the seed made it before issue 8
    assert not Team.objects.exists()

    call_command("demo_seed", stdout=StringIO())

    assert Team.objects.filter(kind=Team.ZI).count() == 1
    assert BlueCardProcedure.objects.count() == 1 and Plan.objects.count() == 1
    assert SubjectReference.objects.filter(external_ref="MOPS/DEMO/1").count() == 1


# --- Employment placements (issue 9) -------------------------------------------------------


def placement_state() -> dict:
    """Everything the placements part of the seed writes, counted."""
    return {
        "agreements": PlacementAgreement.objects.count(), "placements": Placement.objects.count(),
        "check_ins": PlacementCheckIn.objects.count(), "subjects": SubjectReference.objects.count(),
        "provisions": Provision.objects.count(), "ledger": LedgerEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


def test_demo_seed_runs_the_cis_placements_at_the_hotel_and_bakery_once(db, settings, client):
    settings.DEBUG = True
    out = StringIO()

    call_command("demo_seed", stdout=out)
    first = placement_state()
    call_command("demo_seed", stdout=StringIO())

    assert placement_state() == first
    cis = Agency.objects.get(kind="cis")
    today = today_in_poland()
    agreements = PlacementAgreement.objects.filter(coordinating_agency=cis).select_related("employer")
    employers = {slug: name for slug, name, kind, *_ in PARTNERSHIP if kind == "employer"}
    assert sorted(a.employer.name for a in agreements) == sorted(employers.values())
    assert all(a.in_force_on(today) for a in agreements)
    placements = list(Placement.objects.filter(coordinating_agency=cis).select_related("employer", "coordinator"))
    assert sorted(p.status for p in placements) == ["active", "completed", "completed"]
    assert {p.coordinator.username for p in placements} == {"cis.joanna"}
    [hired] = [p for p in placements if p.outcome == "hired"]
    [not_hired] = [p for p in placements if p.outcome == "not_hired"]
    [active] = [p for p in placements if p.status == "active"]
    assert meets_esf_rule(hired.fte, hired.contract_months) and hired.employed_90d is True
    # On the last day of the month the active one ends today (3 months from the 1st).
    assert hired.ended_on < today and not_hired.ended_on < today and active.start_on < today <= active.planned_end_on
    sides = sorted(active.check_ins.values_list("side", flat=True))
    assert sides == ["coordinator", "coordinator", "employer", "employer"]
    # What the statistics count, before suppression: 3 started, 2 completed, 1 hired still employed at 90 days.
    assert count_cells(placement_stats_rows(cis)) == {
        "started": 3, "not_completed": 1, "completed": 2, "hired": 1, "not_hired": 1,
        "employed_90d": 1, "not_employed_90d": 0,
    }
    stats = client.get("/api/v1/placements/stats", **bearer(demo_token(client, "cis")))
    assert stats.status_code == 200, stats.content
    assert {stats.json()[cell] for cell in ("started", "completed", "hired")} == {"<5"}
    printed = out.getvalue()
    assert "/api/v1/placements/stats" in printed
    assert f"/api/v1/placements/{active.id}?purpose=employment_placement" in printed and "demo-hotel" in printed


def test_demo_seed_shows_the_hotel_only_identity_contact_and_employment(db, settings, client):
    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    active = Placement.objects.get(status="active")
    hotel = Agency.objects.get(name=active.employer.name)
    assert hotel.kind == "employer" and unsealed(active.subject.profile)["safe_contact"]["codeword"]

    def read(slug):
        return client.get(f"/api/v1/placements/{active.id}?purpose=employment_placement",
                          **bearer(demo_token(client, slug)))

    response = read("hotel")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["subject"]["profile"]) == {"person", "contact"}
    assert body["employment"]["role"] == active.role
    assert unsealed(active.subject.profile)["safe_contact"]["codeword"] not in json.dumps(body, ensure_ascii=False)
    assert [c["side"] for c in body["check_ins"]] == ["employer", "employer"]
    entry = LedgerEntry.objects.filter(kind="disclosure", recorded_by=hotel).get()
    assert entry.body["purpose"] == "employment_placement"
    assert entry.body["categories"] == ["contact", "employment", "identity"]
    assert read("bakery").status_code == 404


@pytest.mark.parametrize("today, meeting_due", [
    (date(2026, 3, 4), date(2026, 3, 5)),  # a Wednesday: tomorrow
    (date(2026, 3, 6), date(2026, 3, 9)),  # a Friday: Monday
    (date(2026, 4, 3), date(2026, 4, 7)),  # Good Friday: Easter Monday is a holiday
    (date(2025, 12, 23), date(2025, 12, 29)),  # 24-26 December are holidays
    (date(2026, 4, 30), date(2026, 5, 4)),  # 1 May (a Friday) is a holiday
])
def test_demo_timeline_puts_the_first_meeting_on_the_next_working_day(settings, today, meeting_due):
    timeline = demo_blue_card_timeline(today)
    days = settings.BLUE_CARD_DEADLINE_WORKING_DAYS

    assert timeline.meeting_due == meeting_due == next_working_day_after(today)
    formed, received, opened = (polish_date(t) for t in (timeline.gdp_formed_at, timeline.nka_to_chair_at,
                                                         timeline.opened_at))
    assert add_working_days(formed, days["gdp_meeting"]) == meeting_due
    assert opened < received < formed < today
    assert received <= add_working_days(opened, days["nka_to_chair"])
    assert formed <= add_working_days(received, days["gdp_formed"])


def test_demo_seed_prints_a_working_totp_secret_for_every_demo_user(db, settings):
    import re
    from base64 import b32decode

    from django.contrib.auth.models import User
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.DEBUG = True
    out = StringIO()
    call_command("demo_seed", stdout=out)

    printed = dict(re.findall(r"^    ([a-z]+\.[a-z]+) .* TOTP secret ([A-Z2-7]{32})$", out.getvalue(), re.MULTILINE))
    assert set(printed) == set(User.objects.values_list("username", flat=True))
    for username, secret in printed.items():
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        assert device.verify_token(f"{totp(b32decode(secret)):06d}"), username


def test_demo_code_prints_a_code_the_demo_users_device_accepts_and_only_in_debug(db, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    out = StringIO()

    call_command("demo_code", "shelter.ewa", stdout=out)

    assert TOTPDevice.objects.get(user__username="shelter.ewa").verify_token(out.getvalue().strip())
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG"):
        call_command("demo_code", "shelter.ewa", stdout=StringIO())
