"""Referral fixtures: an OPS that owns a subject, a shelter she consented to,
and helpers to send and move referrals. State is built through the API (with
tokens from the real token endpoint) or through the services, never the ORM.

test_referral_flow.py keeps its own copies of `ops`, `shelter` and `subject_id`;
these are the same, for the other modules."""

import hashlib
import json

import pytest

from agencies.callers import Caller
from agencies.models import OutboxEvent
from consent_ledger.models import LedgerEntry
from consent_ledger.services import Terms, consent_grant, subject_create
from referrals import services
from referrals.lifecycle import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    ON_HOLD,
    RECEIVED,
    RECIPIENT,
    REJECTED,
    REQUESTED,
    SENDER,
)
from referrals.models import CaseUpdate, Referral, ReferralTransition

PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01"},
    "contact": {"phone": "+48 600 100 200"},
    "safe_contact": {"channel": "sms", "codeword": "konwalia"},
    "languages": ["pl"],
}
PAYLOAD = {
    "summary": "Needs a safe place tonight; two children.",
    "risk": {"level": "high", "notes": "Partner threatened her yesterday."},
    "health": {"notes": "Asthma; inhaler needed."},
}
REASON = "Violence at home."
# What the shelter may receive: she consented to these for `referral`.
CONSENTED = ["identity", "safe_contact", "case_notes", "risk"]
# What the OPS keeps back from the shelter so that the send-time check passes.
WITHHOLD = ["health", "contact", "demographics"]
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()

REFERRALS = "/api/v1/referrals/"


def detail(referral_id) -> str:
    return f"{REFERRALS}{referral_id}"


def transition_url(referral_id) -> str:
    return f"{REFERRALS}{referral_id}/transition"


def updates_url(referral_id) -> str:
    return f"{REFERRALS}{referral_id}/updates/"


def strings_in(document) -> set[str]:
    """Every string value (not member name) anywhere in a JSON document."""
    if isinstance(document, dict):
        return set().union(*(strings_in(v) for v in document.values())) if document else set()
    if isinstance(document, list):
        return set().union(*(strings_in(v) for v in document)) if document else set()
    return {document} if isinstance(document, str) else set()


def leaked(person_data: set[str], document) -> set[str]:
    """The values of `person_data` found in `document`: as a whole string value
    anywhere, or inside any string when long enough not to be a common word
    ("pl" is inside "completed")."""
    text = json.dumps(document, default=str, ensure_ascii=False)
    values = strings_in(json.loads(text))
    return {v for v in person_data if v in values or (len(v) >= 6 and v in text)}


@pytest.fixture
def ops(party):
    return party("MOPS Wrocław", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko", "shelter")


@pytest.fixture
def outsider(party):
    """A third agency with valid tokens and every scope, party to nothing."""
    return party("Fundacja Obca", "ngo")


def consent(owner, subject_id, recipients: dict, categories, purposes=("referral",)):
    """Record the subject's written consent through the API; the consent's id."""
    granted = owner.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": recipients, "categories": list(categories), "purposes": list(purposes),
        "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
    })
    assert granted.status_code == 201, granted.content
    return granted.json()["id"]


@pytest.fixture
def subject_id(ops, shelter):
    """Anna, registered by the OPS, with her consent to the shelter for CONSENTED."""
    created = ops.post("/api/v1/subjects/", {"external_ref": "W/1", "profile": PROFILE})
    assert created.status_code == 201, created.content
    subject_id = created.json()["id"]
    consent(ops, subject_id, {"agencies": [str(shelter.agency.id)]}, CONSENTED)
    return subject_id


def send(sender, recipient, subject_id, **extra):
    """POST a shelter referral (all of PAYLOAD and REASON) unless `extra` changes it."""
    body = {
        "subject": str(subject_id), "to_agency": str(recipient.agency.id), "service": "shelter",
        "urgency": "emergency", "purpose": "referral", "payload": PAYLOAD, "reason": REASON, **extra,
    }
    headers = {k: body.pop(k) for k in list(body) if k.startswith("HTTP_")}
    return sender.post(REFERRALS, body, **headers)


@pytest.fixture
def referral_id(ops, shelter, subject_id):
    """A referral the OPS sent to the shelter, withholding WITHHOLD."""
    created = send(ops, shelter, subject_id, withhold_categories=WITHHOLD)
    assert created.status_code == 201, created.content
    return created.json()["id"]


# The steps that take a new referral to each status (DESIGN.md 4.5).
PATHS = {
    "requested": [],
    "received": [{"status": "received"}],
    "accepted": [{"status": "received"}, {"status": "accepted"}],
    "in-progress": [{"status": "received"}, {"status": "accepted"}, {"status": "in-progress"}],
    "on-hold": [{"status": "received"}, {"status": "accepted"}, {"status": "in-progress"}, {"status": "on-hold"}],
    "completed": [{"status": "received"}, {"status": "accepted"}, {"status": "in-progress"},
                  {"status": "completed", "outcome": {"success": True}}],
    "rejected": [{"status": "rejected", "reason": "No place for a family of three."}],
    "failed": [{"status": "received"}, {"status": "accepted"},
               {"status": "failed", "outcome": {"success": False, "reason": "unable_to_contact_client"}}],
}


def move(recipient, referral_id, to: str):
    """The recipient takes the referral from `requested` to `to` through the API."""
    for body in PATHS[to]:
        moved = recipient.post(transition_url(referral_id), body)
        assert moved.status_code == 200, moved.content


def snapshot(referral_id) -> dict:
    """Everything a request could change about a referral and its trail."""
    return {
        "referral": Referral.objects.filter(pk=referral_id).values().get(),
        "transitions": ReferralTransition.objects.filter(referral_id=referral_id).count(),
        "updates": CaseUpdate.objects.filter(referral_id=referral_id).count(),
        "ledger": LedgerEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


# --- service-level: callers without tokens, state through the services --------------

OUTSIDER = "outsider"
GOOD_REASON = "The family moved to another gmina."


def valid_outcome(to: str, success: bool):
    if to == COMPLETED:
        return {"success": True} if success else {"success": False, "reason": "client_refused_services"}
    if to == FAILED:
        return {"success": False, "reason": "unable_to_contact_client"}
    return None


class World:
    """What every example starts from: three agencies, and Anna with her
    consent to the shelter, so that referral_create's send check passes."""

    def __init__(self, make_agency, make_client):
        def caller(name, kind):
            agency = make_agency(name=name, kind=kind)
            return Caller(agency=agency, application=make_client(agency, ["referrals:write"])[0])

        self.callers = {
            SENDER: caller("MOPS Kraków", "ops"),
            RECIPIENT: caller("Schronisko Kraków", "shelter"),
            OUTSIDER: caller("Fundacja Obca", "ngo"),  # party to nothing
        }
        ops, shelter = self.callers[SENDER], self.callers[RECIPIENT]
        self.subject = subject_create(caller=ops, external_ref="K/1", profile=PROFILE)
        consent_grant(
            caller=ops, subject_id=self.subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
            terms=Terms(categories=CONSENTED, purposes=["referral"], agencies=[str(shelter.agency.id)]),
        )

    def referral(self) -> Referral:
        """A new referral from the OPS to the shelter, through the service."""
        return services.referral_create(
            caller=self.callers[SENDER], subject_id=self.subject.id, to_agency_id=self.callers[RECIPIENT].agency.id,
            service="shelter", urgency="urgent", purpose="referral", payload=PAYLOAD, reason=REASON,
            withhold_categories=WITHHOLD,
        )

    def referral_in(self, status: str) -> Referral:
        """A new referral taken to `status` by its parties, through the service."""
        referral = self.referral()
        for party, to in WAY_TO[status]:
            referral = services.referral_transition(
                caller=self.callers[party], referral_id=referral.id, to=to, reason=GOOD_REASON,
                outcome=valid_outcome(to, True),
            )
        return referral


@pytest.fixture
def world(make_agency, make_client) -> World:
    return World(make_agency, make_client)


# A way from `requested` to each status (DESIGN.md 4.5).
WAY_TO = {
    REQUESTED: [],
    RECEIVED: [(RECIPIENT, RECEIVED)],
    ACCEPTED: [(RECIPIENT, RECEIVED), (RECIPIENT, ACCEPTED)],
    IN_PROGRESS: [(RECIPIENT, RECEIVED), (RECIPIENT, ACCEPTED), (RECIPIENT, IN_PROGRESS)],
    ON_HOLD: [(RECIPIENT, RECEIVED), (RECIPIENT, ACCEPTED), (RECIPIENT, IN_PROGRESS), (RECIPIENT, ON_HOLD)],
    COMPLETED: [(RECIPIENT, RECEIVED), (RECIPIENT, ACCEPTED), (RECIPIENT, IN_PROGRESS), (RECIPIENT, COMPLETED)],
    REJECTED: [(RECIPIENT, REJECTED)],
    FAILED: [(RECIPIENT, RECEIVED), (RECIPIENT, ACCEPTED), (RECIPIENT, FAILED)],
    CANCELLED: [(RECIPIENT, RECEIVED), (SENDER, CANCELLED)],
}
