"""A believable Wrocław partnership, and one fictional person with a consent for the demo (DESIGN.md 1: the "Model
Wsparcia" three-sector partnership). Fixed demo passwords and client secrets
are allowed only because the command refuses to run without DEBUG.

The interdisciplinary team (issue 8, DESIGN.md 4.6): Wrocław's ZI chaired by
the MOPS, with the police, a school, a health centre and an NGO; a GDP for
the demo person under an open Blue Card procedure whose first two deadlines
were met and whose third (the GDP's first meeting) falls due on the next
working day; and her support plan with goals and actions for the MOPS, the
school and the health centre. Everything goes through the services, as a
client would."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agencies.callers import Caller
from agencies.models import Agency, AgencyApplication, Team
from agencies.services import agency_create, client_create, user_create
from agencies.teams import team_create, team_member_add
from consent_ledger import services as ledger
from consent_ledger.models import SubjectReference
from referrals.blue_card import rules
from referrals.blue_card.models import BlueCardDeadline, BlueCardProcedure
from referrals.blue_card.services import blue_card_open, blue_card_step_record
from referrals.plans.models import Plan
from referrals.plans.services import plan_action_add, plan_create, plan_goal_add, plan_review_add
from referrals.working_days import POLAND, add_working_days, is_working_day, today_in_poland
from schemas.vocabularies import SCOPES, codes

DEMO_PASSWORD = "demo-password-2026"
EMPLOYER_SCOPES = ["agencies:read", "placements:read", "placements:write", "events:read", "webhooks:manage"]

# (slug, name, kind, teryt, [(username, role)])
DEMO_PROFILE = {
    "person": {"given_name": "Halina", "family_name": "Przykładowa", "birth_date": "1968-03-02"},
    "contact": {"phone": "+48 500 000 000"},
    "safe_contact": {"channel": "sms", "codeword": "fiołki", "do_not_contact_via": ["letter"]},
    "languages": ["pl"],
    "gender": "female",
}

PARTNERSHIP = [
    ("mops", "Miejski Ośrodek Pomocy Społecznej we Wrocławiu", "ops", "0264011",
     [("mops.kasia", "caseworker"), ("mops.anna", "supervisor"), ("mops.iod", "dpo")]),
    ("pcpr", "Powiatowe Centrum Pomocy Rodzinie we Wrocławiu", "pcpr", "0223",
     [("pcpr.marek", "caseworker")]),
    ("shelter", "Stowarzyszenie Bezpieczny Dom – schronisko dla kobiet", "shelter", "0264011",
     [("shelter.ewa", "caseworker"), ("shelter.olga", "coordinator")]),
    ("cis", "Centrum Integracji Społecznej Wrocław", "cis", "0264011",
     [("cis.joanna", "coordinator")]),
    ("police", "Komenda Miejska Policji we Wrocławiu", "police", "0264011",
     [("police.tomasz", "caseworker")]),
    ("hotel", "Hotel Nad Odrą sp. z o.o.", "employer", "0264011",
     [("hotel.beata", "employer_contact")]),
    ("bakery", "Piekarnia Nadodrze s.c.", "employer", "0264011",
     [("bakery.jan", "employer_contact")]),
]

# The ZI's members besides the partnership's MOPS (its chair, art. 9a) and
# police: fictional bodies, with the same kind of demo client and login.
WROCLAW = "0264011"
TEAM_AGENCIES = [
    ("school", "Szkoła Podstawowa nr 200 we Wrocławiu", "school", WROCLAW, [("school.marta", "caseworker")]),
    ("health", "Przychodnia Zdrowia Psychicznego Nadodrze", "health", WROCLAW, [("health.piotr", "caseworker")]),
    ("ngo", "Fundacja Bezpieczna Rodzina", "ngo", WROCLAW, [("ngo.zofia", "coordinator")]),
]
ZI_NAME = "Zespół Interdyscyplinarny we Wrocławiu"
ZI_MEMBERS = ("police", "school", "health", "ngo")
# Team names are seen by every member and in events: a case number, never a name.
GDP_NAME = "GDP MOPS/DEMO/1"
GDP_MEMBERS = ("police", "school", "health")

# Her plan, by assignee slug: each part in its own data category. Employment is
# outside the Blue Card basis (rules.BASIS_CATEGORIES), so the team sees that
# goal withheld; the school's own action is about the child (`children`), which
# the basis covers.
PLAN_GOALS = {
    "safety": {"title": "Halina i syn mają plan bezpieczeństwa i wiedzą, jak go użyć",
               "indicator": "Plan bezpieczeństwa omówiony z rodziną", "baseline": "brak planu", "category": "risk"},
    "health": {"title": "Leczenie depresji pani Haliny", "indicator": "Wizyty u psychiatry w miesiącu",
               "baseline": 0, "category": "health"},
    "school": {"title": "Syn wraca do regularnej nauki", "indicator": "Dni obecności w szkole w miesiącu",
               "baseline": 9, "category": "education"},
    "work": {"title": "Pani Halina wraca do pracy", "indicator": "Rozmowy kwalifikacyjne w miesiącu",
             "baseline": 0, "category": "employment"},
}
# (goal, assignee slug, title, category, due in days)
PLAN_ACTIONS = [
    ("safety", "mops", "Wizyta pracownika socjalnego w domu raz w tygodniu", "case_notes", 7),
    ("school", "school", "Spotkania syna z pedagogiem szkolnym dwa razy w miesiącu", "children", 14),
    ("health", "health", "Konsultacja psychiatryczna i plan leczenia", "health", 10),
]


@dataclass(frozen=True)
class BlueCardTimeline:
    opened_at: datetime
    nka_to_chair_at: datetime
    gdp_formed_at: datetime
    meeting_due: date


def demo_blue_card_timeline(today: date) -> BlueCardTimeline:
    """When the demo procedure's steps happened, counted back from `today` so
    that the NK-A reached the chair and the GDP was formed in time, and the
    GDP's first meeting is due on the next working day after `today`.

    "Due tomorrow" as asked for holds only when tomorrow is a working day: a
    deadline counted in working days always ends on one (KPA art. 57 § 1), so
    seeded on a Friday or before a holiday, the meeting is due on the next
    working day instead (e.g. Monday)."""
    meeting_due = add_working_days(today, 1)
    formed = _working_days_before(meeting_due, settings.BLUE_CARD_DEADLINE_WORKING_DAYS[rules.GDP_MEETING])
    received = _working_days_before(formed, 1)  # the chair formed the GDP the next working day
    opened = _working_days_before(received, 1)  # and got the NK-A the working day after it was filled
    return BlueCardTimeline(_in_poland(opened, 9), _in_poland(received, 12), _in_poland(formed, 10), meeting_due)


def _working_days_before(day: date, n: int) -> date:
    """The working day from which `day` is n working days on: add_working_days
    run backwards (add_working_days(result, n) == day for a working `day`)."""
    while n > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def _in_poland(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=POLAND)


class Command(BaseCommand):
    help = "Seed the demo partnership and its interdisciplinary team (idempotent). Refuses to run unless DEBUG is on."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_seed creates known passwords and secrets: it runs only with DEBUG on.")
        # Each part has its own guard, so a demo database seeded before the
        # team part existed gains it on the next `make demo`.
        if not Agency.objects.filter(name=PARTNERSHIP[0][1]).exists():
            self._seed()
        if not Team.objects.filter(kind=Team.ZI, teryt=WROCLAW).exists():
            self._seed_team()
        self._print_usage()

    @transaction.atomic
    def _seed(self):
        clients = {slug: _agency_with_client(slug, name, kind, teryt, people)
                   for slug, name, kind, teryt, people in PARTNERSHIP}
        self._seed_person(clients)

    def _seed_person(self, clients):
        """A fictional woman registered by MOPS, who consented in writing that
        the shelter may receive her identity and safe-contact arrangements."""
        mops = Caller(agency=clients["mops"].agency, application=clients["mops"])
        subject = ledger.subject_create(caller=mops, external_ref="MOPS/DEMO/1", profile=DEMO_PROFILE)
        ledger.consent_grant(
            caller=mops, subject_id=subject.id, form="written", grantor="subject",
            evidence_sha256="0" * 64,
            terms=ledger.Terms(
                categories=["identity", "safe_contact", "risk", "case_notes"],
                purposes=["referral", "case_coordination"],
                agencies=[str(clients["shelter"].agency_id)],
            ),
        )

    @transaction.atomic
    def _seed_team(self):
        for entry in TEAM_AGENCIES:
            _agency_with_client(*entry)
        mops = _caller("mops")
        subject_id = _demo_subject_id()
        timeline = demo_blue_card_timeline(today_in_poland())
        # Every member signed its art. 9c declaration before the case began.
        declared = timeline.opened_at - timedelta(days=30)
        zi = team_create(caller=mops, name=ZI_NAME, kind=Team.ZI, confidentiality_declaration_at=declared)
        for slug in ZI_MEMBERS:
            team_member_add(caller=mops, team_id=zi.id, agency_id=_caller(slug).agency.id,
                            confidentiality_declaration_at=declared)
        gdp = team_create(caller=mops, name=GDP_NAME, kind=Team.GDP, parent_id=zi.id,
                          confidentiality_declaration_at=declared)
        for slug in GDP_MEMBERS:
            team_member_add(caller=mops, team_id=gdp.id, agency_id=_caller(slug).agency.id,
                            confidentiality_declaration_at=declared)
        self._seed_blue_card(mops, subject_id, zi, gdp, timeline)
        self._seed_plan(mops, subject_id, gdp)

    def _seed_blue_card(self, mops: Caller, subject_id, zi: Team, gdp: Team, timeline: BlueCardTimeline):
        """A MOPS caseworker filled the NK-A on a home visit; the MOPS, as the
        ZI's chair, received it and formed the GDP, each in time."""
        procedure = blue_card_open(
            caller=mops, subject_id=subject_id, team_id=zi.id, opened_at=timeline.opened_at, opened_by_kind="ops",
            forms_of_violence=["psychological", "economic"], children_in_household=1,
        )
        blue_card_step_record(caller=mops, procedure_id=procedure.id, step=rules.NKA_TO_CHAIR,
                              at=timeline.nka_to_chair_at)
        blue_card_step_record(caller=mops, procedure_id=procedure.id, step=rules.GDP_FORMED,
                              at=timeline.gdp_formed_at, gdp_id=gdp.id)

    def _seed_plan(self, mops: Caller, subject_id, gdp: Team):
        plan = plan_create(caller=mops, subject_id=subject_id, stage="crisis", team_id=gdp.id)
        goals = {name: plan_goal_add(caller=mops, plan_id=plan.id, **goal) for name, goal in PLAN_GOALS.items()}
        today = timezone.localdate()
        for goal, slug, title, category, days in PLAN_ACTIONS:
            plan_action_add(
                caller=mops, plan_id=plan.id, agency_id=_caller(slug).agency.id, goal_id=goals[goal].id,
                title=title, category=category, due_on=today + timedelta(days=days),
            )
        plan_review_add(
            caller=mops, plan_id=plan.id, kind="assessment", category="case_notes",
            summary="Ocena wstępna: przemoc psychiczna i ekonomiczna w domu; pani Halina chce pomocy.",
        )

    def _print_usage(self):
        subject_id = _demo_subject_id()
        slugs = [entry[0] for entry in (*PARTNERSHIP, *TEAM_AGENCIES)]
        users = ", ".join(u for *_, people in (*PARTNERSHIP, *TEAM_AGENCIES) for u, _ in people)
        self.stdout.write(
            "\nDemo partnership ready (Wrocław).\n"
            "  Open:        http://127.0.0.1:8000/   (API docs: http://127.0.0.1:8000/api/docs/)\n"
            f"  Log in as:   mops.kasia / {DEMO_PASSWORD}   (every demo user has this password: {users})\n"
            "  API clients: client_id demo-<slug>, client_secret demo-secret-<slug>, "
            f"slugs: {', '.join(slugs)}\n"
            "  Token:       curl -s -d grant_type=client_credentials -u demo-mops:demo-secret-mops "
            "http://127.0.0.1:8000/o/token/\n"
            f"  A person:    /api/v1/subjects/{subject_id}?purpose=referral  (MOPS sees all of it; with the "
            "shelter's token only what she consented to; an agency outside her consent and her Blue Card team "
            "gets 404)\n"
            + self._team_usage(subject_id)
        )

    def _team_usage(self, subject_id) -> str:
        procedure = BlueCardProcedure.objects.filter(subject_id=subject_id, status=BlueCardProcedure.OPEN).first()
        plan = Plan.objects.filter(subject_id=subject_id).exclude(stage="closed").first()
        if procedure is None or plan is None:
            return ""
        pending = BlueCardDeadline.objects.filter(procedure=procedure, met_at__isnull=True).order_by("due").first()
        when = ""
        if pending is not None:
            tomorrow = today_in_poland() + timedelta(days=1)
            day = "tomorrow" if pending.due == tomorrow else "the next working day"
            when = f"; {pending.step} due {pending.due}, {day}"
        return (
            f"  Teams:       {ZI_NAME} (chair: mops; members: {', '.join(ZI_MEMBERS)}) and {GDP_NAME} "
            f"(mops, {', '.join(GDP_MEMBERS)})\n"
            f"  Blue Card:   /api/v1/blue-cards/{procedure.id}  (NK-A to the chair and GDP formed in time{when})\n"
            f"  Plan:        /api/v1/plans/{plan.id}?purpose=team_plan  (actions for mops, school and health; with "
            "demo-school's token the team's view: the employment goal withheld)\n"
        )


def _agency_with_client(slug, name, kind, teryt, people) -> AgencyApplication:
    agency = agency_create(name=name, kind=kind, teryt=teryt)
    for username, role in people:
        user_create(agency=agency, username=username, password=DEMO_PASSWORD, role=role)
    return client_create(
        agency=agency,
        name=f"{name} – system",
        scopes=EMPLOYER_SCOPES if kind == "employer" else list(codes(SCOPES)),
        client_id=f"demo-{slug}",
        client_secret=f"demo-secret-{slug}",
    ).application


def _caller(slug: str) -> Caller:
    application = AgencyApplication.objects.select_related("agency").get(client_id=f"demo-{slug}")
    return Caller(agency=application.agency, application=application)


def _demo_subject_id():
    return SubjectReference.objects.filter(external_ref="MOPS/DEMO/1").values_list("subject_id", flat=True).first()
