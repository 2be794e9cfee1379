"""GET fhir/Consent/{provision_id}: a provision of the consent ledger as a FHIR
R5 Consent, for the person's owner only."""

import base64

from fhir.resources.consent import Consent

from agencies.callers import Caller
from consent_ledger import services
from consent_ledger.erasure import subject_erase
from consent_ledger.models import Provision
from tests.clear_text import clear_text_hits
from referrals.fhir.common import AGENCY_KIND, DATA_CATEGORY, LEGAL_BASIS, PURPOSE
from tests.referrals.conftest import CONSENTED, EVIDENCE, PROFILE

from .conftest import consent_url, read


def provision_of(subject_id, **filters) -> Provision:
    return Provision.objects.get(subject_id=subject_id, **filters)


def test_a_consent_is_a_permit_naming_recipient_purposes_and_categories(ops, shelter, subject_id):
    provision = provision_of(subject_id, kind="consent")

    consent, text = read(ops, consent_url(provision.id), Consent)

    assert (consent.id, consent.status, consent.decision) == (str(provision.id), "active", "permit")
    assert consent.subject.reference == f"Patient/{subject_id}"
    assert consent.grantor[0].reference == f"Patient/{subject_id}"
    (rule,) = consent.provision
    assert [a.reference.reference for a in rule.actor] == [f"Organization/{shelter.agency.id}"]
    assert {(c.system, c.code) for c in rule.purpose} == {(PURPOSE, "referral")}
    assert {(c.system, c.code) for c in rule.securityLabel} == {(DATA_CATEGORY, c) for c in CONSENTED}
    assert [(c.system, c.code) for c in consent.regulatoryBasis[0].coding] == [(LEGAL_BASIS, "consent")]
    digest = base64.urlsafe_b64encode(bytes.fromhex(EVIDENCE)).rstrip(b"=").decode()
    assert consent.sourceAttachment[0].url == f"ni:///sha-256;{digest}"
    assert not {PROFILE["person"]["given_name"], PROFILE["person"]["family_name"]} & set(text.split('"'))


def test_a_revoked_consent_is_inactive_and_its_period_ends_at_the_revocation(ops, subject_id):
    provision = provision_of(subject_id, kind="consent")
    assert ops.post(f"/api/v1/consents/{provision.id}/revoke", {"reason": "Nie chce."}).status_code == 200
    provision.refresh_from_db()

    consent, text = read(ops, consent_url(provision.id), Consent)

    assert consent.status == "inactive"
    assert consent.period.end == consent.provision[0].period.end
    assert consent.period.end.replace(microsecond=0) == provision.ended_at.replace(microsecond=0)
    assert "Nie chce." not in text  # the revocation's reason is a note of the ledger, not part of the consent


def test_a_refusal_of_an_agency_kind_denies_through_a_definitional_group(ops, subject_id):
    refused = ops.post(f"/api/v1/subjects/{subject_id}/refusals/", {
        "recipients": {"agency_kinds": ["police"]}, "categories": ["health"], "purposes": ["referral"],
        "form": "verbal_witnessed", "grantor": "legal_guardian",
    })
    assert refused.status_code == 201, refused.content

    consent, _ = read(ops, consent_url(refused.json()["id"]), Consent)

    assert consent.decision == "deny" and consent.regulatoryBasis is None
    (group,) = consent.contained
    assert (group.type, group.membership) == ("organization", "definitional")
    assert [(c.system, c.code) for c in group.characteristic[0].valueCodeableConcept.coding] == [(AGENCY_KIND, "police")]
    assert [a.reference.reference for a in consent.provision[0].actor] == [f"#{group.id}"]
    assert consent.grantor[0].type == "RelatedPerson" and consent.grantor[0].reference is None


def test_a_statutory_basis_permits_on_its_regulatory_basis(ops, shelter, subject_id):
    asserted = ops.post(f"/api/v1/subjects/{subject_id}/legal-bases/", {
        "basis": "court_order", "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["identity"],
        "purposes": ["referral"], "reference": "III RC 1/26",
    })
    assert asserted.status_code == 201, asserted.content

    consent, _ = read(ops, consent_url(asserted.json()["id"]), Consent)

    assert consent.decision == "permit" and consent.grantor is None
    assert [(c.system, c.code) for c in consent.regulatoryBasis[0].coding] == [(LEGAL_BASIS, "court_order")]
    assert consent.regulatoryBasis[0].text == "III RC 1/26"


def test_a_bases_reference_and_a_reviewers_comment_go_with_the_persons_erasure(ops, shelter, subject_id, make_user):
    # A court's case signature names her; so does the supervisor's comment on an emergency disclosure.
    reference, comment = "III Nsm 77/26 Kowalska", "Kowalska was not at risk that night"
    asserted = ops.post(f"/api/v1/subjects/{subject_id}/legal-bases/", {
        "basis": "court_order", "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["identity"],
        "purposes": ["referral"], "reference": reference,
    })
    assert ops.post(f"/api/v1/legal-bases/{asserted.json()['id']}/end", {"reason": "order expired"}).status_code == 200
    emergency = services.emergency_disclosure_record(
        caller=ops.caller, subject_id=subject_id, recipient_id=str(shelter.agency.id), categories=["demographics"],
        justification="Partner at the door.",
    )
    supervisor = make_user(ops.agency, username="kierownik", role="supervisor")
    services.emergency_review_complete(user=supervisor, review_id=emergency.review.pk, upheld=False, comment=comment)
    assert {value for *_, value in clear_text_hits([reference, comment])} == {reference, comment}

    subject_erase(caller=Caller(agency=ops.agency, user=supervisor), subject_id=subject_id, reason="subject_request")

    assert clear_text_hits([reference, comment]) == []
    consent, text = read(ops, consent_url(asserted.json()["id"]), Consent)
    assert [(c.system, c.code) for c in consent.regulatoryBasis[0].coding] == [(LEGAL_BASIS, "court_order")]
    assert consent.regulatoryBasis[0].text is None and "Nsm" not in text


def test_a_provision_is_the_owners_alone(shelter, outsider, subject_id):
    provision = provision_of(subject_id, kind="consent")

    for party in (shelter, outsider):  # the consent's recipient, and an agency party to nothing
        response = party.get(consent_url(provision.id))
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
