"""Revocation notices: when the OPS revokes a consent (or records a refusal),
every agency that received the affected categories for that person gets a
`consent.revoked` event and a notice it must acknowledge; notices left
unacknowledged are escalated and listed for the recording agency's DPO."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.events import outbox_relay_all
from agencies.models import OutboxEvent
from consent_ledger.models import EntryKind, LedgerEntry, RevocationNotice
from consent_ledger.notices import EVENT_REVOKED, EVENT_UNACKNOWLEDGED, notices_escalate
from tests.staff import verified_login

from .conftest import (
    CONSENTED,
    EVENTS,
    assert_no_person_data,
    refer,
    register,
    subject_with_consent,
)

pytestmark = pytest.mark.django_db

NOTICES = "/api/v1/notices/"


def ack_url(notice_id) -> str:
    return f"{NOTICES}{notice_id}/ack"


def read_referral(party, referral_id):
    """The recipient reads the referral: a disclosure in the accounting."""
    read = party.get(f"/api/v1/referrals/{referral_id}")
    assert read.status_code == 200, read.content


def revoke(ops, consent_id):
    revoked = ops.post(f"/api/v1/consents/{consent_id}/revoke", {"reason": "She withdrew it by phone."})
    assert revoked.status_code == 200, revoked.content


def disclosed_to(party, subject_id) -> set[str]:
    bodies = [e.body for e in LedgerEntry.objects.filter(subject_id=subject_id, kind=EntryKind.DISCLOSURE)]
    return {c for b in bodies if b["recipient"] == str(party.agency.id) for c in b["categories"]}


@pytest.fixture
def revoked(ops, shelter, shelter_b, outsider):
    """The shelter and the hostel read Zofia's data; the outsider was named in
    her consent but read nothing. Then the OPS revokes the consent."""
    subject_id, consent_id = subject_with_consent(ops, [shelter, shelter_b, outsider])
    read_referral(shelter, refer(ops, shelter, subject_id))
    read_referral(shelter_b, refer(ops, shelter_b, subject_id))
    revoke(ops, consent_id)
    return {"subject": subject_id, "consent": consent_id}


def notice_of(party) -> RevocationNotice:
    return RevocationNotice.objects.get(agency=party.agency)


def test_every_agency_that_read_the_data_gets_an_event_and_a_notice(ops, shelter, shelter_b, outsider, revoked):
    outbox_relay_all()

    notices = shelter.get(NOTICES).json()["results"]
    revocations = [e for e in shelter.get(EVENTS).json()["results"] if e["type"] == EVENT_REVOKED]

    assert [(n["subject"], n["recorded_by"], n["acknowledged_at"]) for n in notices] == [
        (revoked["subject"], str(ops.agency.id), None)
    ]
    assert sorted(notices[0]["categories"]) == sorted(disclosed_to(shelter, revoked["subject"]))
    assert set(notices[0]["categories"]) <= set(CONSENTED) and notices[0]["categories"]
    assert [(e["object"], e["status"]) for e in revocations] == [
        ({"type": "notice", "id": notices[0]["id"]}, "unacknowledged")
    ]
    assert sorted(revocations[0]["agencies"]) == sorted([str(shelter.agency.id), str(ops.agency.id)])
    assert revocations[0]["data"]["categories"] == notices[0]["categories"]
    assert len(shelter_b.get(NOTICES).json()["results"]) == 1
    assert outsider.get(NOTICES).json()["results"] == []  # named in the consent, but received nothing
    assert not [e for e in outsider.get(EVENTS).json()["results"] if e["type"] == EVENT_REVOKED]
    ops_revocations = [e for e in ops.get(EVENTS).json()["results"] if e["type"] == EVENT_REVOKED]
    assert len(ops_revocations) == 2  # the recording agency follows both
    assert_no_person_data([notices, revocations, ops_revocations])


def test_the_revocation_reaches_the_shelters_webhook(
    ops, shelter, receiver, django_capture_on_commit_callbacks
):
    register(shelter, receiver, "/shelter", events=[EVENT_REVOKED])
    subject_id, consent_id = subject_with_consent(ops, [shelter])
    read_referral(shelter, refer(ops, shelter, subject_id))

    with django_capture_on_commit_callbacks(execute=True):
        revoke(ops, consent_id)

    [request] = receiver.received
    assert request.body["type"] == EVENT_REVOKED
    assert request.body["object"] == {"type": "notice", "id": str(notice_of(shelter).id)}
    assert receiver.rejected == []


def test_the_recipient_acknowledges_its_notice_and_no_one_else_can(shelter, shelter_b, outsider, revoked):
    notice = notice_of(shelter)

    stranger = outsider.post(ack_url(notice.id))
    other_recipient = shelter_b.post(ack_url(notice.id))
    notice.refresh_from_db()
    assert stranger.status_code == 404 and other_recipient.status_code == 404
    assert notice.acknowledged_at is None

    acked = shelter.post(ack_url(notice.id))
    again = shelter.post(ack_url(notice.id))

    assert acked.status_code == 200 and acked.json()["acknowledged_at"]
    assert again.json()["acknowledged_at"] == acked.json()["acknowledged_at"]  # idempotent
    assert shelter.get(NOTICES).json()["results"] == []  # open ones by default
    assert [n["id"] for n in shelter.get(NOTICES, state="all").json()["results"]] == [str(notice.id)]


def age(notices, hours: float) -> None:
    notices.update(created_at=timezone.now() - timedelta(hours=hours))


def escalations() -> list:
    return list(OutboxEvent.objects.filter(type=EVENT_UNACKNOWLEDGED).values_list("object_id", "agencies"))


def test_only_old_unacknowledged_notices_are_escalated_once(ops, shelter, shelter_b, revoked, settings):
    hours = settings.NOTICE_ESCALATION_HOURS
    assert shelter_b.post(ack_url(notice_of(shelter_b).id)).status_code == 200
    age(RevocationNotice.objects.all(), hours + 1)
    subject_id, consent_id = subject_with_consent(ops, [shelter], external_ref="OPS/2")
    read_referral(shelter, refer(ops, shelter, subject_id))
    revoke(ops, consent_id)
    age(RevocationNotice.objects.filter(subject_id=subject_id), hours - 1)  # recent: not yet
    old = RevocationNotice.objects.get(agency=shelter.agency, subject_id=revoked["subject"])

    escalated = notices_escalate()
    again = notices_escalate()

    assert (escalated, again) == (1, 0)
    assert escalations() == [(old.id, sorted([str(ops.agency.id), str(shelter.agency.id)]))]
    assert list(RevocationNotice.objects.exclude(escalated_at=None).values_list("id", flat=True)) == [old.id]

    settings.NOTICE_ESCALATION_HOURS = hours - 2  # configurable: the recent one is now late too
    assert notices_escalate() == 1
    assert len(escalations()) == 2


@pytest.fixture
def dpo_page(client, make_user):
    def page(agency, role="dpo", username=None):
        user = make_user(agency, username=username or f"{role}-{agency.pk.hex[:8]}", role=role)
        verified_login(client, user)  # password and second factor (DESIGN.md 7)
        response = client.get("/ledger/notices")
        client.logout()
        assert response.status_code == (200 if role == "dpo" else 403)  # the page is the DPO's
        return response.content.decode()

    return page


def test_the_dpo_of_the_recording_agency_sees_the_unacknowledged_notices(
    ops, shelter, shelter_b, revoked, dpo_page, client
):
    assert shelter_b.post(ack_url(notice_of(shelter_b).id)).status_code == 200

    ops_dpo = dpo_page(ops.agency)
    ops_caseworker = dpo_page(ops.agency, role="caseworker")
    shelter_dpo = dpo_page(shelter.agency)

    assert revoked["subject"] in ops_dpo and shelter.agency.name in ops_dpo
    assert shelter_b.agency.name not in ops_dpo  # acknowledged
    assert revoked["subject"] not in ops_caseworker
    assert revoked["subject"] not in shelter_dpo  # the shelter did not record the consent
    assert_no_person_data(ops_dpo)
    assert client.get("/ledger/notices").status_code == 302  # login first


def test_the_dpo_page_lists_escalated_notices_first(ops, shelter, shelter_b, revoked, dpo_page):
    age(RevocationNotice.objects.filter(agency=shelter_b.agency), 1000)  # the hostel's is long overdue
    notices_escalate()

    page = dpo_page(ops.agency)

    assert page.index(shelter_b.agency.name) < page.index(shelter.agency.name)


def test_a_refusal_notifies_only_the_recipients_it_names(ops, shelter, shelter_b, revoked):
    subject_id, _ = subject_with_consent(ops, [shelter, shelter_b], external_ref="OPS/3")
    read_referral(shelter, refer(ops, shelter, subject_id))
    read_referral(shelter_b, refer(ops, shelter_b, subject_id))

    refused = ops.post(f"/api/v1/subjects/{subject_id}/refusals/", {
        "recipients": {"agencies": [str(shelter_b.agency.id)]}, "categories": ["risk"], "purposes": ["referral"],
        "form": "written", "grantor": "subject", "evidence_sha256": hashlib.sha256(b"refusal").hexdigest(),
    })

    assert refused.status_code == 201, refused.content
    notices = RevocationNotice.objects.filter(subject_id=subject_id)
    assert [(n.agency_id, n.categories) for n in notices] == [(shelter_b.agency.id, ["risk"])]
