"""Erasure by crypto-shredding (issue 12, item 2): POST subjects/{id}/erasure
destroys the person's data key. Afterwards nothing of their data is in clear
anywhere, reads of it answer 410, referrals show metadata only, the log still
verifies, and every agency that received their data got one `subject.erased`
event. A backup of the main database taken before cannot open it either."""

import secrets

import pytest
from django.db import connection

from agencies.models import AgencyApplication, OutboxEvent
from agencies.services import client_create
from consent_ledger import sealing
from consent_ledger.erasure import EVENT_TYPE
from consent_ledger.models import EntryKind, LedgerEntry, LedgerNote, Subject, SubjectReference
from consent_ledger.verify import verify_ledger
from hub.api.errors import PROBLEM_CONTENT_TYPE
from referrals.models import CaseUpdate
from tests.agencies.test_oauth_authorization_code import REDIRECT, authorize, code_from, exchange, s256
from tests.clear_text import clear_text_hits
from tests.conftest import Party
from tests.staff import verified_login

from .conftest import PAYLOAD, PROFILE, REASON, WITHHOLD, consent, detail, send, updates_url

UPDATE_TEXT = "Moved to the flat on Lipowa street, keys from Mrs Zielinska."
REVOCATION_NOTE = "She asked us to stop talking to the police officer Kowalski."
# Distinctive values of everything the person's data holds (ASCII, so that
# any encoding of them stores these very bytes).
CLEAR = [
    PROFILE["person"]["family_name"], PROFILE["safe_contact"]["codeword"], "600 100 200",
    PAYLOAD["risk"]["notes"], PAYLOAD["health"]["notes"], REASON, "Lipowa street", "Kowalski",
]


def erasure_url(subject_id) -> str:
    return f"/api/v1/subjects/{subject_id}/erasure"


@pytest.fixture
def staff_of(client, make_user):
    """staff_of(party, role) -> Party: a user of the party's agency, with a token
    of the agency's user app (authorization code, PKCE S256)."""

    def make(party: Party, role: str) -> Party:
        application = client_create(
            agency=party.agency, scopes=["subjects:read", "subjects:write"],
            grant_type=AgencyApplication.GRANT_AUTHORIZATION_CODE, redirect_uris=REDIRECT,
        ).application
        verified_login(client, make_user(party.agency, username=f"{role}.{secrets.token_hex(3)}", role=role))
        verifier = secrets.token_urlsafe(48)
        code = code_from(authorize(client, application, scope="subjects:read subjects:write",
                                   code_challenge=s256(verifier), code_challenge_method="S256"))
        token = exchange(client, application, code, verifier).json()["access_token"]
        client.logout()
        return Party(client, party.agency, application, token)

    return make


@pytest.fixture
def shared_case(ops, shelter, party, subject_id):
    """Anna's referral to the shelter, read by it; its case update, read by the
    OPS; a consent to the police, revoked with a note. The police never read."""
    # With Idempotency-Keys: the stored responses are metadata only.
    referral_id = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, HTTP_IDEMPOTENCY_KEY="r-1").json()["id"]
    assert shelter.get(detail(referral_id)).status_code == 200
    update = {"kind": "note", "payload": {"text": UPDATE_TEXT}}
    assert shelter.post(updates_url(referral_id), update, HTTP_IDEMPOTENCY_KEY="u-1").status_code == 201
    assert ops.get(updates_url(referral_id)).status_code == 200
    police = party("KMP Wrocław", "police")
    consent_id = consent(ops, subject_id, {"agencies": [str(police.agency.id)]}, ["identity"])
    assert ops.post(f"/api/v1/consents/{consent_id}/revoke", {"reason": REVOCATION_NOTE}).status_code == 200
    return referral_id, police


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    return body


def test_after_erasure_nothing_of_the_person_is_in_clear_and_the_log_verifies(
    ops, shelter, subject_id, shared_case, staff_of
):
    referral_id, police = shared_case
    # Before: only the erasable texts are in clear (the note beside the
    # revocation's entry); every sealed column holds ciphertext.
    assert {(table, value) for _, table, _, value in clear_text_hits(CLEAR)} == {
        ("consent_ledger_ledgernote", "Kowalski")
    }

    response = staff_of(ops, "dpo").post(erasure_url(subject_id), {"reason": "subject_request"})

    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "subject_request"
    assert clear_text_hits([*CLEAR, "W/1"]) == []
    assert not LedgerNote.objects.filter(entry__subject_id=subject_id).exists()
    assert not SubjectReference.objects.filter(subject_id=subject_id).exists()
    report = verify_ledger()
    assert (report.ok, report.problems) == (True, [])
    [erased] = LedgerEntry.objects.filter(subject_id=subject_id, kind=EntryKind.SUBJECT_ERASED)
    assert erased.body == {"reason": "subject_request"}
    # The shelter received her data; the police (consent revoked before any
    # read) and the OPS (the owner) did not.
    [event] = OutboxEvent.objects.filter(type=EVENT_TYPE)
    assert (str(event.object_id), event.agencies, event.data) == (str(subject_id), [str(shelter.agency.id)], {})


def test_after_erasure_reads_answer_410_and_referrals_show_metadata_only(
    ops, shelter, subject_id, shared_case, staff_of
):
    referral_id, _ = shared_case
    assert staff_of(ops, "supervisor").post(erasure_url(subject_id), {"reason": "consent_withdrawn"}).status_code == 200

    for reader in (ops, shelter):
        body = assert_problem(reader.get(f"/api/v1/subjects/{subject_id}", purpose="referral"), 410, "subject_erased")
        assert body["subject"] == str(subject_id)
    seen = shelter.get(detail(referral_id))
    assert seen.status_code == 200
    referral = seen.json()
    assert (referral["id"], referral["status"], referral["service"]) == (referral_id, "requested", "shelter")
    assert referral["payload"] is None and referral["subject"]["profile"] is None
    assert referral["reason"] is None
    updates = ops.get(updates_url(referral_id)).json()["results"]
    assert [u["payload"] for u in updates] == [None]
    # Nothing was disclosed after the erasure.
    last = LedgerEntry.objects.filter(subject_id=subject_id).order_by("-seq").first()
    assert last.kind == EntryKind.SUBJECT_ERASED


def test_a_backup_taken_before_erasure_cannot_open_the_persons_data(ops, subject_id, shared_case, staff_of):
    referral_id, _ = shared_case
    table, pk = Subject._meta.db_table, Subject._meta.pk.get_db_prep_value(subject_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT profile FROM {table} WHERE id = %s", [pk])
        [backup_profile] = cursor.fetchone()
    assert staff_of(ops, "dpo").post(erasure_url(subject_id), {"reason": "subject_request"}).status_code == 200

    # Restore the main database's rows as they were (the key store is not in its backups).
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET profile = %s, erased_at = NULL WHERE id = %s", [backup_profile, pk])
    sealing.key_cache.clear()  # as in any other process
    restored = Subject.objects.get(pk=subject_id)

    assert restored.erased_at is None and isinstance(restored.profile, sealing.Sealed)
    with pytest.raises(sealing.SubjectErased):
        sealing.unsealed(restored.profile)
    with pytest.raises(sealing.SubjectErased):
        sealing.unsealed(CaseUpdate.objects.get(referral_id=referral_id).payload)
    assert_problem(ops.get(f"/api/v1/subjects/{subject_id}"), 410, "subject_erased")
    # Nor can a late write give her a new key to seal more of her data under.
    with pytest.raises(sealing.SubjectErased):
        sealing.data_key(restored.id, create=True)


@pytest.mark.parametrize("role", ["caseworker", "coordinator", "agency_admin"])
def test_only_the_dpo_or_a_supervisor_may_erase(ops, subject_id, staff_of, role):
    assert_problem(staff_of(ops, role).post(erasure_url(subject_id), {"reason": "subject_request"}),
                   403, "erasure_forbidden")
    assert Subject.objects.get(pk=subject_id).erased_at is None


def test_a_machine_client_may_not_erase(ops, subject_id):
    assert_problem(ops.post(erasure_url(subject_id), {"reason": "subject_request"}), 403, "erasure_forbidden")


def test_another_agencys_subject_is_404_and_an_erased_one_410(ops, shelter, subject_id, staff_of):
    assert_problem(staff_of(shelter, "dpo").post(erasure_url(subject_id), {"reason": "subject_request"}),
                   404, "not_found")
    dpo = staff_of(ops, "dpo")
    assert dpo.post(erasure_url(subject_id), {"reason": "subject_request"}).status_code == 200
    assert_problem(dpo.post(erasure_url(subject_id), {"reason": "subject_request"}), 410, "subject_erased")
    assert LedgerEntry.objects.filter(subject_id=subject_id, kind=EntryKind.SUBJECT_ERASED).count() == 1


def test_an_unknown_reason_is_a_422_naming_the_member(ops, subject_id, staff_of):
    body = assert_problem(staff_of(ops, "dpo").post(erasure_url(subject_id), {"reason": "because"}),
                          422, "validation_error")
    assert [e["pointer"] for e in body["errors"]] == ["/reason"]


def test_a_court_order_in_force_blocks_erasure_until_it_ends(ops, subject_id, staff_of):
    created = ops.post(f"/api/v1/subjects/{subject_id}/legal-bases/", {
        "basis": "court_order", "recipients": {"agencies": [str(ops.agency.id)]}, "categories": ["identity"],
        "purposes": ["case_coordination"], "reference": "III RC 12/26",
    })
    assert created.status_code == 201, created.content
    dpo = staff_of(ops, "dpo")

    body = assert_problem(dpo.post(erasure_url(subject_id), {"reason": "subject_request"}), 409, "erasure_blocked")

    assert body["bases"] == [{"id": created.json()["id"], "basis": "court_order"}]
    assert ops.post(f"/api/v1/legal-bases/{created.json()['id']}/end", {"reason": "order expired"}).status_code == 200
    assert dpo.post(erasure_url(subject_id), {"reason": "legal_obligation"}).status_code == 200
