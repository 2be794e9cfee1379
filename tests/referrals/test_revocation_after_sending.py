"""Issue 4: revocation after sending. A referral already in the shelter's inbox
does not carry the consent with it: the very next read is decided again, the
revoked category is withheld, and the accounting shows every read as it was.
Events never carry the person's data."""

import uuid

import pytest

from agencies.models import OutboxEvent
from tests.referrals.conftest import (
    EVIDENCE,
    PAYLOAD,
    PROFILE,
    REASON,
    WITHHOLD,
    detail,
    leaked,
    send,
    strings_in,
    transition_url,
    updates_url,
)

# Where each consented category shows in what the shelter reads.
PLACES = {
    "identity": ("profile", "person"),
    "safe_contact": ("profile", "safe_contact"),
    "risk": ("payload", "risk"),
    "case_notes": ("payload", "summary"),
}


@pytest.fixture
def subject(ops, shelter):
    """Anna, with one written consent per category to the shelter, so that
    each category can be revoked alone: {category: (consent id, its ledger entry id)}."""
    subject_id = ops.post("/api/v1/subjects/", {"external_ref": "W/2", "profile": PROFILE}).json()["id"]
    consents = {}
    for category in PLACES:
        granted = ops.post(f"/api/v1/subjects/{subject_id}/consents/", {
            "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": [category],
            "purposes": ["referral"], "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE,
        })
        assert granted.status_code == 201, granted.content
        consents[category] = (granted.json()["id"], granted.json()["ledger_entry"]["id"])
    return subject_id, consents


def read(shelter, referral_id) -> dict:
    response = shelter.get(detail(referral_id))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("revoked", sorted(PLACES))
def test_the_next_read_withholds_the_revoked_category(ops, shelter, subject, revoked):
    subject_id, consents = subject
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    first = read(shelter, referral_id)

    revocation = ops.post(f"/api/v1/consents/{consents[revoked][0]}/revoke", {"reason": "She asked us to stop."})
    second = read(shelter, referral_id)

    assert revocation.status_code == 200, revocation.content
    document, member = PLACES[revoked]
    # Before: everything consented; after: the same less the revoked category.
    assert set(first["payload"]) == {"summary", "risk"}
    assert set(first["subject"]["profile"]) == {"person", "safe_contact"}
    before = {"payload": first["payload"], "profile": first["subject"]["profile"]}
    after = {"payload": second["payload"], "profile": second["subject"]["profile"]}
    assert member not in after[document]
    assert after[document] == {k: v for k, v in before[document].items() if k != member}
    other = "profile" if document == "payload" else "payload"
    assert after[other] == before[other]
    withheld = {"payload": second["withheld_categories"], "profile": second["subject"]["withheld_categories"]}
    assert withheld == {
        "payload": sorted({"health"} | ({revoked} if document == "payload" else set())),
        "profile": sorted({"contact", "demographics"} | ({revoked} if document == "profile" else set())),
    }
    # The free-text reason is case_notes: it goes with that consent.
    assert first["reason"] == REASON
    assert second["reason"] == (None if revoked == "case_notes" else REASON)

    # The accounting (newest first): each read is one disclosure of payload and profile.
    accounting = ops.get(f"/api/v1/subjects/{subject_id}/disclosures/").json()["results"]
    first_read = (["case_notes", "identity", "risk", "safe_contact"], ["contact", "demographics", "health"])
    second_read = (
        [c for c in first_read[0] if c != revoked],
        sorted({*first_read[1], revoked}),
    )
    assert [(row["categories"], row["withheld_categories"]) for row in accounting] == [second_read, first_read]
    assert {row["recipient"] for row in accounting} == {str(shelter.agency.id)}
    assert {row["purpose"] for row in accounting} == {"referral"}
    # The later reads rest on no basis from the revoked consent.
    revoked_entry = consents[revoked][1]
    assert revoked_entry in {b["entry"] for b in accounting[1]["bases"]}
    assert revoked_entry not in {b["entry"] for b in accounting[0]["bases"]}


def test_the_sender_still_sees_everything_and_no_event_carries_person_data(ops, shelter, subject):
    subject_id, consents = subject
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"]
    read(shelter, referral_id)
    ops.post(f"/api/v1/consents/{consents['risk'][0]}/revoke", {"reason": "She asked us to stop."})
    read(shelter, referral_id)
    for step in ("received", "accepted", "in-progress"):
        assert shelter.post(transition_url(referral_id), {"status": step}).status_code == 200
    note = {"text": "Anna Nowak settled in; codeword konwalia still valid."}
    assert shelter.post(updates_url(referral_id), {"kind": "note", "payload": note}).status_code == 201
    done = shelter.post(transition_url(referral_id), {"status": "completed", "outcome": {"success": True}})
    assert done.status_code == 200

    seen_by_ops = ops.get(detail(referral_id)).json()

    assert seen_by_ops["payload"] == PAYLOAD
    assert seen_by_ops["subject"]["profile"] == PROFILE
    events = list(OutboxEvent.objects.order_by("seq").values())  # the consent's own events too
    assert [e["type"] for e in events if e["object_type"] == "referral"] == [
        "referral.requested", "referral.received", "referral.accepted", "referral.in_progress",
        "referral.update_added", "referral.completed",
    ]
    person_data = strings_in(PROFILE) | strings_in(PAYLOAD) | strings_in(note) | {REASON}
    assert not leaked(person_data, events)
    assert {e["object_id"] for e in events if e["object_type"] == "referral"} == {uuid.UUID(referral_id)}
