"""The consent-ledger API end to end: scopes, tenancy (404), problem+json,
disclosure through the choke point, accounting, receipts."""

import hashlib

import pytest

from consent_ledger.models import EmergencyReview, EntryKind, LedgerEntry, LedgerNote
from consent_ledger.sequencer import ledger_sequence_all
from tests.conftest import bearer

PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1944-05-14", "pesel": "44051401359"},
    "contact": {"phone": "+48 600 100 200", "email": "anna@example.org"},
    "safe_contact": {"channel": "phone_call", "codeword": "konwalia"},
    "languages": ["pl", "uk"],
    "interpreter_needed": False,
}
EVIDENCE = hashlib.sha256(b"signed consent form").hexdigest()


@pytest.fixture
def ops(party):
    return party("MOPS Wrocław", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko", "shelter")


@pytest.fixture
def outsider(party):
    return party("Komenda Policji", "police")


@pytest.fixture
def subject_id(ops):
    response = ops.post("/api/v1/subjects/", {"external_ref": "MOPS/2026/117", "profile": PROFILE})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def consent(ops, subject_id, recipient, categories, purposes=("referral",), **extra):
    body = {
        "recipients": {"agencies": [str(recipient.agency.id)]},
        "categories": list(categories),
        "purposes": list(purposes),
        "form": "written",
        "grantor": "subject",
        "evidence_sha256": EVIDENCE,
        **extra,
    }
    return ops.post(f"/api/v1/subjects/{subject_id}/consents/", body)


def test_owner_reads_the_whole_profile_without_a_disclosure(ops, subject_id):
    response = ops.get(f"/api/v1/subjects/{subject_id}")

    assert response.status_code == 200
    assert response.json() == {"id": subject_id, "profile": PROFILE, "withheld_categories": []}
    assert not LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).exists()


def test_profile_is_validated_with_pointers(ops):
    bad = {**PROFILE, "person": {**PROFILE["person"], "pesel": "44051401358"}, "shoe_size": 38}

    response = ops.post("/api/v1/subjects/", {"external_ref": "X/1", "profile": bad})

    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/profile/person/pesel", "/profile/shoe_size"}
    assert "44051401358" not in response.content.decode()


def test_the_same_external_ref_twice_is_409(ops, subject_id):
    response = ops.post("/api/v1/subjects/", {"external_ref": "MOPS/2026/117", "profile": {}})

    assert response.status_code == 409
    assert response.json()["code"] == "subject_exists"


def test_agency_without_a_basis_gets_404_and_nothing_is_recorded(ops, shelter, outsider, subject_id):
    consent(ops, subject_id, shelter, ["identity"])
    before = LedgerEntry.objects.count()

    response = outsider.get(f"/api/v1/subjects/{subject_id}", purpose="referral")

    assert response.status_code == 404
    assert LedgerEntry.objects.count() == before


def test_consented_recipient_gets_exactly_the_consented_categories(ops, shelter, subject_id):
    granted = consent(ops, subject_id, shelter, ["identity", "safe_contact"])
    assert granted.status_code == 201, granted.content

    response = shelter.client.get(
        f"/api/v1/subjects/{subject_id}?purpose=referral", HTTP_X_REQUEST_ID="req-shelter-0001", **bearer(shelter.token)
    )

    assert response.status_code == 200
    body = response.json()
    assert body["profile"] == {"person": PROFILE["person"], "safe_contact": PROFILE["safe_contact"]}
    assert body["withheld_categories"] == ["contact", "demographics"]
    entry = LedgerEntry.objects.get(kind=EntryKind.DISCLOSURE)
    assert entry.body["categories"] == ["identity", "safe_contact"]
    assert entry.body["request_id"] == "req-shelter-0001"
    assert {b["entry"] for b in entry.body["bases"]} == {granted.json()["ledger_entry"]["id"]}


def test_consent_for_another_purpose_does_not_disclose(ops, shelter, subject_id):
    consent(ops, subject_id, shelter, ["identity"], purposes=["statistics"])

    response = shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral")

    assert response.status_code == 200
    assert response.json()["profile"] == {}


def test_purpose_is_required_and_must_be_known(ops, shelter, subject_id):
    consent(ops, subject_id, shelter, ["identity"])

    missing = shelter.get(f"/api/v1/subjects/{subject_id}")
    unknown = shelter.get(f"/api/v1/subjects/{subject_id}", purpose="curiosity")

    assert missing.status_code == unknown.status_code == 422
    assert unknown.json()["errors"][0]["parameter"] == "purpose"


def test_revocation_takes_effect_on_the_next_read(ops, shelter, subject_id):
    consent_id = consent(ops, subject_id, shelter, ["identity", "contact"]).json()["id"]
    assert "contact" in shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral").json()["profile"]

    revoked = ops.post(f"/api/v1/consents/{consent_id}/revoke", {"reason": "She asked on the phone."})

    assert revoked.status_code == 200
    assert revoked.json()["ended_at"] is not None
    after = shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral")
    assert after.status_code == 404  # no basis left: the subject is not even visible
    note = LedgerNote.objects.get(entry__kind=EntryKind.CONSENT_REVOKED)
    assert note.text == "She asked on the phone."
    assert note.entry.body["note_sha256"] == hashlib.sha256(note.text.encode()).hexdigest()
    assert "She asked" not in str(note.entry.body)


def test_revoking_twice_is_409_and_another_agency_cannot_revoke(ops, shelter, subject_id):
    consent_id = consent(ops, subject_id, shelter, ["identity"]).json()["id"]

    stranger = shelter.post(f"/api/v1/consents/{consent_id}/revoke", {})
    first = ops.post(f"/api/v1/consents/{consent_id}/revoke", {})
    second = ops.post(f"/api/v1/consents/{consent_id}/revoke", {})

    assert stranger.status_code == 404
    assert first.status_code == 200
    assert second.status_code == 409


def test_grant_answers_with_a_consent_receipt(ops, shelter, subject_id):
    response = consent(ops, subject_id, shelter, ["identity"], valid_until="2099-01-01T00:00:00Z")

    body = response.json()
    receipt = body["receipt"]
    entry = LedgerEntry.objects.get(id=body["ledger_entry"]["id"])
    assert body["ledger_entry"]["leaf_hash"] == entry.leaf_hash
    assert receipt["pii_principal_id"] == subject_id
    assert receipt["controller"] == {"id": str(ops.agency.id), "name": "MOPS Wrocław"}
    assert receipt["services"] == [{"purpose": "referral", "pii_categories": ["identity"]}]
    assert receipt["recipients"]["agencies"] == [str(shelter.agency.id)]
    assert receipt["valid_until"] == "2099-01-01T00:00:00.000000Z"
    assert receipt["evidence_sha256"] == EVIDENCE
    assert receipt["ledger_entry"] == body["ledger_entry"]
    assert "Anna" not in str(receipt)


@pytest.mark.parametrize(
    "change, pointer",
    [
        ({"categories": ["identity", "horoscope"]}, "/categories/1"),
        ({"purposes": ["gossip"]}, "/purposes/0"),
        ({"recipients": {"agencies": ["00000000-0000-0000-0000-000000000000"]}}, "/recipients/agencies/0"),
        ({"recipients": {"agency_kinds": ["bank"]}}, "/recipients/agency_kinds/0"),
        ({"recipients": {}}, "/recipients"),
        ({"valid_until": "2001-01-01T00:00:00Z"}, "/valid_until"),
        ({"form": "telepathy"}, "/form"),
        ({"evidence_sha256": ""}, "/evidence_sha256"),
        ({"colour": "blue"}, "/colour"),
    ],
)
def test_bad_consents_are_refused_with_pointers(ops, shelter, subject_id, change, pointer):
    body = {
        "recipients": {"agencies": [str(shelter.agency.id)]},
        "categories": ["identity"],
        "purposes": ["referral"],
        "form": "written",
        "grantor": "subject",
        "evidence_sha256": EVIDENCE,
        **change,
    }

    response = ops.post(f"/api/v1/subjects/{subject_id}/consents/", body)

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert pointer in {e.get("pointer") for e in response.json()["errors"]}
    assert not LedgerEntry.objects.filter(kind=EntryKind.CONSENT_GRANTED).exists()


def test_refusal_beats_consent_and_can_be_withdrawn(ops, shelter, subject_id):
    consent(ops, subject_id, shelter, ["identity", "health"])
    refusal = ops.post(
        f"/api/v1/subjects/{subject_id}/refusals/",
        {"recipients": {"agency_kinds": ["shelter"]}, "categories": ["identity"], "purposes": ["referral"],
         "form": "verbal_witnessed", "grantor": "subject"},
    )
    assert refusal.status_code == 201, refusal.content
    decide = {"subject": subject_id, "recipient": str(shelter.agency.id), "categories": ["identity"], "purpose": "referral"}

    assert ops.post("/api/v1/disclosure-decisions/", decide).json()["denied"] == ["identity"]
    ops.post(f"/api/v1/refusals/{refusal.json()['id']}/withdraw", {"reason": ""})
    assert ops.post("/api/v1/disclosure-decisions/", decide).json()["permitted"] == ["identity"]


def test_blue_card_basis_overrides_a_refusal(ops, shelter, subject_id):
    ops.post(
        f"/api/v1/subjects/{subject_id}/refusals/",
        {"recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["risk"], "purposes": ["team_plan"],
         "form": "written", "grantor": "subject", "evidence_sha256": EVIDENCE},
    )
    basis = ops.post(
        f"/api/v1/subjects/{subject_id}/legal-bases/",
        {"basis": "blue_card_procedure", "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["risk"],
         "purposes": ["team_plan"], "reference": "NK-A 12/2026"},
    )
    assert basis.status_code == 201, basis.content

    decision = ops.post(
        "/api/v1/disclosure-decisions/",
        {"subject": subject_id, "recipient": str(shelter.agency.id), "categories": ["risk"], "purpose": "team_plan"},
    ).json()

    assert decision["permitted"] == ["risk"]
    assert decision["bases"] == [{"category": "risk", "basis": "blue_card_procedure", "entry": basis.json()["ledger_entry"]["id"]}]


def test_decisions_are_a_dry_run(ops, shelter, subject_id):
    consent(ops, subject_id, shelter, ["identity"])
    before = LedgerEntry.objects.count()

    ops.post(
        "/api/v1/disclosure-decisions/",
        {"subject": subject_id, "recipient": str(shelter.agency.id), "categories": ["identity"], "purpose": "referral"},
    )

    assert LedgerEntry.objects.count() == before


def test_emergency_needs_a_justification_and_is_queued_for_review(ops, shelter, subject_id):
    url = f"/api/v1/subjects/{subject_id}/emergency-disclosures/"
    missing = ops.post(url, {"recipient": str(shelter.agency.id), "categories": ["location"], "justification": " "})

    created = ops.post(
        url, {"recipient": str(shelter.agency.id), "categories": ["contact"], "justification": "Threat of femicide tonight."}
    )

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"] == "/justification"
    assert created.status_code == 201
    assert EmergencyReview.objects.filter(agency=ops.agency, reviewed_at__isnull=True).count() == 1
    profile = shelter.get(f"/api/v1/subjects/{subject_id}", purpose="emergency").json()["profile"]
    assert profile == {"contact": PROFILE["contact"]}


def test_consent_state_lists_provisions_in_force_for_the_owner_only(ops, shelter, subject_id):
    consent_id = consent(ops, subject_id, shelter, ["identity"]).json()["id"]
    revoked_id = consent(ops, subject_id, shelter, ["contact"]).json()["id"]
    ops.post(f"/api/v1/consents/{revoked_id}/revoke", {})

    state = ops.get(f"/api/v1/subjects/{subject_id}/consent-state")

    assert [p["id"] for p in state.json()["provisions"]] == [consent_id]
    assert shelter.get(f"/api/v1/subjects/{subject_id}/consent-state").status_code == 404


def test_accounting_lists_each_disclosure(ops, shelter, subject_id, django_assert_max_num_queries):
    consent(ops, subject_id, shelter, ["identity"])
    for _ in range(3):
        shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral")

    with django_assert_max_num_queries(12):
        response = ops.get(f"/api/v1/subjects/{subject_id}/disclosures/")

    rows = response.json()["results"]
    assert len(rows) == 3
    assert rows[0]["recipient"] == str(shelter.agency.id)
    assert rows[0]["actor"] == f"client:{shelter.application.client_id}"
    assert rows[0]["categories"] == ["identity"]
    assert rows[0]["withheld_categories"] == ["contact", "demographics", "safe_contact"]
    assert rows[0]["purpose"] == "referral"
    assert rows[0]["bases"][0]["basis"] == "consent"
    assert shelter.get(f"/api/v1/subjects/{subject_id}/disclosures/").status_code == 404


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("post", "/api/v1/subjects/", "subjects:write"),
        ("get", "/api/v1/subjects/{id}", "subjects:read"),
        ("post", "/api/v1/subjects/{id}/consents/", "consents:write"),
        ("get", "/api/v1/subjects/{id}/consent-state", "consents:read"),
        ("get", "/api/v1/subjects/{id}/disclosures/", "audit:read"),
        ("post", "/api/v1/disclosure-decisions/", "consents:read"),
        ("get", "/api/v1/ledger/checkpoint", "ledger:read"),
    ],
)
def test_each_endpoint_needs_its_scope(client, party, subject_id, method, path, scope):
    weak = party("Bez zakresu", "ngo", scopes=["agencies:read"])

    response = getattr(client, method)(path.format(id=subject_id), content_type="application/json", **bearer(weak.token))

    assert response.status_code == 403
    assert scope in response.json()["required_scopes"]


def test_legal_basis_needs_a_known_basis_and_a_reference(ops, shelter, subject_id):
    body = {"recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["risk"], "purposes": ["team_plan"]}

    wrong_basis = ops.post(f"/api/v1/subjects/{subject_id}/legal-bases/", {**body, "basis": "consent", "reference": "x"})
    no_reference = ops.post(f"/api/v1/subjects/{subject_id}/legal-bases/", {**body, "basis": "court_order", "reference": " "})

    assert wrong_basis.status_code == no_reference.status_code == 422
    assert [e["pointer"] for e in wrong_basis.json()["errors"]] == ["/basis"]
    assert [e["pointer"] for e in no_reference.json()["errors"]] == ["/reference"]


def test_ending_a_legal_basis_stops_it_and_only_the_owner_may(ops, shelter, subject_id):
    created = ops.post(
        f"/api/v1/subjects/{subject_id}/legal-bases/",
        {"basis": "court_order", "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["identity"],
         "purposes": ["law_enforcement"], "reference": "III RC 12/26"},
    ).json()

    assert shelter.post(f"/api/v1/legal-bases/{created['id']}/end", {}).status_code == 404
    ended = ops.post(f"/api/v1/legal-bases/{created['id']}/end", {"reason": "Order expired."})

    assert ended.status_code == 200
    assert shelter.get(f"/api/v1/subjects/{subject_id}", purpose="law_enforcement").status_code == 404


def test_other_agencies_cannot_record_anything_for_a_subject(ops, shelter, subject_id):
    consent(ops, subject_id, shelter, ["identity"])

    response = consent(shelter, subject_id, shelter, ["contact"])

    assert response.status_code == 404
    assert shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral").json()["profile"] == {"person": PROFILE["person"]}


def test_subject_create_is_idempotent_with_a_key(ops):
    body = {"external_ref": "MOPS/2026/200", "profile": {"languages": ["pl"]}}

    first = ops.post("/api/v1/subjects/", body, HTTP_IDEMPOTENCY_KEY="subject-200")
    again = ops.post("/api/v1/subjects/", body, HTTP_IDEMPOTENCY_KEY="subject-200")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


def test_a_huge_profile_is_refused_cleanly(ops):
    deep = {"languages": ["pl"]}
    for _ in range(200):
        deep = {"nested": deep}

    response = ops.post("/api/v1/subjects/", {"external_ref": "X/deep", "profile": deep})

    assert response.status_code == 422, response.json()


def test_a_recipient_whose_consent_is_fully_refused_cannot_see_the_subject(ops, shelter, subject_id):
    consent(ops, subject_id, shelter, ["health"])
    ops.post(
        f"/api/v1/subjects/{subject_id}/refusals/",
        {"recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["health"], "purposes": ["referral"],
         "form": "verbal_witnessed", "grantor": "subject"},
    )

    assert shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral").status_code == 404
