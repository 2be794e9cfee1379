"""GET fhir/AuditEvent/{entry_id}: a ledger entry as a FHIR R5 AuditEvent, for
the agency that recorded it and the person's owner."""

from fhir.resources.auditevent import AuditEvent

from consent_ledger.models import EntryKind, LedgerEntry, Provision
from consent_ledger.sequencer import ledger_sequence_all
from referrals.fhir.common import DATA_CATEGORY, PURPOSE, WITHHELD_CATEGORY
from tests.referrals.conftest import CONSENTED, PAYLOAD, PROFILE, WITHHOLD, detail

from .conftest import audit_event_url, disclosures, read


def details(event) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in event.entity[0].detail:
        found.setdefault(item.type.coding[0].code, []).append(item)
    return found


def test_a_disclosure_is_an_audit_event_with_its_leaf_hash_categories_bases_and_purpose(
    ops, shelter, subject_id, referral_id
):
    assert shelter.get(detail(referral_id)).status_code == 200
    entry = disclosures()[-1]
    ledger_sequence_all()
    consent = Provision.objects.get(subject_id=subject_id, kind="consent")
    before = LedgerEntry.objects.count()

    event, text = read(shelter, audit_event_url(entry.id), AuditEvent)

    assert LedgerEntry.objects.count() == before  # reading the log adds nothing to it
    assert (event.id, event.action, str(event.patient.reference)) == (str(entry.id), "R", f"Patient/{subject_id}")
    found = details(event)
    assert found["leaf-hash"][0].valueString == entry.leaf_hash
    assert found["leaf-index"][0].valueInteger == entry.leaf.leaf_index
    withheld = {d.valueCodeableConcept.coding[0].code for d in found["withheld-category"]}
    assert withheld == set(WITHHOLD) and all(
        d.valueCodeableConcept.coding[0].system == WITHHELD_CATEGORY for d in found["withheld-category"]
    )
    assert {c.coding[0].code for c in event.entity[0].securityLabel} == set(CONSENTED)
    assert [(c.coding[0].system, c.coding[0].code) for c in event.authorization] == [(PURPOSE, "referral")]
    (basis,) = [e for e in event.entity if e.role.coding[0].code == "basis"]
    assert basis.what.reference == f"Consent/{consent.id}"
    assert {c.coding[0].code for c in basis.securityLabel} == set(CONSENTED)
    assert {c.coding[0].system for c in basis.securityLabel} == {DATA_CATEGORY}
    recipient, actor = event.agent
    assert recipient.who.reference == f"Organization/{shelter.agency.id}"
    assert actor.who.identifier.value == f"client:{shelter.application.client_id}"
    person_data = {PROFILE["person"]["given_name"], PROFILE["person"]["family_name"], PAYLOAD["summary"],
                   PAYLOAD["risk"]["notes"], PAYLOAD["health"]["notes"]}
    assert not [value for value in person_data if value in text]


def test_the_persons_owner_reads_the_disclosure_too(ops, shelter, referral_id):
    shelter.get(detail(referral_id))
    entry = disclosures()[-1]

    event, _ = read(ops, audit_event_url(entry.id), AuditEvent)

    assert event.id == str(entry.id)


def test_an_entry_that_records_a_provision_names_it(ops, subject_id):
    consent = Provision.objects.get(subject_id=subject_id, kind="consent")
    entry = LedgerEntry.objects.get(id=consent.granted_entry_id)

    event, _ = read(ops, audit_event_url(entry.id), AuditEvent)

    assert event.code.coding[0].code == EntryKind.CONSENT_GRANTED and event.action == "C"
    (recorded,) = [e for e in event.entity if e.role.coding[0].code == "provision"]
    assert recorded.what.reference == f"Consent/{consent.id}"
    assert details(event)["leaf-hash"][0].valueString == entry.leaf_hash
    assert "withheld-category" not in details(event)


def test_the_revocation_names_the_provision_it_ends(ops, subject_id):
    consent = Provision.objects.get(subject_id=subject_id, kind="consent")
    assert ops.post(f"/api/v1/consents/{consent.id}/revoke", {"reason": "Nie chce."}).status_code == 200
    consent.refresh_from_db()

    event, text = read(ops, audit_event_url(consent.ended_entry_id), AuditEvent)

    assert event.code.coding[0].code == EntryKind.CONSENT_REVOKED and event.action == "U"
    assert [e.what.reference for e in event.entity[1:]] == [f"Consent/{consent.id}"]
    assert "Nie chce." not in text


def test_an_entry_is_a_404_to_an_agency_that_neither_recorded_it_nor_owns_the_person(
    ops, shelter, outsider, subject_id, referral_id
):
    consent = Provision.objects.get(subject_id=subject_id, kind="consent")

    response = shelter.get(audit_event_url(consent.granted_entry_id))  # recorded by the MOPS, about its person
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    shelter.get(detail(referral_id))
    assert outsider.get(audit_event_url(disclosures()[-1].id)).status_code == 404
