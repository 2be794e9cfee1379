"""Events fixtures: agencies whose clients may manage webhooks, a local signed
webhook receiver, a subject with consent, and helpers that send referrals
through the API (which write the outbox events in their transaction)."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.models import Delivery
from tests.conftest import ALL_SCOPES

from .receiver import Receiver

SCOPES = (*ALL_SCOPES, "webhooks:manage")

# The person: every string value here is person data no event may carry.
EXTERNAL_REF = "OPS/ZW/2025/0417"
PROFILE = {
    "person": {"given_name": "Zofia", "family_name": "Wiśniewska", "birth_date": "1983-04-17"},
    "contact": {"phone": "+48 601 234 567"},
    "safe_contact": {"channel": "sms", "codeword": "fiołek-polny"},
    "languages": ["uk"],
}
PAYLOAD = {
    "summary": "Zofia needs a room for herself and a daughter tonight.",
    "risk": {"level": "high", "notes": "Husband broke the door on Tuesday."},
    "health": {"notes": "Diabetic; insulin in the fridge."},
}
REASON = "Domestic violence reported by the school pedagogue."
CONSENTED = ["identity", "safe_contact", "case_notes", "risk"]
WITHHOLD = ["health", "contact", "demographics"]

WEBHOOK_ENDPOINTS = "/api/v1/webhook-endpoints/"
EVENTS = "/api/v1/events/"


def strings_in(document) -> set[str]:
    """Every string value (not member name) anywhere in a JSON document."""
    if isinstance(document, dict):
        return set().union(set(), *(strings_in(v) for v in document.values()))
    if isinstance(document, list):
        return set().union(set(), *(strings_in(v) for v in document))
    return {document} if isinstance(document, str) else set()


PERSON_STRINGS = strings_in(PROFILE) | strings_in(PAYLOAD) | {REASON, EXTERNAL_REF}


def assert_no_person_data(document) -> None:
    """Neither a value of the profile or payload nor a fragment of the free
    texts appears anywhere in `document` (a message, a page of the feed)."""
    assert not strings_in(document) & PERSON_STRINGS
    text = str(document)
    for fragment in ("Zofia", "Wiśniewska", "1983-04-17", "601 234 567", "fiołek", "insulin", "pedagogue"):
        assert fragment not in text


# --- agencies -----------------------------------------------------------------------


@pytest.fixture
def ops(party):
    return party("MOPS Zielona Góra", "ops", scopes=SCOPES)


@pytest.fixture
def shelter(party):
    return party("Schronisko Przystań", "shelter", scopes=SCOPES)


@pytest.fixture
def shelter_b(party):
    return party("Hostel Interwencyjny", "shelter", scopes=SCOPES)


@pytest.fixture
def outsider(party):
    """A third agency with every scope, party to nothing."""
    return party("Fundacja Obca", "ngo", scopes=SCOPES)


# --- the receiver -------------------------------------------------------------------


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def register(party, receiver, path="/hook", events=(), url=None):
    """Register the receiver's `path` for `party` through the API; the secret
    (shown once) goes to the receiver. Returns the response body."""
    created = party.post(WEBHOOK_ENDPOINTS, {"url": url or receiver.url(path), "events": list(events)})
    assert created.status_code == 201, created.content
    body = created.json()
    receiver.secrets[path] = body["secret"]
    return body


# --- subjects and referrals ---------------------------------------------------------


def subject_with_consent(ops, recipients, categories=CONSENTED, external_ref=EXTERNAL_REF):
    """Register the person with the OPS and record her consent to `recipients`:
    (subject id, consent id)."""
    created = ops.post("/api/v1/subjects/", {"external_ref": external_ref, "profile": PROFILE})
    assert created.status_code == 201, created.content
    subject_id = created.json()["id"]
    granted = ops.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": {"agencies": [str(r.agency.id) for r in recipients]}, "categories": list(categories),
        "purposes": ["referral"], "form": "written", "grantor": "subject",
        "evidence_sha256": hashlib.sha256(b"signed consent form").hexdigest(),
    })
    assert granted.status_code == 201, granted.content
    return subject_id, granted.json()["id"]


def refer(sender, recipient, subject_id, urgency="emergency") -> str:
    """Send a shelter referral (withholding what she did not consent to); its id."""
    created = sender.post("/api/v1/referrals/", {
        "subject": str(subject_id), "to_agency": str(recipient.agency.id), "service": "shelter",
        "urgency": urgency, "purpose": "referral", "payload": PAYLOAD, "reason": REASON,
        "withhold_categories": WITHHOLD,
    })
    assert created.status_code == 201, created.content
    return created.json()["id"]


def transition(recipient, referral_id, status, **body):
    moved = recipient.post(f"/api/v1/referrals/{referral_id}/transition", {"status": status, **body})
    assert moved.status_code == 200, moved.content


# --- deliveries ---------------------------------------------------------------------


def make_due(delivery_or_id) -> None:
    """Move a retry's time into the past: what waiting for the backoff would do."""
    delivery_id = getattr(delivery_or_id, "pk", delivery_or_id)
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
