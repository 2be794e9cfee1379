"""The directory as Open Referral HSDS 3.1 documents (issue 14, item 3).

HSDS (Human Services Data Specification, https://openreferral.org/) is the
exchange format of service directories: what the hub publishes here other
directories and referral platforms can import without a mapping. The JSON
Schemas the documents follow are vendored in hsds_schemas/ (their README
names the source commit) and every document is validated against them in
tests/agencies/test_hsds.py.

How our records map:

- an Agency is an HSDS organization (organisation data only: the hub knows no
  e-mail or website of an agency, and its kind is its description);
- a DirectoryService is an HSDS service and, with its one DirectoryLocation,
  its service_at_location; its places are an HSDS 3.1 service_capacity in the
  unit "places"; its referral service code (DESIGN 4.1) and its eligibility
  codes are attributes with taxonomy terms of the hub's vocabularies;
- the gmina a location is in is its external identifier (scheme TERYT); the
  area an agency serves (Agency.teryt) is the service's service_area.

A location is always built through visibility.location_fields for the
calling agency: a confidential location (a shelter) shows no name and no
address object to anyone but its own agency. Nothing here decides
visibility otherwise.

HSDS objects the hub keeps no row for (a language, a schedule, a capacity...)
need UUIDs too: they are derived (uuid5) from the record they belong to, so
they are the same in every export and a consumer can update rather than
duplicate them.

Text for people (unit names, taxonomy labels) is in the language of the
request (hub/api/language.py); codes are the same in both.
"""

import re
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone, translation
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from rest_framework import serializers

from hub.api.errors import NotFoundError
from schemas.vocabularies import (
    AGENCY_KINDS,
    ELIGIBILITY_GROUPS,
    REFERRAL_SERVICES,
    term,
)

from ..models import SERVICE_ACTIVE, Agency, DirectoryLocation, DirectoryService
from ..selectors import uuid_or_none
from .geo import centroid, distance_km
from .visibility import address_visible, location_fields

HSDS_VERSION = "3.1"
# Namespace of the derived ids (uuid5): fixed for good, or every consumer
# would see new objects.
ID_NAMESPACE = uuid.UUID("732f24c8-71c3-433e-a636-f92e60037bbe")

# Taxonomies of the hub's vocabularies (schemas/vocabularies/*.json).
REFERRAL_SERVICES_TAXONOMY = "welfare-hub-referral-services"
ELIGIBILITY_TAXONOMY = "welfare-hub-eligibility-groups"
LOCATION_FLAGS_TAXONOMY = "welfare-hub-location-flags"
CONFIDENTIAL = "confidential"
# A location's gmina (GUS TERC register, part of TERYT) as its external identifier.
TERYT_SCHEME = "TERYT"
COUNTRY = "PL"  # ISO 3166-1 alpha-2
PLACES = "places"
EVERY_DAY = "MO,TU,WE,TH,FR,SA,SU"
_HH_MM = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")

# Voivodeships by the first two digits of a TERYT code (GUS TERC register).
VOIVODESHIPS = {
    "02": "dolnośląskie", "04": "kujawsko-pomorskie", "06": "lubelskie", "08": "lubuskie",
    "10": "łódzkie", "12": "małopolskie", "14": "mazowieckie", "16": "opolskie",
    "18": "podkarpackie", "20": "podlaskie", "22": "pomorskie", "24": "śląskie",
    "26": "świętokrzyskie", "28": "warmińsko-mazurskie", "30": "wielkopolskie", "32": "zachodniopomorskie",
}


def derived_id(*parts) -> str:
    """The stable UUID of an HSDS object the hub keeps no row for."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(part) for part in parts)))


def _compact(document: dict) -> dict:
    # HSDS types its members (a string is never null): a value the hub does
    # not have is left out, not sent as null or "".
    return {key: value for key, value in document.items() if value is not None and value != ""}


def _time(value) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


def _language() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "pl"


# --- Organizations -----------------------------------------------------------------


def organization_document(agency: Agency) -> dict:
    """The agency as an HSDS organization (organization.json), without its services."""
    return _compact({
        "id": str(agency.id),
        "name": agency.name,
        "description": term(AGENCY_KINDS, agency.kind).label(_language()),
    })


def full_organization_document(agency: Agency, services, caller_agency: Agency | None) -> dict:
    """The agency with `services` (its active ones) and their locations as
    `caller_agency` may see them: the HSDS API's full organization."""
    locations = {service.location_id: service.location for service in services}
    return {
        **organization_document(agency),
        "locations": [location_document(location, caller_agency) for location in locations.values()],
        "services": [service_document(service, caller_agency, with_organization=False) for service in services],
    }


# --- Services ----------------------------------------------------------------------


def service_document(service: DirectoryService, caller_agency: Agency | None, *, with_organization=True) -> dict:
    """The service as an HSDS service (service.json), its location as
    `caller_agency` may see it. `service.agency` and `service.location` are
    read: select them with the service."""
    service_id = str(service.id)
    document = _compact({
        "id": service_id,
        "organization_id": str(service.agency_id),
        "name": service.name,
        "description": service.description,
        "status": service.status,
        "eligibility_description": service.eligibility_description,
        "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age,
        "last_modified": _time(service.updated_at),
        "languages": [_language_document(code, service_id) for code in service.languages or []],
        "schedules": _schedules(service),
        "contacts": _contacts(service),
        "capacities": _capacities(service),
        "service_areas": _service_areas(service),
        "service_at_locations": [_service_at_location(service, caller_agency)],
        "attributes": _service_attributes(service),
    })
    if with_organization:
        document["organization"] = organization_document(service.agency)
    return document


def _language_document(code: str, service_id: str) -> dict:
    try:
        name = str(get_language_info(code)["name_translated"])
    except KeyError:  # a code Django has no name for: the code says it
        name = None
    return _compact({"id": derived_id(service_id, "language", code), "service_id": service_id, "code": code, "name": name})


def _schedules(service: DirectoryService) -> list[dict]:
    """Opening hours as weekly RFC 5545 rules (schedule.json). The hub keeps
    them in Polish local time; HSDS asks for the offset in opens_at and
    closes_at, which is the offset of today (a consumer reading an export
    from before a change of summer time gets the old one)."""
    service_id = str(service.id)
    offset = timezone.now().astimezone(ZoneInfo(settings.PAGES_TIME_ZONE)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    suffix = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    def at(value):
        return f"{value}{suffix}" if isinstance(value, str) and _HH_MM.match(value) else None

    def rule(key, byday, opens_at, closes_at, description=None):
        return _compact({
            "id": derived_id(service_id, "schedule", key), "service_id": service_id, "freq": "WEEKLY",
            "wkst": "MO", "byday": byday, "opens_at": at(opens_at), "closes_at": at(closes_at),
            "timezone": minutes // 60 if minutes % 60 == 0 else minutes / 60, "description": description,
        })

    schedules = [
        rule(index, entry.get("byday") if isinstance(entry.get("byday"), str) else None,
             entry.get("opens_at"), entry.get("closes_at"))
        for index, entry in enumerate(service.schedules or []) if isinstance(entry, dict)
    ]
    if service.open_24h:
        schedules.append(rule("24h", EVERY_DAY, "00:00", "23:59", _("Open 24 hours, every day")))
    return schedules


def _contacts(service: DirectoryService) -> list[dict]:
    """The contact for professionals (contact.json): never a person in care."""
    if not (service.contact_name or service.contact_phone or service.contact_email):
        return []
    contact_id = derived_id(service.id, "contact")
    phones = [{"id": derived_id(contact_id, "phone"), "contact_id": contact_id, "number": service.contact_phone,
               "type": "voice"}] if service.contact_phone else []
    return [_compact({
        "id": contact_id, "service_id": str(service.id), "name": service.contact_name,
        "email": service.contact_email, "phones": phones,
    })]


def _capacities(service: DirectoryService) -> list[dict]:
    """Live places as HSDS 3.1 service_capacity: free now (`available`) of
    `maximum`, and when they were last counted (`updated`)."""
    if service.capacity_total is None:
        return []
    unit = {"id": derived_id("unit", PLACES), "name": _("places"), "identifier": PLACES}
    return [{
        "id": derived_id(service.id, "capacity"), "service_id": str(service.id), "unit": unit,
        "unit_id": unit["id"], "available": service.capacity_free, "maximum": service.capacity_total,
        "updated": _time(service.capacity_updated_at),
    }]


def _service_areas(service: DirectoryService) -> list[dict]:
    """The gmina or powiat the agency serves (Agency.teryt), by its TERYT code."""
    teryt = service.agency.teryt
    if not teryt:
        return []
    return [{"id": derived_id(service.id, "service_area", teryt), "service_id": str(service.id), "name": f"TERYT {teryt}"}]


def _service_at_location(service: DirectoryService, caller_agency: Agency | None) -> dict:
    return {
        "id": derived_id(service.id, "service_at_location"), "service_id": str(service.id),
        "location_id": str(service.location_id), "location": location_document(service.location, caller_agency),
    }


def _service_attributes(service: DirectoryService) -> list[dict]:
    service_id = str(service.id)
    attributes = [_code_attribute(service_id, "service", REFERRAL_SERVICES, REFERRAL_SERVICES_TAXONOMY,
                                  service.service, "service_type")]
    for code in service.eligibility or []:
        attributes.append(_code_attribute(service_id, "service", ELIGIBILITY_GROUPS, ELIGIBILITY_TAXONOMY, code,
                                          "eligibility"))
    return attributes


# --- Locations ----------------------------------------------------------------------


def location_document(location: DirectoryLocation, caller_agency: Agency | None) -> dict:
    """The location (location.json) as `caller_agency` may see it
    (visibility.location_fields): a confidential one shows its gmina and
    that it is confidential, and to any other agency no name and no address."""
    fields = location_fields(location, caller_agency)
    location_id = str(fields["id"])
    document = _compact({
        "id": location_id, "location_type": "physical", "organization_id": str(location.agency_id),
        "name": fields["name"], "external_identifier": fields["teryt"], "external_identifier_type": TERYT_SCHEME,
    })
    address = _address(location_id, fields) if address_visible(location, caller_agency) else None
    if address is not None:
        document["addresses"] = [address]
    if fields["confidential"]:
        document["attributes"] = [_confidential_attribute(location_id)]
    return document


def _address(location_id: str, fields: dict) -> dict | None:
    """An HSDS address needs a street and a city: without them, none."""
    if not (fields["address_1"] and fields["city"]):
        return None
    return {
        "id": derived_id(location_id, "address"), "location_id": location_id, "address_1": fields["address_1"],
        "city": fields["city"], "state_province": VOIVODESHIPS.get(fields["teryt"][:2], ""),
        "postal_code": fields["postal_code"] or "", "country": COUNTRY, "address_type": "physical",
    }


def _confidential_attribute(location_id: str) -> dict:
    # Said to everyone, the owner included: a consumer of the owner's export
    # learns that this address must not be published on.
    label = _("Confidential address")
    return _attribute(location_id, "location", LOCATION_FLAGS_TAXONOMY, CONFIDENTIAL, label, "confidentiality")


# --- Attributes and taxonomies --------------------------------------------------------


def _code_attribute(link_id: str, entity: str, vocabulary: str, taxonomy: str, code: str, link_type: str) -> dict:
    try:
        label = term(vocabulary, code).label(_language())
    except KeyError:  # a code the vocabulary no longer lists: the code names it
        label = code
    return _attribute(link_id, entity, taxonomy, code, label, link_type)


def _attribute(link_id: str, entity: str, taxonomy: str, code: str, label: str, link_type: str) -> dict:
    """An attribute (attribute.json) linking `link_id` to the term `code` of
    one of the hub's taxonomies (taxonomy_term.json, taxonomy.json)."""
    detail = {
        "id": derived_id("taxonomy", taxonomy), "name": taxonomy,
        "description": _("Stable codes of the welfare hub (%(name)s).") % {"name": taxonomy},
    }
    taxonomy_term = {
        "id": derived_id("taxonomy", taxonomy, code), "code": code, "name": label, "description": label,
        "taxonomy": taxonomy, "taxonomy_id": detail["id"], "taxonomy_detail": detail, "language": _language(),
    }
    return {
        "id": derived_id(link_id, "attribute", taxonomy, code), "link_id": link_id, "link_type": link_type,
        "link_entity": entity, "taxonomy_term_id": taxonomy_term["id"], "taxonomy_term": taxonomy_term,
        "label": label,
    }


# --- The HSDS API's page and root ------------------------------------------------------


def page_document(contents: list, *, total: int, page_number: int, per_page: int) -> dict:
    """The HSDS API's Page (openapi.json, components/schemas/Page). `size`
    is the number of entities in this page; a page past the last is empty."""
    total_pages = -(-total // per_page)
    return {
        "total_items": total, "total_pages": total_pages, "page_number": page_number, "size": len(contents),
        "first_page": page_number == 1, "last_page": page_number >= total_pages, "empty": not contents,
        "contents": contents,
    }


def api_root_document(openapi_url: str) -> dict:
    """The HSDS API's `/` (getAPIMetaInformation): the HSDS version, and
    where the OpenAPI document of this API is."""
    return {"version": HSDS_VERSION, "openapi_url": openapi_url}


# --- What the export reads ------------------------------------------------------------
#
# The directory is public to every authenticated agency (agencies/selectors.py):
# only its confidential addresses are not, and those are left out when the
# documents are built. The export shows active services of active agencies.


def _active_services() -> QuerySet[DirectoryService]:
    return DirectoryService.objects.filter(status=SERVICE_ACTIVE, agency__active=True)


def hsds_services(*, service: str | None = None, organization_id=None) -> QuerySet[DirectoryService]:
    services = _active_services().select_related("agency", "location")
    if service:
        services = services.filter(service=service)
    if organization_id:
        services = services.filter(agency_id=organization_id)
    return services.order_by("name", "id")


def hsds_page(objects: QuerySet, *, page: int, per_page: int) -> tuple[list, int]:
    """(the objects of page `page`, how many there are in all): two queries,
    one past the last page."""
    total = objects.count()
    offset = (page - 1) * per_page
    return (list(objects[offset:offset + per_page]) if offset < total else []), total


def hsds_service_page(services: QuerySet[DirectoryService], *, page: int, per_page: int, teryt: str | None = None):
    """(the services of page `page`, how many there are in all), by name; with
    `teryt` in the order of the directory's search (selectors.directory_search):
    by distance from that gmina's (or powiat's) centroid, services whose gmina
    has none last, then the most recently counted places first (services
    counting none after), then name. Two queries either way."""
    if teryt is None:
        return hsds_page(services, page=page, per_page=per_page)
    origin = centroid(teryt)
    keys = sorted(
        (_search_key(origin, *row) for row in services.values_list(
            "location__teryt", "capacity_total", "capacity_updated_at", "name", "pk")),
    )
    offset = (page - 1) * per_page
    page_ids = [key[-1] for key in keys[offset:offset + per_page]]
    found = services.in_bulk(page_ids) if page_ids else {}
    return [found[pk] for pk in page_ids if pk in found], len(keys)


def _search_key(origin, teryt, total, updated, name, pk) -> tuple:
    here = centroid(teryt)
    distance = distance_km(origin, here) if origin and here else None
    counted = updated if total is not None else None
    freshness = -counted.timestamp() if counted else 0.0
    return (origin is not None and distance is None, distance or 0.0, counted is None, freshness, name.casefold(),
            str(pk), pk)


def hsds_service_get(service_id) -> DirectoryService:
    """An active service of an active agency, or NotFoundError (404)."""
    service_id = uuid_or_none(service_id)
    service = hsds_services().filter(pk=service_id).first() if service_id else None
    if service is None:
        raise NotFoundError(_("No such service in the directory."))
    return service


def hsds_organizations() -> QuerySet[Agency]:
    return Agency.objects.filter(active=True).order_by("name", "id")


def hsds_organization_get(agency_id) -> Agency:
    """An active agency with its active services (`hsds_services`, each with
    its location), or NotFoundError (404)."""
    agency_id = uuid_or_none(agency_id)
    services = Prefetch(
        "directory_services", queryset=_active_services().select_related("location").order_by("name", "id"),
        to_attr="hsds_services",
    )
    agency = hsds_organizations().filter(pk=agency_id).prefetch_related(services).first() if agency_id else None
    if agency is None:
        raise NotFoundError(_("No such organization in the directory."))
    return agency
