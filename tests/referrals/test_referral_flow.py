"""The closed loop of DESIGN.md 4.5 through the real token endpoint: OPS refers
a woman to a shelter; the shelter reads what she consented to, moves the
referral on and reports back; the OPS sees every step."""

import hashlib

import pytest

from agencies.models import OutboxEvent
from consent_ledger.models import EntryKind, LedgerEntry

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


@pytest.fixture
def ops(party):
    return party("MOPS Wrocław", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko", "shelter")


@pytest.fixture
def subject_id(ops, shelter):
    subject_id = ops.post("/api/v1/subjects/", {"external_ref": "W/1", "profile": PROFILE}).json()["id"]
    granted = ops.post(f"/api/v1/subjects/{subject_id}/consents/", {
        "recipients": {"agencies": [str(shelter.agency.id)]},
        "categories": ["identity", "safe_contact", "case_notes", "risk"],
        "purposes": ["referral"], "form": "written", "grantor": "subject",
        "evidence_sha256": hashlib.sha256(b"form").hexdigest(),
    })
    assert granted.status_code == 201, granted.content
    return subject_id


def send(ops, shelter, subject_id, **extra):
    body = {
        "subject": subject_id, "to_agency": str(shelter.agency.id), "service": "shelter", "urgency": "emergency",
        "purpose": "referral", "payload": PAYLOAD, "reason": "Violence at home.", **extra,
    }
    return ops.post("/api/v1/referrals/", body)


def test_uncovered_categories_are_refused_per_path(ops, shelter, subject_id):
    response = send(ops, shelter, subject_id)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "uncovered_categories"
    uncovered = {e["pointer"]: e["categories"] for e in body["errors"]}
    assert uncovered == {"/payload/health": ["health"], "/subject/profile/contact": ["contact"],
                         "/subject/profile/languages": ["demographics"]}


def test_the_closed_loop(ops, shelter, subject_id):
    created = send(ops, shelter, subject_id, withhold_categories=["health", "contact", "demographics"])
    assert created.status_code == 201, created.content
    referral_id = created.json()["id"]
    assert created.json()["status"] == "requested"

    inbox = shelter.get("/api/v1/referrals/", box="inbox").json()["results"]
    assert [r["id"] for r in inbox] == [referral_id]
    assert "payload" not in inbox[0]

    read = shelter.get(f"/api/v1/referrals/{referral_id}")
    body = read.json()
    assert body["payload"] == {"summary": PAYLOAD["summary"], "risk": PAYLOAD["risk"]}
    assert body["withheld_categories"] == ["health"]
    assert body["subject"]["profile"] == {"person": PROFILE["person"], "safe_contact": PROFILE["safe_contact"]}
    assert body["subject"]["withheld_categories"] == ["contact", "demographics"]
    assert body["reason"] == "Violence at home."

    etag = read["ETag"]
    for step in ("received", "accepted", "in-progress"):
        moved = shelter.post(f"/api/v1/referrals/{referral_id}/transition", {"status": step}, HTTP_IF_MATCH=etag)
        assert moved.status_code == 200, moved.content
        etag = moved["ETag"]
    update = shelter.post(f"/api/v1/referrals/{referral_id}/updates/", {"kind": "note", "payload": {"text": "Settled in."}})
    assert update.status_code == 201, update.content
    done = shelter.post(
        f"/api/v1/referrals/{referral_id}/transition",
        {"status": "completed", "outcome": {"success": True}},
    )
    assert done.status_code == 200, done.content

    seen = ops.get(f"/api/v1/referrals/{referral_id}").json()
    assert seen["status"] == "completed" and seen["outcome"] == {"success": True}
    assert all(seen[f] for f in ("received_at", "accepted_at", "started_at", "completed_at"))
    updates = ops.get(f"/api/v1/referrals/{referral_id}/updates/").json()["results"]
    assert updates[0]["payload"] == {"text": "Settled in."}
    # Newest first: the OPS reading the shelter's note (on the reply basis:
    # the shelter's consent covers case_notes), and the shelter's one read of
    # payload, profile and reason together.
    accounting = ops.get(f"/api/v1/subjects/{subject_id}/disclosures/").json()["results"]
    assert [row["recipient"] for row in accounting] == [str(ops.agency.id), str(shelter.agency.id)]
    assert (accounting[0]["categories"], accounting[0]["withheld_categories"]) == (["case_notes"], [])
    assert accounting[1]["categories"] == ["case_notes", "identity", "risk", "safe_contact"]
    assert accounting[1]["withheld_categories"] == ["contact", "demographics", "health"]
    types = list(OutboxEvent.objects.order_by("seq").values_list("type", flat=True))
    assert types == ["referral.requested", "referral.received", "referral.accepted", "referral.in_progress",
                     "referral.update_added", "referral.completed"]
    assert "Anna" not in str(list(OutboxEvent.objects.values("data")))


def test_stale_if_match_is_412_and_illegal_steps_409(ops, shelter, subject_id):
    referral_id = send(ops, shelter, subject_id, withhold_categories=["health", "contact", "demographics"]).json()["id"]
    etag = shelter.get(f"/api/v1/referrals/{referral_id}")["ETag"]
    shelter.post(f"/api/v1/referrals/{referral_id}/transition", {"status": "received"})

    stale = shelter.post(f"/api/v1/referrals/{referral_id}/transition", {"status": "accepted"}, HTTP_IF_MATCH=etag)
    skip = shelter.post(f"/api/v1/referrals/{referral_id}/transition", {"status": "completed", "outcome": {"success": True}})
    sender_forward = ops.post(f"/api/v1/referrals/{referral_id}/transition", {"status": "accepted"})

    assert stale.status_code == 412
    assert skip.status_code == 409
    assert skip.json()["current_status"] == "received"
    assert skip.json()["allowed"] == ["accepted", "rejected"]
    assert sender_forward.status_code == 409
    assert sender_forward.json()["allowed"] == ["cancelled"]
    assert not LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE, recorded_by=ops.agency).exists()
