"""What the placement tests start from (tests/referrals/test_placements_*.py).

The Wrocław CIS (coordinating agency) with a support coordinator, two
employers (a hotel and a bakery) and an outsider NGO, each an API party with
a token from the real token endpoint. The CIS owns Halina's record; her
profile holds what an employer must never see (a code word for safe
contact, her languages) beside her identity and contact. State is built
through the services and the API, never the ORM."""

import hashlib
from datetime import date

from agencies.models import OutboxEvent
from agencies.services import user_create
from consent_ledger.models import LedgerEntry
from consent_ledger.services import Terms, consent_grant, subject_create
from referrals.blue_card.deadlines import add_months
from referrals.placements.models import Placement, PlacementCheckIn
from referrals.working_days import today_in_poland
from tests.conftest import ALL_SCOPES

SCOPES = [*ALL_SCOPES, "placements:read", "placements:write"]
AGREEMENTS = "/api/v1/placement-agreements/"
PLACEMENTS = "/api/v1/placements/"
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()
PURPOSE = "employment_placement"

PROFILE = {
    "person": {"given_name": "Halina", "family_name": "Wiśniewska", "birth_date": "1968-04-12"},
    "contact": {"phone": "+48 601 222 333", "email": "halina@example.org"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia", "do_not_contact_via": ["home_visit"]},
    "languages": ["pl", "uk"],
}
# Values an employer must never see, whatever it was consented.
NEVER_FOR_EMPLOYERS = {"konwalia", "home_visit", "uk"}
IDENTITY_AND_CONTACT = {"Halina", "Wiśniewska", "+48 601 222 333", "halina@example.org"}
NOTES = "Sleeps badly since the hearing; therapist sees her on Tuesdays."
PLACEMENT_CATEGORIES = ("identity", "contact", "employment")
ROLES = ["kitchen assistant", "housekeeping", "reception"]


def placement_url(placement_id) -> str:
    return f"{PLACEMENTS}{placement_id}"


def transition_url(placement_id) -> str:
    return f"{PLACEMENTS}{placement_id}/transition"


def check_ins_url(placement_id) -> str:
    return f"{PLACEMENTS}{placement_id}/check-ins/"


def outcome_url(placement_id) -> str:
    return f"{PLACEMENTS}{placement_id}/outcome"


def follow_up_url(placement_id) -> str:
    return f"{PLACEMENTS}{placement_id}/follow-up"


def months_ago(months: int) -> date:
    """The first day of the month `months` before this one (in Poland)."""
    return add_months(today_in_poland().replace(day=1), -months)


def month_text(day: date) -> str:
    return f"{day:%Y-%m}"


def created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def snapshot(placement_id) -> dict:
    """Everything a request could change about a placement, and the ledger and outbox."""
    return {
        "placement": Placement.objects.filter(pk=placement_id).values().get(),
        "check_ins": PlacementCheckIn.objects.filter(placement_id=placement_id).count(),
        "placements": Placement.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


class World:
    def __init__(self, party):
        self.cis = party("CIS Wrocław", "cis", scopes=SCOPES)
        self.hotel = party("Hotel Piast", "employer", scopes=SCOPES)
        self.bakery = party("Piekarnia Sowa", "employer", scopes=SCOPES)
        self.outsider = party("Fundacja Obca", "ngo", scopes=SCOPES)
        self.coordinator = user_create(agency=self.cis.agency, username="koordynatorka",
                                       password="correct horse battery 9", role="coordinator")
        self.caseworker = user_create(agency=self.cis.agency, username="pracowniczka",
                                      password="correct horse battery 9", role="caseworker")
        self.subject = subject_create(caller=self.cis.caller, external_ref="CIS/7/2030", profile=PROFILE)

    def consent(self, employer, categories=PLACEMENT_CATEGORIES, purposes=(PURPOSE,), subject=None):
        """Halina's written consent naming `employer`."""
        return consent_grant(
            caller=self.cis.caller, subject_id=(subject or self.subject).id, form="written", grantor="subject",
            evidence_sha256=EVIDENCE,
            terms=Terms(categories=list(categories), purposes=list(purposes), agencies=[str(employer.agency.id)]),
        )

    def agreement(self, employer=None, *, places=2, roles=ROLES, valid_from=None, valid_until=None) -> str:
        body = {
            "employer": str((employer or self.hotel).agency.id), "roles": roles, "places": places,
            "valid_from": (valid_from or months_ago(12)).isoformat(),
            "valid_until": (valid_until or months_ago(-12)).isoformat(),
        }
        return created(self.cis.post(AGREEMENTS, body))["id"]

    def proposal(self, agreement_id, employer=None, **changes) -> dict:
        """A well-formed proposal body, starting two months ago."""
        return {
            "subject": str(self.subject.id), "employer": str((employer or self.hotel).agency.id),
            "agreement": agreement_id, "coordinator": self.coordinator.id, "role": "kitchen assistant",
            "hours_per_week": 30, "start_on": months_ago(2).isoformat(), **changes,
        }

    def propose(self, agreement_id, employer=None, **changes):
        return self.cis.post(PLACEMENTS, self.proposal(agreement_id, employer, **changes))

    def placement(self, status="proposed", *, agreement_id=None, employer=None, **changes) -> str:
        """A placement of Halina's, taken to `status` through the API by the side
        whose step it is."""
        employer = employer or self.hotel
        agreement_id = agreement_id or self.agreement(employer)
        placement_id = created(self.propose(agreement_id, employer, **changes))["id"]
        for side, body in WAY_TO[status]:
            ok((employer if side == "employer" else self.cis).post(transition_url(placement_id), body))
        return placement_id


# The steps that take a new placement to each status (referrals/placements/lifecycle.py).
WAY_TO = {
    "proposed": [],
    "confirmed": [("employer", {"status": "confirmed"})],
    "declined": [("employer", {"status": "declined", "reason": "no_vacancy"})],
    "withdrawn": [("coordinator", {"status": "withdrawn"})],
    "active": [("employer", {"status": "confirmed"}), ("coordinator", {"status": "active"})],
    "completed": [("employer", {"status": "confirmed"}), ("coordinator", {"status": "active"}),
                  ("coordinator", {"status": "completed"})],
    "ended_early": [("employer", {"status": "confirmed"}), ("coordinator", {"status": "active"}),
                    ("employer", {"status": "ended_early", "reason": "attendance"})],
}
