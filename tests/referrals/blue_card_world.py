"""What the Blue Card tests start from, built through the services and the real
token endpoint: the ZI of Wrocław chaired by the MOPS (which also owns Anna's
record), the police, a school and an NGO as members with their
confidentiality declarations, a health centre without one, a PCPR that was
removed, and an outsider; a GDP for Anna formed by the chair, with the school
in it. The police sees Anna through a consent the MOPS recorded, so it opens
the procedure as a non-owner."""

import hashlib
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from agencies.models import OutboxEvent
from agencies.teams import team_create, team_member_add, team_member_remove
from consent_ledger.models import LedgerEntry, Provision
from consent_ledger.services import Terms, consent_grant, subject_create
from referrals.blue_card.models import BlueCardDeadline, BlueCardProcedure, BlueCardStep, ZiMeeting
from tests.conftest import ALL_SCOPES

SCOPES = [*ALL_SCOPES, "plans:read", "plans:write"]
BLUE_CARDS = "/api/v1/blue-cards/"
PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Kowalska", "birth_date": "1972-03-04"},
    "contact": {"phone": "+48 600 300 400"},
    "safe_contact": {"channel": "sms", "codeword": "fiołek"},
}
NKC = {"summary": "Mieszka z mężem i dwojgiem dzieci.", "plan": "Konsultacje psychologiczne co tydzień; pomoc prawna.",
       "risk": {"level": "high", "notes": "Groźby pozbawienia życia."}}
NKD = {"summary": "Przyznał się do gróźb; nadużywa alkoholu.", "obligations": ["Terapia uzależnień"],
       "programme": "corrective_educational"}
# Words only the NK-D holds: a response that contains any of them leaked it.
NKD_WORDS = {"Przyznał się do gróźb; nadużywa alkoholu.", "Terapia uzależnień", "corrective_educational"}
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()
# An NK-A filled on Tuesday 23 December 2025 at 10:00 in Wrocław: five working
# days later (24-26 December and 1 January are holidays) is Monday 5 January.
OPENED_AT = "2025-12-23T10:00:00+01:00"
NKA_DUE = "2026-01-05"


def url(procedure_id, tail: str = "") -> str:
    return f"{BLUE_CARDS}{procedure_id}{tail}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def recently(hours: float = 1) -> str:
    return iso(timezone.now() - timedelta(hours=hours))


class World:
    def __init__(self, party):
        self.mops = party("MOPS Wrocław", "ops", scopes=SCOPES)
        self.police = party("Komisariat Policji Wrocław-Krzyki", "police", scopes=SCOPES)
        self.school = party("Szkoła Podstawowa nr 12", "school", scopes=SCOPES)
        self.ngo = party("Fundacja Pomocy", "ngo", scopes=SCOPES)
        self.undeclared = party("Przychodnia Zdrowia", "health", scopes=SCOPES)
        self.removed = party("PCPR Wrocław", "pcpr", scopes=SCOPES)
        self.outsider = party("MOPS Opole", "ops", scopes=SCOPES)
        now = timezone.now()
        self.zi = team_create(caller=self.mops.caller, name="ZI Wrocław", kind="zi")
        for member in (self.police, self.school, self.ngo, self.removed):
            self.add(self.zi, member, declared=now)
        self.add(self.zi, self.undeclared, declared=None)
        team_member_remove(caller=self.mops.caller, team_id=self.zi.id, agency_id=self.removed.agency.id)
        self.gdp = team_create(caller=self.mops.caller, name="GDP 1/2026", kind="gdp", parent_id=self.zi.id)
        self.add(self.gdp, self.school, declared=now)
        self.add(self.gdp, self.police, declared=now)
        self.subject = subject_create(caller=self.mops.caller, external_ref="W/2025/77", profile=PROFILE)
        # The police may know Anna exists: she agreed to the MOPS telling it who she is.
        consent_grant(
            caller=self.mops.caller, subject_id=self.subject.id, form="written", grantor="subject",
            evidence_sha256=EVIDENCE,
            terms=Terms(categories=["identity"], purposes=["case_coordination"], agencies=[str(self.police.agency.id)]),
        )

    def add(self, team, member, *, declared):
        team_member_add(
            caller=self.mops.caller, team_id=team.id, agency_id=member.agency.id, confidentiality_declaration_at=declared
        )

    def nka(self, **changes) -> dict:
        return {
            "subject": str(self.subject.id), "team": str(self.zi.id), "opened_at": OPENED_AT,
            "opened_by_kind": "police", "forms_of_violence": ["psychological", "physical"],
            "children_in_household": 2, **changes,
        }

    def open(self, opener=None, **changes) -> str:
        opened = (opener or self.police).post(BLUE_CARDS, self.nka(**changes))
        assert opened.status_code == 201, opened.content
        return opened.json()["id"]

    def step(self, by, procedure_id, step, at=None, **body):
        return by.post(url(procedure_id, "/steps/"), {"step": step, "at": at or recently(), **body})

    def record(self, by, procedure_id, step, at=None, **body) -> dict:
        recorded = self.step(by, procedure_id, step, at, **body)
        assert recorded.status_code == 201, recorded.content
        return recorded.json()

    def up_to_gdp(self, procedure_id, *, at=None) -> None:
        """The chair receives the NK-A and forms the GDP."""
        self.record(self.mops, procedure_id, "nka_to_chair", at)
        self.record(self.mops, procedure_id, "gdp_formed", at, gdp=str(self.gdp.id))

    def with_forms(self) -> str:
        """A procedure up to NK-C (by the school) and NK-D (by the police)."""
        procedure_id = self.open()
        self.up_to_gdp(procedure_id)
        self.record(self.school, procedure_id, "gdp_meeting")
        self.record(self.school, procedure_id, "nkc", content=NKC)
        self.record(self.police, procedure_id, "nkd", content=NKD)
        return procedure_id


def written() -> dict:
    """Everything a request could have written."""
    return {
        "ledger": LedgerEntry.objects.count(),
        "provisions": Provision.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "procedures": BlueCardProcedure.objects.count(),
        "steps": BlueCardStep.objects.count(),
        "deadlines": list(BlueCardDeadline.objects.order_by("id").values()),
        "versions": list(BlueCardProcedure.objects.order_by("id").values_list("version", "status")),
        "zi_meetings": ZiMeeting.objects.count(),
    }


def blue_card_bases(owner, subject_id) -> list[dict]:
    state = owner.get(f"/api/v1/subjects/{subject_id}/consent-state")
    assert state.status_code == 200, state.content
    return [p for p in state.json()["provisions"] if p.get("basis") == "blue_card_procedure"]
