"""Regression tests for the disclosure leaks found in review (issue 15, items
1-5), each named after the leak it prevents. A = the OPS that owns Anna,
B = a shelter, C = the police; every agency holds valid tokens with every
scope. State is built through the API."""

import pytest

from consent_ledger.models import EntryKind, LedgerEntry, RevocationNotice

from .conftest import PAYLOAD, PROFILE, REASON, consent, detail, send, transition_url, updates_url

pytestmark = pytest.mark.django_db

EVERYTHING = ["identity", "contact", "safe_contact", "demographics", "case_notes", "risk", "health", "location"]
NOTE = {"text": "She will call from her sister's phone after 18:00."}
WHEREABOUTS = "Moved to her sister's, Poznań, ul. Nowa 3, tel. 600 700 800."


@pytest.fixture
def police(party):
    return party("KPP Wrocław", "police")


def register(owner, ref="A/1") -> str:
    created = owner.post("/api/v1/subjects/", {"external_ref": ref, "profile": PROFILE})
    assert created.status_code == 201, created.content
    return created.json()["id"]


def accounting(owner, subject_id) -> list[dict]:
    return owner.get(f"/api/v1/subjects/{subject_id}/disclosures/").json()["results"]


def read(party, referral_id) -> dict:
    response = party.get(detail(referral_id))
    assert response.status_code == 200, response.content
    return response.json()


# --- 1. What a sender withholds never reaches the subject's owner ----------------------


def test_categories_a_sender_withholds_never_reach_the_subjects_owner(ops, shelter):
    anna = register(ops)
    consent(ops, anna, {"agencies": [str(shelter.agency.id)]}, EVERYTHING)
    sent = send(shelter, ops, anna, withhold_categories=["health", "case_notes"])
    assert sent.status_code == 201, sent.content

    seen = read(ops, sent.json()["id"])

    assert seen["payload"] == {"risk": PAYLOAD["risk"]}
    assert seen["reason"] is None  # case_notes, withheld by the shelter
    assert seen["withheld_categories"] == ["case_notes", "health"]
    [entry] = accounting(ops, anna)
    assert (entry["recipient"], entry["categories"]) == (str(ops.agency.id), ["risk"])
    assert entry["withheld_categories"] == ["case_notes", "health"]


# --- 2. Withholding holds on every read that belongs to the referral -------------------


@pytest.fixture
def withheld_from_police(ops, police):
    """Anna consented to the police receiving everything, for every purpose;
    the OPS still keeps her code word, health and case notes from them."""
    anna = register(ops)
    consent(ops, anna, {"agencies": [str(police.agency.id)]}, EVERYTHING, purposes=["referral", "case_coordination"])
    sent = send(ops, police, anna, service="police_protection", payload={"summary": "Threats by phone."},
                withhold_categories=["safe_contact", "health", "case_notes"])
    assert sent.status_code == 201, sent.content
    return anna, sent.json()["id"]


def test_a_referrals_withholding_holds_on_its_updates_and_reason(ops, police, withheld_from_police):
    _, referral_id = withheld_from_police
    assert ops.post(updates_url(referral_id), {"kind": "note", "payload": NOTE}).status_code == 201

    referral = read(police, referral_id)
    [update] = police.get(updates_url(referral_id)).json()["results"]

    assert referral["payload"] == {} and referral["reason"] is None
    assert referral["subject"]["profile"] == {k: PROFILE[k] for k in ("person", "contact", "languages")}
    assert (update["payload"], update["withheld_categories"]) == ({}, ["case_notes"])


@pytest.mark.parametrize("purpose", ["referral", "case_coordination"])
def test_a_referrals_withholding_holds_on_the_recipients_own_reads_of_the_subject(
    police, withheld_from_police, purpose
):
    # Decided: what an agency withheld from another about a person holds on
    # every read of hers by that agency, whatever the purpose or basis.
    anna, _ = withheld_from_police
    seen = police.get(f"/api/v1/subjects/{anna}", purpose=purpose).json()
    assert "safe_contact" not in seen["profile"] and "konwalia" not in str(seen)
    assert "safe_contact" in seen["withheld_categories"]


def test_the_dry_run_denies_what_a_referral_withholds_from_the_recipient(ops, police, withheld_from_police):
    anna, _ = withheld_from_police
    decided = ops.post("/api/v1/disclosure-decisions/", {
        "subject": anna, "recipient": str(police.agency.id), "categories": ["identity", "safe_contact"],
        "purpose": "case_coordination",
    }).json()
    assert (decided["permitted"], decided["denied"]) == (["identity"], ["safe_contact"])
    assert [b["category"] for b in decided["bases"]] == ["identity"]


def test_another_agency_with_the_same_basis_is_not_affected_by_the_withholding(ops, shelter, withheld_from_police):
    anna, _ = withheld_from_police
    consent(ops, anna, {"agencies": [str(shelter.agency.id)]}, ["safe_contact"])
    seen = shelter.get(f"/api/v1/subjects/{anna}", purpose="referral").json()
    assert seen["profile"] == {"safe_contact": PROFILE["safe_contact"]}


# --- 3. Free text passes the choke point -------------------------------------------------


def test_a_status_reason_reaches_the_other_party_only_through_the_choke_point(ops, police):
    anna = register(ops)
    consent_id = consent(ops, anna, {"agencies": [str(police.agency.id)]}, ["identity", "case_notes"])
    referral_id = send(ops, police, anna, service="police_protection", payload={"summary": "Threats."},
                       withhold_categories=["contact", "safe_contact", "demographics"]).json()["id"]
    rejected = police.post(transition_url(referral_id), {"status": "rejected", "reason": WHEREABOUTS})
    assert rejected.status_code == 200, rejected.content

    before = read(ops, referral_id)  # the reply basis: her consent to the police covers case_notes
    assert ops.post(f"/api/v1/consents/{consent_id}/revoke", {"reason": "Withdrawn."}).status_code == 200
    after = read(ops, referral_id)

    assert before["status_reason"] == WHEREABOUTS
    assert (after["status"], after["status_reason"], after["withheld_categories"]) == ("rejected", None, ["case_notes"])
    owner_reads = [e for e in accounting(ops, anna) if e["recipient"] == str(ops.agency.id)]
    assert [(e["categories"], e["withheld_categories"]) for e in owner_reads] == [([], ["case_notes"]), (["case_notes"], [])]


def test_the_reason_reaches_the_recipient_only_with_case_notes(ops, police):
    anna = register(ops)
    consent(ops, anna, {"agencies": [str(police.agency.id)]}, ["identity", "risk"])
    payload = {"summary": "Threats.", "risk": {"level": "high"}}
    referral_id = send(ops, police, anna, service="police_protection", payload=payload,
                       withhold_categories=["contact", "safe_contact", "demographics", "case_notes"]).json()["id"]
    seen = read(police, referral_id)
    assert (seen["payload"], seen["reason"]) == ({"risk": {"level": "high"}}, None)
    assert seen["withheld_categories"] == ["case_notes"]
    assert REASON not in str(seen)


# --- 4. No basis oracle ----------------------------------------------------------------


def _shape(response) -> tuple:
    """Everything in an answer that could depend on the recipient's bases."""
    body = response.json()
    varying = ("id", "subject", "acknowledge_by", "created_at", "updated_at", "request_id")
    return response.status_code, response["Content-Type"], {k: v for k, v in body.items() if k not in varying}


@pytest.mark.parametrize("withhold", [[], ["health"]])
def test_a_sender_who_does_not_own_the_subject_learns_nothing_of_the_recipients_bases(
    ops, shelter, police, withhold
):
    # Three people, each with a consent to the shelter; the police hold every
    # basis for the first, nothing for the second, a refusal for the third.
    people = [register(ops, f"A/{n}") for n in range(3)]
    for anna in people:
        consent(ops, anna, {"agencies": [str(shelter.agency.id)]}, EVERYTHING)
    consent(ops, people[0], {"agency_kinds": ["police"]}, EVERYTHING)
    refused = ops.post(f"/api/v1/subjects/{people[2]}/refusals/", {
        "recipients": {"agencies": [str(police.agency.id)]}, "categories": EVERYTHING, "purposes": ["referral"],
        "form": "verbal_witnessed", "grantor": "subject",
    })
    assert refused.status_code == 201, refused.content

    answers = [_shape(send(shelter, police, anna, withhold_categories=withhold)) for anna in people]

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 201
    # The owner may be told (it records the bases): its answer does differ.
    assert send(ops, police, people[1]).status_code == 422


def test_the_recipient_of_a_non_owners_referral_receives_only_what_its_bases_allow(ops, shelter, police):
    anna = register(ops)
    consent(ops, anna, {"agencies": [str(shelter.agency.id)]}, EVERYTHING)
    referral_id = send(shelter, police, anna).json()["id"]
    seen = read(police, referral_id)
    assert (seen["payload"], seen["reason"], seen["subject"]["profile"]) == ({}, None, {})
    assert [e["recipient"] for e in accounting(ops, anna)] == [str(police.agency.id)]


# --- 5. Revocation notices only to those who received data under the provision ----------


def test_revocation_notices_go_only_to_agencies_that_received_data_under_the_revoked_consent(ops, shelter, police):
    anna = register(ops)
    consent(ops, anna, {"agencies": [str(shelter.agency.id)]}, ["identity", "case_notes"])
    police_consent = consent(ops, anna, {"agencies": [str(police.agency.id)]}, ["identity"])
    for reader in (shelter, police):
        assert reader.get(f"/api/v1/subjects/{anna}", purpose="referral").status_code == 200

    assert ops.post(f"/api/v1/consents/{police_consent}/revoke", {"reason": "Withdrawn."}).status_code == 200

    notices = RevocationNotice.objects.filter(subject_id=anna)
    assert [(n.agency_id, n.categories) for n in notices] == [(police.agency.id, ["identity"])]
    assert shelter.get("/api/v1/notices/").json()["results"] == []
    assert not [e for e in shelter.get("/api/v1/events/").json()["results"] if e["type"] == "consent.revoked"]


def test_a_refusal_notifies_no_one_whose_data_came_under_a_statutory_basis(ops, shelter, police):
    anna = register(ops)
    blue_card = ops.post(f"/api/v1/subjects/{anna}/legal-bases/", {
        "basis": "blue_card_procedure", "recipients": {"agencies": [str(police.agency.id)]},
        "categories": ["identity"], "purposes": ["referral"], "reference": "NK-A 7/2026",
    })
    assert blue_card.status_code == 201, blue_card.content
    consent(ops, anna, {"agencies": [str(shelter.agency.id)]}, ["identity"])
    for reader in (shelter, police):
        assert reader.get(f"/api/v1/subjects/{anna}", purpose="referral").status_code == 200

    refused = ops.post(f"/api/v1/subjects/{anna}/refusals/", {
        "recipients": {"agencies": [str(shelter.agency.id), str(police.agency.id)]}, "categories": ["identity"],
        "purposes": ["referral"], "form": "verbal_witnessed", "grantor": "subject",
    })

    assert refused.status_code == 201, refused.content
    assert [n.agency_id for n in RevocationNotice.objects.filter(subject_id=anna)] == [shelter.agency.id]
    assert LedgerEntry.objects.filter(subject_id=anna, kind=EntryKind.DISCLOSURE).count() == 2
