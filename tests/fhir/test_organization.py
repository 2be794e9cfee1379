"""GET fhir/Organization/{agency_id}: an agency of the directory as a FHIR R5
Organization, for any agency (the directory is open to agencies)."""

import uuid

from fhir.resources.organization import Organization

from referrals.fhir.common import AGENCY_KIND, SECTOR, TERYT

from .conftest import organization_url, read


def test_any_agency_reads_another_as_an_organization_with_its_kind_sector_and_teryt(party, outsider):
    shelter = party("Schronisko dla Kobiet", "shelter", teryt="0264011")

    organization, _ = read(outsider, organization_url(shelter.agency.id), Organization)

    assert (organization.id, organization.name, organization.active) == (
        str(shelter.agency.id), "Schronisko dla Kobiet", True)
    assert [(t.coding[0].system, t.coding[0].code) for t in organization.type] == [
        (AGENCY_KIND, "shelter"), (SECTOR, "ngo")]
    assert [(i.system, i.value) for i in organization.identifier] == [(TERYT, "0264011")]


def test_the_kind_is_displayed_in_the_answers_language(outsider, shelter):
    polish = outsider.client.get(organization_url(shelter.agency.id), HTTP_ACCEPT_LANGUAGE="pl",
                                 HTTP_AUTHORIZATION=f"Bearer {outsider.token}")

    organization = Organization.model_validate_json(polish.content)
    assert polish["Content-Language"] == "pl"
    assert organization.type[0].coding[0].display == "Ośrodek wsparcia / schronienie"


def test_an_agency_without_teryt_has_no_identifier_and_an_unknown_one_is_a_404(outsider, shelter):
    organization, _ = read(outsider, organization_url(shelter.agency.id), Organization)
    missing = outsider.get(organization_url(uuid.uuid4()))

    assert organization.identifier is None
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
