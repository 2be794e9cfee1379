"""GET fhir/Bundle/referral/{referral_id}: the referral with its context, from
one read of the referral."""

from fhir.resources.auditevent import AuditEvent
from fhir.resources.bundle import Bundle
from fhir.resources.organization import Organization

from consent_ledger.models import Provision
from referrals.fhir.common import WITHHELD_CATEGORY
from tests.conftest import ALL_SCOPES
from tests.referrals.conftest import PAYLOAD, PROFILE, WITHHOLD, consent, send

from .conftest import bundle_url, disclosures, labels, read


def by_type(bundle) -> dict[str, list]:
    found: dict[str, list] = {}
    for entry in bundle.entry:
        found.setdefault(entry.resource.get_resource_type(), []).append(entry)
    return found


def test_the_recipients_bundle_holds_the_task_both_agencies_and_this_reads_audit_event(ops, shelter, referral_id):
    before = disclosures()

    bundle, text = read(shelter, bundle_url(referral_id), Bundle)

    (entry,) = disclosures()[len(before):]  # one read, one entry
    found = by_type(bundle)
    assert bundle.type == "collection"
    assert {t: len(e) for t, e in found.items()} == {"Task": 1, "Organization": 2, "AuditEvent": 1}
    assert {e.resource.id for e in found["Organization"]} == {str(ops.agency.id), str(shelter.agency.id)}
    (audit,) = found["AuditEvent"]
    assert audit.resource.id == str(entry.id)
    details = {d.type.coding[0].code: d for d in audit.resource.entity[0].detail}
    assert details["leaf-hash"].valueString == entry.leaf_hash
    (task,) = found["Task"]
    assert labels(task.resource, WITHHELD_CATEGORY) == set(WITHHOLD)
    assert PAYLOAD["health"]["notes"] not in text and PROFILE["contact"]["phone"] not in text


def test_every_full_url_is_where_the_resource_is_served(shelter, referral_id):
    bundle, _ = read(shelter, bundle_url(referral_id), Bundle)

    for entry in bundle.entry:
        resource = entry.resource
        assert entry.fullUrl == f"http://testserver/api/v1/fhir/{resource.get_resource_type()}/{resource.id}"
    organization = next(e for e in bundle.entry if e.resource.get_resource_type() == "Organization")
    served, _ = read(shelter, organization.fullUrl.removeprefix("http://testserver"), Organization)
    assert served == organization.resource


def test_the_owner_gets_the_consents_the_referral_relies_on(ops, shelter, party, subject_id, referral_id):
    # A consent to another agency is not one the referral relies on.
    consent(ops, subject_id, {"agencies": [str(party("Inna", "ngo").agency.id)]}, ["identity"])
    relied_on = Provision.objects.get(subject_id=subject_id, recipient_agencies=[str(shelter.agency.id)])

    bundle, _ = read(ops, bundle_url(referral_id), Bundle)

    found = by_type(bundle)
    assert [e.resource.id for e in found["Consent"]] == [str(relied_on.id)]
    assert "AuditEvent" not in found  # the owner reading what it wrote is no disclosure


def test_the_recipient_never_gets_the_owners_consents(shelter, referral_id):
    bundle, _ = read(shelter, bundle_url(referral_id), Bundle)

    assert "Consent" not in by_type(bundle)


def test_without_audit_read_the_bundle_goes_without_the_audit_event(ops, party, subject_id):
    shelter = party("Schronisko bez audytu", "shelter", scopes=[s for s in ALL_SCOPES if s != "audit:read"])
    consent(ops, subject_id, {"agencies": [str(shelter.agency.id)]}, ["identity", "case_notes", "risk"])
    created = send(ops, shelter, subject_id, withhold_categories=["health", "contact", "demographics", "safe_contact"])
    assert created.status_code == 201, created.content
    before = disclosures()

    bundle, _ = read(shelter, bundle_url(created.json()["id"]), Bundle)

    assert "AuditEvent" not in by_type(bundle)
    assert len(disclosures()) == len(before) + 1  # the read is recorded all the same


def test_the_audit_event_in_the_bundle_is_the_one_its_own_endpoint_serves(shelter, referral_id):
    bundle, _ = read(shelter, bundle_url(referral_id), Bundle)
    (audit,) = by_type(bundle)["AuditEvent"]

    served, _ = read(shelter, audit.fullUrl.removeprefix("http://testserver"), AuditEvent)

    assert served.id == audit.resource.id and served.entity == audit.resource.entity
