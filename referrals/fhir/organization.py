"""An agency as a FHIR R5 Organization: the directory's data (agencies/
selectors.py), no people. Its type is its agency kind and its sector (DESIGN.md
4.1); its identifier the TERYT code of the gmina or powiat it serves, if any."""

from fhir.resources.organization import Organization

from agencies.models import Agency

from .common import AGENCY_KIND, SECTOR, TERYT, build, concept


def organization_from_agency(agency: Agency) -> Organization:
    data = {
        "resourceType": "Organization",
        "id": str(agency.id),
        "active": agency.active,
        "name": agency.name,
        "type": [concept(AGENCY_KIND, agency.kind), concept(SECTOR, agency.sector)],
    }
    if agency.teryt:
        data["identifier"] = [{"system": TERYT, "value": agency.teryt}]
    return build(Organization, data)
