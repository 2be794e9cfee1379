"""A believable Wrocław partnership, and one fictional person with a consent for the demo (DESIGN.md 1: the "Model
Wsparcia" three-sector partnership). Fixed demo passwords and client secrets
are allowed only because the command refuses to run without DEBUG.

The interdisciplinary team (issue 8, DESIGN.md 4.6): Wrocław's ZI chaired by
the MOPS, with the police, a school, a health centre and an NGO; a GDP for
the demo person under an open Blue Card procedure whose first two deadlines
were met and whose third (the GDP's first meeting) falls due on the next
working day; and her support plan with goals and actions for the MOPS, the
school and the health centre. Everything goes through the services, as a
client would.

Employment placements (issue 9, DESIGN.md 4.6): the Wrocław CIS's agreements
with the demo hotel and bakery, and three women the CIS registered, each of
whom consented that her employer may receive her identity, contact and
employment data for the placement: two placements finished (one hired under
the ESF rule, one not) and one active with two months of check-ins. Dates are
counted back from today, so the statistics are never empty.

The service directory (issue 14): every demo agency publishes its services at
a location in its gmina, a few in the neighbouring powiats (so that ordering
by distance shows), and three offer shelter places: the shelter (two free,
its address confidential), the NGO's protected flat in Oława (full) and the
PCPR's crisis-intervention hostel (counted days ago: stale)."""

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agencies.callers import Caller
from agencies.directory import services as directory
from agencies.models import Agency, AgencyApplication, DirectoryService, Membership, Team
from agencies.services import agency_create, client_create, user_create
from agencies.teams import team_create, team_member_add
from consent_ledger import services as ledger
from consent_ledger.models import SubjectReference
from hub.otp import demo_totp_enrol
from referrals.blue_card import rules
from referrals.blue_card.deadlines import add_months
from referrals.blue_card.models import BlueCardDeadline, BlueCardProcedure
from referrals.blue_card.services import blue_card_open, blue_card_step_record
from referrals.placements import services as placements
from referrals.placements.models import Placement
from referrals.plans.models import Plan
from referrals.plans.services import plan_action_add, plan_create, plan_goal_add, plan_review_add
from referrals.working_days import POLAND, add_working_days, is_working_day, today_in_poland
from schemas.vocabularies import SCOPES, codes

DEMO_PASSWORD = "demo-password-2026"
# Where each role's pages are (DESIGN.md 7), for the usage printed at the end.
ROLE_PAGES = {
    "caseworker": "/app/referrals/, /app/subjects/, /app/teams/",
    "supervisor": "/app/referrals/, /app/subjects/, /app/dpo/",
    "coordinator": "/app/placements/, /app/teams/",
    "employer_contact": "/app/placements/",
    "dpo": "/app/dpo/",
    "agency_admin": "/app/account",
}
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

# Employment placements (issue 9). The CIS's agreements, by employer slug: the
# roles offered and the places, in force from a year ago to a year ahead.
AGREEMENTS = {
    "hotel": (["pokojowa", "pomoc kuchenna"], 2),
    "bakery": (["pomoc piekarza", "sprzedawczyni"], 2),
}
PLACEMENT_CONSENT = ["identity", "contact", "employment"]
PLACEMENT_PURPOSE = "employment_placement"
PLACEMENT_HOURS = 30  # 0.75 of the Labour Code's 40-hour week
# The outcome of each finished placement, and the side that records it. The
# hire meets the ESF rule (at least 3 months, at least half-time).
HIRED = ("employer", {"outcome": "hired", "contract_type": "employment_contract", "fte": Decimal("0.75"),
                      "contract_months": Decimal(12)})
NOT_HIRED = ("coordinator", {"outcome": "not_hired", "reason": "no_vacancy"})


@dataclass(frozen=True)
class DemoPlacement:
    external_ref: str
    given_name: str
    family_name: str
    birth_date: str
    employer: str
    role: str
    months_ago: int  # starts on the first day of the month this many months back
    outcome: tuple[str, dict] | None  # None: still active


# Three months each (PLACEMENT_DEFAULT_MONTHS), all started in the past: the
# two finished ones ended months ago, the active one began two months ago.
DEMO_PLACEMENTS = [
    DemoPlacement("CIS/DEMO/1", "Krystyna", "Wzorcowa", "1970-09-21", "hotel", "pokojowa", 7, HIRED),
    DemoPlacement("CIS/DEMO/2", "Bożena", "Próbna", "1966-01-30", "bakery", "pomoc piekarza", 6, NOT_HIRED),
    DemoPlacement("CIS/DEMO/3", "Teresa", "Pokazowa", "1972-06-08", "hotel", "pomoc kuchenna", 2, None),
]
# What the employer records for each month: (days worked, days absent, feedback 1-5).
EMPLOYER_MONTHS = [(17, 3, 3), (19, 1, 4), (20, 0, 5)]
WHO5_START, WHO5_END = [2, 2, 1, 3, 2], [3, 4, 3, 4, 3]


# The service directory (issue 14), by agency slug: its locations, each with
# the services offered there. `places` (total, free) counts a service's
# places; `counted_days_ago` backdates the count (the stale one).
WEEKDAYS_8_16 = [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"}]
DIRECTORY = {
    "mops": [(
        {"name": "MOPS Wrocław – Dział Pomocy Rodzinie", "teryt": WROCLAW, "address_1": "ul. Strzegomska 6",
         "city": "Wrocław", "postal_code": "53-611"},
        [{"service": "family_assistant", "name": "Asystent rodziny", "languages": ["pl"],
          "eligibility": ["families"], "schedules": WEEKDAYS_8_16},
         {"service": "financial_aid", "name": "Zasiłki i pomoc finansowa", "languages": ["pl", "uk"],
          "schedules": WEEKDAYS_8_16}],
    )],
    "pcpr": [(
        {"name": "Ośrodek Interwencji Kryzysowej PCPR", "teryt": "0223042", "address_1": "ul. Dobrzykowicka 3",
         "city": "Kobierzyce", "postal_code": "55-040"},
        [{"service": "shelter", "name": "Hostel Ośrodka Interwencji Kryzysowej", "languages": ["pl"],
          "eligibility": ["women", "women_with_children", "families"], "open_24h": True, "places": (6, 3),
          "counted_days_ago": 3},
         {"service": "crisis_intervention", "name": "Interwencja kryzysowa", "languages": ["pl", "en"],
          "open_24h": True}],
    )],
    "shelter": [(
        {"name": "Schronisko Bezpieczny Dom", "teryt": WROCLAW, "address_1": "ul. Lipowa 7",
         "city": "Wrocław", "postal_code": "50-001", "confidential": True},
        [{"service": "shelter", "name": "Schronisko dla kobiet i dzieci", "languages": ["pl", "uk", "en"],
          "eligibility": ["women", "women_with_children"], "open_24h": True, "places": (12, 2),
          "contact_name": "Dyżur schroniska", "contact_phone": "+48 71 000 00 01"},
         {"service": "psychological", "name": "Konsultacje psychologiczne dla mieszkanek", "languages": ["pl", "uk"],
          "eligibility": ["women"], "schedules": WEEKDAYS_8_16}],
    )],
    "cis": [(
        {"name": "CIS Wrocław", "teryt": WROCLAW, "address_1": "ul. Robotnicza 10", "city": "Wrocław",
         "postal_code": "53-607"},
        [{"service": "vocational_training", "name": "Reintegracja zawodowa (Model Wsparcia 50+)", "languages": ["pl"],
          "eligibility": ["women", "seniors"], "minimum_age": 50, "schedules": WEEKDAYS_8_16, "places": (15, 4)}],
    )],
    "police": [(
        {"name": "Komenda Miejska Policji", "teryt": WROCLAW, "address_1": "ul. Podwale 31-33", "city": "Wrocław",
         "postal_code": "50-040"},
        [{"service": "police_protection", "name": "Zespół ds. przemocy domowej", "languages": ["pl", "en"],
          "open_24h": True}],
    )],
    "hotel": [(
        {"name": "Hotel Nad Odrą", "teryt": WROCLAW, "address_1": "ul. Nadodrzańska 1", "city": "Wrocław",
         "postal_code": "50-100"},
        [{"service": "employment_activation", "name": "Staż w hotelu: pokojowa, pomoc kuchenna", "languages": ["pl"],
          "eligibility": ["women", "seniors"], "places": (2, 1)}],
    )],
    "bakery": [(
        {"name": "Piekarnia Nadodrze", "teryt": WROCLAW, "address_1": "ul. Nadodrzańska 2", "city": "Wrocław",
         "postal_code": "50-100"},
        [{"service": "employment_activation", "name": "Staż w piekarni: pomoc piekarza, sprzedawczyni",
          "languages": ["pl"], "eligibility": ["women", "seniors"], "places": (2, 2)}],
    )],
    "school": [(
        {"name": "Szkoła Podstawowa nr 200", "teryt": WROCLAW, "address_1": "ul. Szkolna 200", "city": "Wrocław",
         "postal_code": "50-200"},
        [{"service": "psychological", "name": "Pomoc psychologiczno-pedagogiczna", "languages": ["pl"],
          "eligibility": ["children"], "maximum_age": 15, "schedules": WEEKDAYS_8_16}],
    )],
    "health": [(
        {"name": "Przychodnia Nadodrze", "teryt": WROCLAW, "address_1": "ul. Zdrowa 5", "city": "Wrocław",
         "postal_code": "50-300"},
        [{"service": "psychological", "name": "Poradnia zdrowia psychicznego", "languages": ["pl", "uk"],
          "schedules": WEEKDAYS_8_16},
         {"service": "medical", "name": "Obdukcja i pomoc lekarska", "languages": ["pl"], "schedules": WEEKDAYS_8_16}],
    )],
    "ngo": [
        ({"name": "Fundacja Bezpieczna Rodzina – biuro", "teryt": WROCLAW, "address_1": "ul. Pomocna 4",
          "city": "Wrocław", "postal_code": "50-400"},
         [{"service": "legal_aid", "name": "Bezpłatna pomoc prawna", "languages": ["pl", "uk", "ru"],
           "eligibility": ["women", "trafficking_survivors"], "schedules": WEEKDAYS_8_16}]),
        ({"name": "Mieszkanie chronione w Oławie", "teryt": "0215011", "address_1": "ul. Cicha 2", "city": "Oława",
          "postal_code": "55-200"},
         [{"service": "shelter", "name": "Mieszkanie chronione dla matek z dziećmi", "languages": ["pl", "uk"],
           "eligibility": ["women_with_children"], "open_24h": True, "places": (4, 0)}]),
    ],
}


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
        if not SubjectReference.objects.filter(external_ref=DEMO_PLACEMENTS[0].external_ref).exists():
            self._seed_placements()
        if not DirectoryService.objects.exists():
            self._seed_directory()
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

    @transaction.atomic
    def _seed_placements(self):
        cis = _caller("cis")
        today = today_in_poland()
        agreements = {
            slug: placements.agreement_create(
                caller=cis, employer_id=_caller(slug).agency.id, valid_from=add_months(today, -12),
                valid_until=add_months(today, 12), roles=roles, places=places,
            )
            for slug, (roles, places) in AGREEMENTS.items()
        }
        # cis.joanna is the CIS's support coordinator (PARTNERSHIP); the
        # therapist is the mental-health clinic of the team part.
        coordinator = Membership.objects.get(agency=cis.agency, role="coordinator", user__username="cis.joanna").user
        therapist = _caller("health").agency
        for demo in DEMO_PLACEMENTS:
            self._seed_placement(cis, demo, agreements[demo.employer], coordinator, therapist, today)

    def _seed_placement(self, cis: Caller, demo: DemoPlacement, agreement, coordinator, therapist, today: date):
        """Register the woman, record her consent naming the employer, and take
        her placement through the lifecycle as both sides would."""
        employer = _caller(demo.employer)
        subject = ledger.subject_create(caller=cis, external_ref=demo.external_ref, profile={
            "person": {"given_name": demo.given_name, "family_name": demo.family_name, "birth_date": demo.birth_date},
            "contact": {"phone": f"+48 500 000 10{demo.external_ref[-1]}"},
            # Never shown to the employer (the allow-list in the decision engine).
            "safe_contact": {"channel": "sms", "codeword": "bratki", "do_not_contact_via": ["home_visit"]},
            "languages": ["pl"], "gender": "female",
        })
        ledger.consent_grant(
            caller=cis, subject_id=subject.id, form="written", grantor="subject", evidence_sha256="0" * 64,
            terms=ledger.Terms(categories=PLACEMENT_CONSENT, purposes=[PLACEMENT_PURPOSE],
                               agencies=[str(employer.agency.id)]),
        )
        start = add_months(today.replace(day=1), -demo.months_ago)
        placement = placements.placement_create(
            caller=cis, subject_id=subject.id, employer_id=employer.agency.id, agreement_id=agreement.id,
            coordinator_id=coordinator.id, therapist_agency_id=therapist.id, role=demo.role,
            hours_per_week=PLACEMENT_HOURS, start_on=start,
        )
        placements.placement_transition(caller=employer, placement_id=placement.id, to="confirmed")
        placements.placement_transition(caller=cis, placement_id=placement.id, to="active")
        # The months that have ended (all three of a finished placement).
        months = [m for m in (add_months(start, n) for n in range(3)) if add_months(m, 1) <= today]
        self._seed_check_ins(cis, employer, placement, months, finished=demo.outcome is not None)
        if demo.outcome is not None:
            self._seed_outcome(cis, employer, placement, demo.outcome)

    def _seed_check_ins(self, cis: Caller, employer: Caller, placement: Placement, months: list[date], finished):
        """The employer's check-in for each month that has ended; the
        coordinator's WHO-5 at the start (and at the end), her notes between."""
        for month, (worked, absent, feedback) in zip(months, EMPLOYER_MONTHS):
            placements.placement_check_in_add(
                caller=employer, placement_id=placement.id, month=f"{month:%Y-%m}", days_worked=worked,
                days_absent=absent, employer_feedback=feedback,
            )
        placements.placement_check_in_add(
            caller=cis, placement_id=placement.id, month=f"{months[0]:%Y-%m}", who5=WHO5_START, timepoint="start",
            coordinator_notes="Rozmowa wstępna: obawy przed powrotem do pracy, terapeutka raz w tygodniu.",
        )
        if finished:
            placements.placement_check_in_add(
                caller=cis, placement_id=placement.id, month=f"{months[-1]:%Y-%m}", who5=WHO5_END, timepoint="end",
                coordinator_notes="Podsumowanie: wyraźna poprawa samopoczucia i pewności siebie.",
            )
        else:
            placements.placement_check_in_add(
                caller=cis, placement_id=placement.id, month=f"{months[-1]:%Y-%m}",
                coordinator_notes="Dobrze odnajduje się w zespole; zmęczenie po zmianach porannych.",
            )

    def _seed_outcome(self, cis: Caller, employer: Caller, placement: Placement, outcome):
        """Complete the placement on its planned last day and record the
        outcome; for a hire, the follow-up PLACEMENT_FOLLOW_UP_DAYS later."""
        placements.placement_transition(caller=cis, placement_id=placement.id, to="completed",
                                        ended_on=placement.planned_end_on)
        side, terms = outcome
        placements.placement_outcome_record(caller=employer if side == "employer" else cis,
                                            placement_id=placement.id, **terms)
        if terms["outcome"] == "hired":
            followed_up_on = placement.planned_end_on + timedelta(days=settings.PLACEMENT_FOLLOW_UP_DAYS)
            placements.placement_follow_up_record(caller=cis, placement_id=placement.id, still_employed=True,
                                                  followed_up_on=followed_up_on)

    @transaction.atomic
    def _seed_directory(self):
        for slug, locations in DIRECTORY.items():
            caller = _caller(slug)
            for location, offered in locations:
                where = directory.location_create(caller=caller, **location)
                for entry in offered:
                    _publish(caller, where, dict(entry))
            if caller.agency.kind == "employer":
                # Their places as the agreements and placements count them.
                placements.employer_places_publish(caller.agency, caller.actor_label)

    def _print_usage(self):
        subject_id = _demo_subject_id()
        slugs = [entry[0] for entry in (*PARTNERSHIP, *TEAM_AGENCIES)]
        users = ", ".join(u for *_, people in (*PARTNERSHIP, *TEAM_AGENCIES) for u, _ in people)
        base = f"http://127.0.0.1:{os.environ.get('DEMO_PORT', '8000')}"  # `make demo PORT=...` passes it
        self.stdout.write(
            "\nDemo partnership ready (Wrocław).\n"
            f"  Open:        {base}/   (API docs: {base}/api/docs/)\n"
            f"  Log in as:   mops.kasia / {DEMO_PASSWORD}   (every demo user has this password: {users})\n"
            "  API clients: client_id demo-<slug>, client_secret demo-secret-<slug>, "
            f"slugs: {', '.join(slugs)}\n"
            "  Token:       curl -s -d grant_type=client_credentials -u demo-mops:demo-secret-mops "
            f"{base}/o/token/\n"
            f"  A person:    /api/v1/subjects/{subject_id}?purpose=referral  (MOPS sees all of it; with the "
            "shelter's token only what she consented to; an agency outside her consent and her Blue Card team "
            "gets 404)\n"
            + self._team_usage(subject_id)
            + self._placements_usage()
            + "  Directory:   /api/v1/directory/services?service=shelter&teryt=0264011  (shelters nearest first: "
            "two free places at the shelter, whose address only it sees; the NGO's flat in Oława full; the "
            "PCPR's hostel counted days ago, flagged stale)\n"
            + self._totp_usage()
        )

    def _totp_usage(self) -> str:
        """Every demo user gets a TOTP authenticator whose secret is derived
        from the username (hub.otp.demo_totp_enrol, DEBUG only): add it to an
        authenticator app once, or enrol your own at the first login. Listed
        with the role each logs in as, and where that role starts."""
        roles = {u: (slug, role) for slug, *_, people in (*PARTNERSHIP, *TEAM_AGENCIES) for u, role in people}
        users = User.objects.filter(username__in=roles).order_by("username")
        lines = "\n".join(
            f"    {user.username:<14} {roles[user.username][1]:<16} {ROLE_PAGES[roles[user.username][1]]:<44} "
            f"TOTP secret {demo_totp_enrol(user)}"
            for user in users
        )
        return (
            f"  Staff pages: /app/ (password, then a TOTP code); each user, role, where the role works:\n{lines}\n"
            "  No authenticator app at hand? `make demo-code USER=mops.kasia` prints the current code.\n"
            "  First steps: log in as mops.kasia, 'Send a referral' to the shelter; log out, log in as shelter.ewa,\n"
            "               open it from 'Received referrals' and accept it.\n"
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

    def _placements_usage(self) -> str:
        active = Placement.objects.filter(
            subject__references__external_ref=DEMO_PLACEMENTS[-1].external_ref, status="active"
        ).select_related("employer").first()
        if active is None:
            return ""
        return (
            "  Placements:  /api/v1/placements/stats  (with demo-cis's token: the CIS's placements at the hotel "
            'and the bakery, 2 finished (1 hired), 1 active; counts under 5 show as "<5")\n'
            f"  Employer:    /api/v1/placements/{active.id}?purpose=employment_placement  (with demo-hotel's "
            f"token, the employer {active.employer.name}: only identity, contact and employment)\n"
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


def _publish(caller: Caller, location, entry: dict) -> DirectoryService:
    total, free = entry.pop("places", (None, None))
    days_ago = entry.pop("counted_days_ago", None)
    service = directory.directory_service_create(
        caller=caller, location=location, capacity_total=total, capacity_free=free, **entry,
    )
    if days_ago is not None:
        # The demo's past: a count made days ago, so the search flags it stale.
        # Written directly (no service counts in the past), the count and its
        # CapacityChange together, so "updated at" stays the record's time.
        counted_at = timezone.now() - timedelta(days=days_ago)
        DirectoryService.objects.filter(pk=service.pk).update(capacity_updated_at=counted_at)
        service.capacity_changes.update(at=counted_at)
    return service


def _caller(slug: str) -> Caller:
    application = AgencyApplication.objects.select_related("agency").get(client_id=f"demo-{slug}")
    return Caller(agency=application.agency, application=application)


def _demo_subject_id():
    return SubjectReference.objects.filter(external_ref="MOPS/DEMO/1").values_list("subject_id", flat=True).first()
