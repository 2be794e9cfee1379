"""The directory exported as Open Referral HSDS 3.1 (issue 14, item 3;
agencies/directory/hsds.py, agencies/api/hsds_views.py).

Every document the endpoints answer (each list page, a service, an
organization with its services, the API root) validates against the HSDS
JSON Schemas vendored in agencies/directory/hsds_schemas/ (Draft 2020-12,
formats checked), and uses only members those schemas declare. A
confidential location's name and address never reach another agency's
bytes; its owner gets them. Paging follows the HSDS API Page object.

State is made with the ORM through the small factories below (the
directory's services are written elsewhere)."""

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from agencies.api import hsds_views
from agencies.directory import hsds
from agencies.models import DirectoryLocation, DirectoryService
from hub.api.errors import (
    INSUFFICIENT_SCOPE,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    PROBLEM_CONTENT_TYPE,
    VALIDATION_ERROR,
)
from schemas.vocabularies import REFERRAL_SERVICES, term

BASE = "/api/v1/directory/hsds"
SCHEMAS = Path(hsds.__file__).resolve().parent / "hsds_schemas"
POLISH = {"HTTP_ACCEPT_LANGUAGE": "pl"}

# The shelter's secret, in ASCII so that no JSON escaping can hide it from the byte checks.
SECRET_NAME = "Dom przy Tajnej"
SECRET_STREET = "ul. Tajna 17"
SECRET_CITY = "Kryjowkowo"
SECRET_POSTCODE = "99-123"
SECRETS = (SECRET_NAME, SECRET_STREET, SECRET_CITY, SECRET_POSTCODE)


# --- The vendored schemas ---------------------------------------------------------------------------


def _uri(reference: str) -> str:
    name, hash_, fragment = reference.partition("#")
    return (SCHEMAS / name).as_uri() + hash_ + fragment


def _strict(node):
    """A copy in which every object schema that lists its properties allows
    no others: our documents use only what HSDS declares (HSDS itself
    allows more, so a misspelt member would pass the schemas as published)."""
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if isinstance(node.get("properties"), dict) and node.get("type") == "object":
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(value) for value in node]
    return node


def _registry(strict: bool) -> Registry:
    # The files declare no $schema; the HSDS OpenAPI document names Draft
    # 2020-12 as its dialect. Each file is a resource under its own URI, so
    # the relative $refs between them ("attribute.json") resolve here, never
    # over the network (PITFALLS, Schemas).
    resources = []
    for path in sorted(SCHEMAS.rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if strict and path.name != "openapi.json":
            contents = _strict(contents)
        resources.append((path.as_uri(), Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


REGISTRIES = {False: _registry(False), True: _registry(True)}
PAGE = "openapi.json#/components/schemas/Page"
ROOT = "openapi.json#/paths/~1/get/responses/200/content/application~1json/schema"


def validator(reference: str, *, strict: bool = False) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": _uri(reference)}, registry=REGISTRIES[strict], format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def assert_valid(document: dict, reference: str) -> None:
    validator(reference).validate(document)
    validator(reference, strict=True).validate(document)


def assert_valid_service(document: dict) -> None:
    assert_valid(document, "service.json")
    # As an item of the HSDS API's /services page, too.
    validator("compiled/service_list.json").validate(document)


def assert_valid_page(page: dict, item_schema: str) -> list[dict]:
    assert_valid({k: v for k, v in page.items() if k != "contents"}, PAGE)
    assert set(page) == {"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty",
                         "contents"}
    for item in page["contents"]:
        if item_schema == "service.json":
            assert_valid_service(item)
        else:
            assert_valid(item, item_schema)
            validator("compiled/organization_list.json").validate(item)
    return page["contents"]


def assert_valid_full_organization(document: dict) -> None:
    # HSDS's full organization is organization.json with `services`
    # (schema/compiled/organization.json, the same with every $ref expanded).
    assert_valid({k: v for k, v in document.items() if k != "services"}, "organization.json")
    for service in document["services"]:
        assert_valid(service, "service.json")


# --- Factories --------------------------------------------------------------------------------------


def make_location(agency, **fields) -> DirectoryLocation:
    values = {"name": "Biuro", "teryt": "1465011", "address_1": "ul. Jasna 1", "city": "Warszawa",
              "postal_code": "00-001", **fields}
    return DirectoryLocation.objects.create(agency=agency, **values)


def make_service(agency, location=None, **fields) -> DirectoryService:
    values = {"service": "psychological", "name": "Poradnia", **fields}
    return DirectoryService.objects.create(agency=agency, location=location or make_location(agency), **values)


def make_shelter_service(agency, **fields) -> DirectoryService:
    """A shelter at a confidential address, with places, hours and a contact."""
    location = make_location(agency, name=SECRET_NAME, address_1=SECRET_STREET, city=SECRET_CITY,
                             postal_code=SECRET_POSTCODE, teryt="1261011", confidential=True)
    values = {
        "service": "shelter", "name": "Hostel interwencyjny", "description": "Schronienie dla kobiet z dziećmi.",
        "eligibility": ["women", "women_with_children"], "eligibility_description": "Kobiety doznające przemocy.",
        "minimum_age": 18, "languages": ["pl", "uk"], "open_24h": True,
        "schedules": [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"}],
        "contact_name": "Dyżurna interwencja", "contact_phone": "+48 12 345 67 89",
        "contact_email": "dyzur@hostel.example.org",
        "capacity_total": 12, "capacity_free": 2, "capacity_updated_at": timezone.now() - timedelta(hours=1),
        **fields,
    }
    return make_service(agency, location, **values)


@pytest.fixture
def shelter(party):
    return party("Schronisko Tajne", "shelter", teryt="1261011")


@pytest.fixture
def ops(party):
    return party("MOPS Jawny", "ops", teryt="1465011")


def get(party, path, **params):
    headers = params.pop("headers", {})
    return party.client.get(f"{BASE}{path}", params, HTTP_AUTHORIZATION=f"Bearer {party.token}", **headers)


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == code
    return response.json()


# --- Every document validates -------------------------------------------------------------------------


def test_every_document_validates_against_the_vendored_hsds_schemas(ops, shelter):
    service = make_shelter_service(shelter.agency)
    make_service(ops.agency, name="Poradnia prawna", service="legal_aid", languages=["en"])

    for caller in (ops, shelter):
        services = assert_valid_page(ok(get(caller, "/services")), "service.json")
        assert len(services) == 2
        assert_valid_service(ok(get(caller, f"/services/{service.id}")))
        organizations = assert_valid_page(ok(get(caller, "/organizations")), "organization.json")
        assert {o["id"] for o in organizations} == {str(ops.agency.id), str(shelter.agency.id)}
        for organization in organizations:
            full = ok(get(caller, f"/organizations/{organization['id']}"))
            assert_valid_full_organization(full)
        assert_valid(ok(get(caller, "/")), ROOT)


def test_a_polish_answer_validates_too(ops, shelter):
    make_shelter_service(shelter.agency)

    (service,) = assert_valid_page(ok(get(ops, "/services", headers=POLISH)), "service.json")

    assert service["capacities"][0]["unit"]["name"] == "miejsca"
    assert {language["name"] for language in service["languages"]} == {"polski", "ukraiński"}
    assert service["organization"]["description"] == "Ośrodek wsparcia / schronienie"


def test_the_validation_refuses_a_broken_document(ops, shelter):
    service = ok(get(ops, f"/services/{make_shelter_service(shelter.agency).id}"))
    assert_valid_service(service)
    broken = {
        "no status": lambda d: d.pop("status"),
        "an id that is no uuid": lambda d: d.update(id="42"),
        "an unknown status": lambda d: d.update(status="open"),
        "places as text": lambda d: d["capacities"][0].update(available="two"),
        "a capacity without its time": lambda d: d["capacities"][0].pop("updated"),
        "a time that is no time": lambda d: d["capacities"][0].update(updated="yesterday"),
        "a location without its type": lambda d: d["service_at_locations"][0]["location"].pop("location_type"),
        "a term without its name": lambda d: d["attributes"][0]["taxonomy_term"].pop("name"),
    }
    for breaks in broken.values():
        document = copy.deepcopy(service)
        breaks(document)
        with pytest.raises(ValidationError):
            validator("service.json").validate(document)

    # An address without the members HSDS requires, and a member HSDS does not declare.
    location = ok(get(shelter, f"/services/{service['id']}"))["service_at_locations"][0]["location"]
    without_city = copy.deepcopy(location)
    without_city["addresses"][0].pop("city")
    with pytest.raises(ValidationError):
        validator("location.json").validate(without_city)
    with pytest.raises(ValidationError):
        validator("service.json", strict=True).validate({**service, "capacity": 2})
    with pytest.raises(ValidationError):
        validator(PAGE).validate({"total_items": "11"})


# --- What a service says -------------------------------------------------------------------------------


def test_a_service_carries_its_capacity_hours_languages_contact_and_codes(ops, shelter):
    made = make_shelter_service(shelter.agency)

    service = ok(get(ops, f"/services/{made.id}"))

    assert (service["id"], service["organization_id"], service["status"]) == (
        str(made.id), str(shelter.agency.id), "active")
    assert service["organization"] == {"id": str(shelter.agency.id), "name": "Schronisko Tajne",
                                       "description": "Shelter"}
    assert (service["minimum_age"], "maximum_age" in service) == (18, False)
    (capacity,) = service["capacities"]
    assert (capacity["available"], capacity["maximum"], capacity["unit"]["name"]) == (2, 12, "places")
    assert capacity["updated"] == made.capacity_updated_at.isoformat().replace("+00:00", "Z")
    assert [language["code"] for language in service["languages"]] == ["pl", "uk"]
    weekdays, always = service["schedules"]
    assert (weekdays["byday"], weekdays["opens_at"][:5], weekdays["closes_at"][:5]) == ("MO,TU,WE,TH,FR", "08:00", "16:00")
    assert weekdays["opens_at"][5:] in ("+01:00", "+02:00")  # Polish time, with its offset
    assert (always["byday"], always["opens_at"][:5], always["closes_at"][:5]) == ("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59")
    (contact,) = service["contacts"]
    assert (contact["name"], contact["email"], contact["phones"][0]["number"]) == (
        "Dyżurna interwencja", "dyzur@hostel.example.org", "+48 12 345 67 89")
    assert service["service_areas"][0]["name"] == "TERYT 1261011"
    terms = {(a["taxonomy_term"]["taxonomy"], a["taxonomy_term"]["code"]): a["label"] for a in service["attributes"]}
    assert terms == {
        (hsds.REFERRAL_SERVICES_TAXONOMY, "shelter"): term(REFERRAL_SERVICES, "shelter").label_en,
        (hsds.ELIGIBILITY_TAXONOMY, "women"): "Women",
        (hsds.ELIGIBILITY_TAXONOMY, "women_with_children"): "Women with children",
    }


def test_a_service_without_places_or_contact_has_none_and_its_ids_are_stable(ops):
    made = make_service(ops.agency)

    first, again = ok(get(ops, f"/services/{made.id}")), ok(get(ops, f"/services/{made.id}"))

    assert (first["capacities"], first["contacts"], first["schedules"]) == ([], [], [])
    assert first == again  # derived ids (languages, attributes, ...) do not change between exports


# --- Confidential locations -------------------------------------------------------------------------


def test_a_confidential_address_never_reaches_another_agency_but_reaches_its_owner(ops, shelter, party):
    service = make_shelter_service(shelter.agency)
    paths = ["/services", f"/services/{service.id}", "/organizations", f"/organizations/{shelter.agency.id}",
             "/services?teryt=1261011&service=shelter", f"/services?organization_id={shelter.agency.id}"]
    police = party("Komenda Powiatowa", "police")

    for other in (ops, police):
        for path in paths:
            for headers in ({}, POLISH):
                response = get(other, path, headers=headers)
                body = ok(response) and response.content
                assert str(service.id).encode() in body or path == "/organizations", path  # the shelter is there
                assert not any(secret.encode() in body for secret in SECRETS), (path, body)

    location = ok(get(ops, f"/services/{service.id}"))["service_at_locations"][0]["location"]
    assert "addresses" not in location and "name" not in location
    assert location["external_identifier"] == "1261011"  # its gmina is not secret
    assert location["attributes"][0]["taxonomy_term"]["code"] == hsds.CONFIDENTIAL

    owner = get(shelter, f"/services/{service.id}").content
    assert all(secret.encode() in owner for secret in SECRETS)
    own = json.loads(owner)["service_at_locations"][0]["location"]
    assert own["name"] == SECRET_NAME
    assert own["addresses"][0]["address_1"] == SECRET_STREET
    assert (own["addresses"][0]["state_province"], own["addresses"][0]["country"]) == ("małopolskie", "PL")
    assert own["attributes"][0]["taxonomy_term"]["code"] == hsds.CONFIDENTIAL
    full = get(shelter, f"/organizations/{shelter.agency.id}").content
    assert all(secret.encode() in full for secret in SECRETS)


def test_an_open_location_shows_its_address_to_everyone(ops, shelter):
    service = make_service(ops.agency, make_location(ops.agency, name="MOPS Warszawa", address_1="ul. Jawna 3"))

    location = ok(get(shelter, f"/services/{service.id}"))["service_at_locations"][0]["location"]

    assert location["name"] == "MOPS Warszawa"
    assert location["addresses"][0]["address_1"] == "ul. Jawna 3"
    assert "attributes" not in location


# --- What is listed, and filters ----------------------------------------------------------------------


def test_only_active_services_of_active_agencies_are_exported(ops, shelter, party):
    active = make_service(ops.agency, name="Czynna")
    closed = make_service(ops.agency, name="Zamknięta", status="temporarily closed")
    gone = party("Fundacja Dawna", "ngo")
    of_inactive = make_service(gone.agency, name="Dawnej fundacji")
    gone.agency.active = False
    gone.agency.save(update_fields=["active"])

    listed = ok(get(shelter, "/services"))["contents"]

    assert [s["id"] for s in listed] == [str(active.id)]
    for hidden in (closed, of_inactive):
        assert_problem(get(shelter, f"/services/{hidden.id}"), 404, NOT_FOUND)
    assert_problem(get(shelter, f"/organizations/{gone.agency.id}"), 404, NOT_FOUND)
    assert str(gone.agency.id) not in {o["id"] for o in ok(get(shelter, "/organizations"))["contents"]}
    full = ok(get(shelter, f"/organizations/{ops.agency.id}"))
    assert [s["id"] for s in full["services"]] == [str(active.id)]


def test_an_unknown_id_is_a_404_problem(ops):
    missing = "0b7c6f3e-6f0e-4a8e-9d8e-2f1f5c1d2a3b"

    assert_problem(get(ops, f"/services/{missing}"), 404, NOT_FOUND)
    assert_problem(get(ops, f"/organizations/{missing}"), 404, NOT_FOUND)


def test_service_organization_and_teryt_select_and_order_like_the_directory(ops, shelter):
    far = make_service(ops.agency, make_location(ops.agency, teryt="0264011"), name="A Wrocław", service="shelter")
    near = make_service(ops.agency, make_location(ops.agency, teryt="1465011"), name="B Warszawa", service="shelter")
    middle = make_service(shelter.agency, make_location(shelter.agency, teryt="1261011"), name="C Kraków",
                          service="shelter")
    nowhere = make_service(ops.agency, make_location(ops.agency, teryt="9999999"), name="D", service="shelter")
    other = make_service(ops.agency, name="E", service="legal_aid")

    def ids(**params):
        return [s["id"] for s in ok(get(ops, "/services", **params))["contents"]]

    assert ids(service="shelter") == [str(s.id) for s in (far, near, middle, nowhere)]  # by name
    assert ids(service="shelter", teryt="1465011") == [str(s.id) for s in (near, middle, far, nowhere)]
    assert ids(teryt="1465") == [str(s.id) for s in (near, other, middle, far, nowhere)]  # same powiat: by name
    assert ids(organization_id=str(shelter.agency.id)) == [str(middle.id)]
    # As near: the most recently counted places first, services that count none after.
    now = timezone.now()
    stale = make_service(ops.agency, make_location(ops.agency, teryt="1465011"), name="F", service="shelter",
                         capacity_total=5, capacity_free=1, capacity_updated_at=now - timedelta(days=2))
    fresh = make_service(ops.agency, make_location(ops.agency, teryt="1465011"), name="G", service="shelter",
                         capacity_total=5, capacity_free=0, capacity_updated_at=now)
    assert ids(service="shelter", teryt="1465011") == [str(s.id) for s in (fresh, stale, near, middle, far, nowhere)]
    assert_problem(get(ops, "/services", service="nap"), 422, VALIDATION_ERROR)
    for teryt in ("14650", "warszawa", "14650111"):
        problem = assert_problem(get(ops, "/services", teryt=teryt), 422, VALIDATION_ERROR)
        assert problem["errors"][0]["parameter"] == "teryt"
    assert_problem(get(ops, "/services", organization_id="nope"), 422, VALIDATION_ERROR)


# --- Paging -----------------------------------------------------------------------------------------


def test_pages_follow_the_hsds_page_object(ops):
    made = [make_service(ops.agency, name=f"Usługa {n:02d}") for n in range(11)]

    pages = [ok(get(ops, "/services", per_page=5, page=page)) for page in (1, 2, 3)]

    assert [[s["id"] for s in page["contents"]] for page in pages] == [
        [str(s.id) for s in made[0:5]], [str(s.id) for s in made[5:10]], [str(made[10].id)]]
    first, second, last = pages
    assert {k: v for k, v in second.items() if k != "contents"} == {
        "total_items": 11, "total_pages": 3, "page_number": 2, "size": 5, "first_page": False,
        "last_page": False, "empty": False}
    assert (first["first_page"], first["last_page"], last["size"], last["last_page"]) == (True, False, 1, True)
    for page in pages:
        assert_valid_page(page, "service.json")


def test_a_page_past_the_last_is_empty_and_says_so(ops):
    make_service(ops.agency)

    past = ok(get(ops, "/services", page=7))
    none = ok(get(ops, "/services", service="interpreter"))

    assert {k: v for k, v in past.items()} == {
        "total_items": 1, "total_pages": 1, "page_number": 7, "size": 0, "first_page": False, "last_page": True,
        "empty": True, "contents": []}
    assert (none["total_items"], none["total_pages"], none["empty"], none["first_page"], none["last_page"]) == (
        0, 0, True, True, True)
    assert_valid_page(past, "service.json")
    assert ok(get(ops, "/organizations", page=9))["contents"] == []


def test_per_page_is_limited_and_nonsense_is_a_422(ops, monkeypatch):
    for n in range(4):
        make_service(ops.agency, name=f"Usługa {n}")
    monkeypatch.setattr(hsds_views, "MAX_PAGE_SIZE", 3)

    limited = ok(get(ops, "/services", per_page=100))

    assert (limited["size"], limited["total_pages"], limited["total_items"]) == (3, 2, 4)
    assert ok(get(ops, "/services"))["size"] == 3  # the default is limited too
    for name, value in (("page", "0"), ("page", "-1"), ("page", "two"), ("per_page", "0"), ("per_page", "1.5"),
                        ("page", "9" * 30)):
        problem = assert_problem(get(ops, "/services", **{name: value}), 422, VALIDATION_ERROR)
        assert problem["errors"][0]["parameter"] == name
    assert_problem(get(ops, "/organizations", per_page="0"), 422, VALIDATION_ERROR)


def test_organizations_are_paged_by_name(ops, shelter, party):
    party("Fundacja Alfa", "ngo")

    page = ok(get(ops, "/organizations", per_page=2))

    assert [o["name"] for o in page["contents"]] == ["Fundacja Alfa", "MOPS Jawny"]
    assert (page["total_items"], page["total_pages"]) == (3, 2)
    assert "services" not in page["contents"][0]


# --- Query counts -----------------------------------------------------------------------------------


def queries(caller, path, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        ok(get(caller, path, **params))
    return len(captured)


def test_query_counts_do_not_grow_with_the_services(ops, shelter, party):
    first = make_shelter_service(shelter.agency)
    make_service(ops.agency)
    paths = [("/services", {}), ("/services", {"teryt": "1465011"}), ("/organizations", {}),
             (f"/organizations/{shelter.agency.id}", {}), (f"/services/{first.id}", {})]
    few = {(path, tuple(params)): queries(ops, path, **params) for path, params in paths}

    for n in range(9):
        make_shelter_service(shelter.agency, name=f"Hostel {n}")
        make_service(ops.agency, name=f"Poradnia {n}", languages=["en", "uk"], eligibility=["families"])
        party(f"Fundacja {n}", "ngo")
    many = {(path, tuple(params)): queries(ops, path, **params) for path, params in paths}

    assert many == few
    assert ok(get(ops, "/services"))["size"] == 20


# --- Tokens --------------------------------------------------------------------------------------------


def test_a_token_without_agencies_read_is_a_403_and_no_token_a_401(party, client):
    service = make_service(party("MOPS Z Usługą", "ops").agency)
    lacking = party("MOPS Bez Zakresu", "ops", scopes=("referrals:read",))

    for path in ("/", "/services", f"/services/{service.id}", "/organizations", f"/organizations/{service.agency_id}"):
        problem = assert_problem(get(lacking, path), 403, INSUFFICIENT_SCOPE)
        assert problem["required_scopes"] == ["agencies:read"]
        assert_problem(client.get(f"{BASE}{path}"), 401, NOT_AUTHENTICATED)


def test_the_root_names_the_hsds_version_and_the_openapi_document(ops):
    root = ok(get(ops, "/"))

    assert root == {"version": "3.1", "openapi_url": "http://testserver/api/schema/?format=json"}
