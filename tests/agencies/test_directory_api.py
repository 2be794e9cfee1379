"""Publishing and changing directory services and locations through the API
(issue 14, item 1): the HSDS-named answer, validation with a pointer per
wrong member, an agency's own objects only (another's is a 404 and nothing
changes), scopes, Idempotency-Key."""

import pytest

from agencies.directory import services as directory
from agencies.models import CapacityChange, DirectoryLocation, DirectoryService
from hub.api.errors import ValidationFailed

from .directory_world import LOCATIONS, SERVICES, WROCLAW, capacity_url, detail_url, place, publish

GOOD = {
    "service": "crisis_intervention", "name": "Ośrodek Interwencji Kryzysowej", "description": "Całodobowo.",
    "eligibility": ["women", "women_with_children"], "eligibility_description": "Osoby doznające przemocy.",
    "minimum_age": 18, "maximum_age": 120, "languages": ["pl", "uk"],
    "schedules": [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "20:00"}],
    "open_24h": False, "contact": {"name": "Dyżurny", "phone": "+48 71 000 00 00", "email": "oik@example.org"},
    "capacity": {"total": 6, "free": 2},
}


@pytest.fixture
def owner(party):
    return party("Ośrodek Interwencji Kryzysowej", "ngo")


@pytest.fixture
def other(party):
    return party("MOPS Obcy", "ops")


def patch(party, path, body):
    return party.client.patch(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {party.token}")


def put(party, path, body):
    return party.client.put(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {party.token}")


def pointers(response) -> list[str]:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    return sorted(error["pointer"] for error in response.json()["errors"])


def test_publishing_a_service_answers_it_with_hsds_names(owner):
    location = place(owner.caller)

    created = owner.post(SERVICES, {**GOOD, "location": str(location.id)})

    assert created.status_code == 201, created.content
    body = created.json()
    assert created["Location"] == detail_url(body["id"])
    assert body["organization_id"] == str(owner.agency.id)
    assert body["organization_name"] == owner.agency.name
    assert {k: body[k] for k in ("service", "name", "status", "eligibility", "minimum_age", "languages", "schedules")} == {
        "service": "crisis_intervention", "name": GOOD["name"], "status": "active", "eligibility": GOOD["eligibility"],
        "minimum_age": 18, "languages": ["pl", "uk"], "schedules": GOOD["schedules"],
    }
    assert body["contact"] == GOOD["contact"]
    assert body["location"]["address_1"] == "ul. Jasna 1" and body["location"]["teryt"] == WROCLAW
    assert (body["capacity"]["total"], body["capacity"]["free"], body["capacity"]["stale"]) == (6, 2, False)
    change = CapacityChange.objects.get(service_id=body["id"])
    assert (change.reason, change.free, change.total, change.actor) == (
        "agency_update", 2, 6, f"client:{owner.application.client_id}")


def test_a_service_without_capacity_counts_no_places(owner):
    location = place(owner.caller)
    body = {k: v for k, v in GOOD.items() if k != "capacity"}

    created = owner.post(SERVICES, {**body, "location": str(location.id)})

    assert created.status_code == 201, created.content
    assert created.json()["capacity"] is None
    assert not CapacityChange.objects.exists()


def test_publishing_twice_with_one_idempotency_key_creates_one_service(owner):
    body = {**GOOD, "location": str(place(owner.caller).id)}

    first = owner.post(SERVICES, body, HTTP_IDEMPOTENCY_KEY="publish-1")
    again = owner.post(SERVICES, body, HTTP_IDEMPOTENCY_KEY="publish-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert DirectoryService.objects.count() == 1


def test_every_wrong_member_is_named_with_its_pointer(owner, other):
    theirs = place(other.caller)
    body = {
        **GOOD, "location": str(theirs.id), "service": "spa", "eligibility": ["women", "cats"],
        "languages": ["pl", "UKR"], "minimum_age": 65, "maximum_age": 18,
        "schedules": [{"byday": "MO,XX", "opens_at": "18:00", "closes_at": "08:00"},
                      {"byday": "SA,SA", "opens_at": "8:00", "closes_at": "25:00"}],
        "contact": {"email": "not-an-address"}, "capacity": {"total": 2, "free": 3},
    }

    response = owner.post(SERVICES, body)

    assert pointers(response) == sorted([
        "/location", "/service", "/eligibility/1", "/languages/1", "/maximum_age", "/schedules/0/byday",
        "/schedules/0/closes_at", "/schedules/1/byday", "/schedules/1/opens_at", "/schedules/1/closes_at",
        "/contact/email", "/capacity/free",
    ])
    assert not DirectoryService.objects.exists()


@pytest.mark.parametrize("body, pointer", [
    ({"minimum_age": 121}, "/minimum_age"),
    ({"minimum_age": -1}, "/minimum_age"),
    ({"capacity": {"total": 2}}, "/capacity/free"),
    ({"capacity": {"total": -1, "free": 0}}, "/capacity/total"),
    ({"name": "  "}, "/name"),
    ({"status": "open"}, "/status"),
    ({"schedules": [{"byday": "MO", "opens_at": "08:00", "closes_at": "16:00", "note": "x"}]}, "/schedules/0/note"),
    ({"capacity_total": 3}, "/capacity_total"),
])
def test_one_wrong_member_is_a_422_at_its_pointer(owner, body, pointer):
    response = owner.post(SERVICES, {**GOOD, "location": str(place(owner.caller).id), **body})

    assert pointers(response) == [pointer]


def test_the_service_checks_what_callers_without_the_api_send(owner):
    with pytest.raises(ValidationFailed) as refused:
        directory.directory_service_create(
            caller=owner.caller, location=place(owner.caller), service="shelter", name="Schronisko",
            languages="pl", schedules=[["MO"]], open_24h="yes", capacity_total=True, capacity_free=1,
        )

    assert sorted(e["pointer"] for e in refused.value.errors) == [
        "/capacity/total", "/languages", "/open_24h", "/schedules/0"]


def test_changing_a_service_changes_only_what_is_sent(owner):
    service = publish(owner.caller, name="Schronisko", places=(4, 1), languages=["pl"], description="Stary opis.")
    new_place = place(owner.caller, name="Nowe biuro", address_1="ul. Nowa 2")

    changed = patch(owner, detail_url(service.id), {
        "languages": ["pl", "uk", "uk"], "location": str(new_place.id), "contact": {"phone": "+48 71 111 11 11"},
    })

    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["languages"] == ["pl", "uk"]
    assert body["location"]["id"] == str(new_place.id)
    assert body["contact"]["phone"] == "+48 71 111 11 11"
    assert (body["description"], body["name"], body["capacity"]["free"]) == ("Stary opis.", "Schronisko", 1)


@pytest.mark.parametrize("body, pointer", [
    ({"capacity": {"total": 9, "free": 9}}, "/capacity"),
    ({"service": "psychological"}, "/service"),
    ({"minimum_age": 50, "maximum_age": 20}, "/maximum_age"),
    ({"maximum_age": 1}, "/maximum_age"),  # below the minimum already recorded
])
def test_a_change_is_checked_with_what_stays(owner, body, pointer):
    service = publish(owner.caller, name="Schronisko", minimum_age=18)

    assert pointers(patch(owner, detail_url(service.id), body)) == [pointer]


def test_a_service_moved_to_another_agencys_location_is_refused(owner, other):
    service = publish(owner.caller)

    response = patch(owner, detail_url(service.id), {"location": str(place(other.caller).id)})

    assert pointers(response) == ["/location"]
    assert DirectoryService.objects.get(pk=service.pk).location.agency_id == owner.agency.id


def test_an_inactive_service_leaves_the_search_and_only_its_agency_still_reads_it(owner, other):
    service = publish(owner.caller, name="Schronisko")

    assert patch(owner, detail_url(service.id), {"status": "temporarily closed"}).status_code == 200

    assert other.get(detail_url(service.id)).status_code == 404
    assert other.get(SERVICES).json()["results"] == []
    assert owner.get(detail_url(service.id)).json()["status"] == "temporarily closed"


def test_any_agency_reads_an_active_service(owner, other):
    service = publish(owner.caller, name="Schronisko", places=(3, 1))

    read = other.get(detail_url(service.id))

    assert read.status_code == 200 and read.json()["capacity"]["free"] == 1


@pytest.mark.parametrize("change", ["patch", "capacity"])
def test_another_agencys_service_is_a_404_like_an_unknown_one_and_nothing_changes(owner, other, change):
    service = publish(owner.caller, name="Schronisko", places=(3, 1))
    before = (DirectoryService.objects.filter(pk=service.pk).values().get(), CapacityChange.objects.count())
    unknown = "00000000-0000-4000-8000-000000000000"

    def send(service_id):
        if change == "patch":
            return patch(other, detail_url(service_id), {"name": "Przejęte"})
        return put(other, capacity_url(service_id), {"free": 0})

    theirs, made_up = send(service.id), send(unknown)

    assert theirs.status_code == made_up.status_code == 404
    assert {k: v for k, v in theirs.json().items() if k != "request_id"} == {
        k: v for k, v in made_up.json().items() if k != "request_id"}
    assert (DirectoryService.objects.filter(pk=service.pk).values().get(), CapacityChange.objects.count()) == before


@pytest.mark.parametrize("method, path, scope", [
    ("GET", SERVICES, "agencies:read"),
    ("GET", "detail", "agencies:read"),
    ("GET", LOCATIONS, "agencies:read"),
    ("POST", SERVICES, "referrals:write"),
    ("PATCH", "detail", "referrals:write"),
    ("PUT", "capacity", "referrals:write"),
    ("POST", LOCATIONS, "referrals:write"),
])
def test_a_token_without_the_scope_is_a_403_naming_it(party, method, path, scope):
    from schemas.vocabularies import SCOPES, codes

    owner = party("Fundacja", "ngo")
    service = publish(owner.caller, places=(3, 1))
    lacking = party("Fundacja Bez", "ngo", scopes=[s for s in codes(SCOPES) if s != scope])
    url = {"detail": detail_url(service.id), "capacity": capacity_url(service.id)}.get(path, path)

    response = lacking.client.generic(method, url, "{}", content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Bearer {lacking.token}")

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "insufficient_scope" and response.json()["required_scopes"] == [scope]


# --- Locations ---------------------------------------------------------------------------------


def test_an_agency_adds_and_lists_its_own_locations(owner, other):
    created = owner.post(LOCATIONS, {"name": "Biuro", "teryt": WROCLAW, "address_1": "ul. Jasna 1", "city": "Wrocław",
                                     "postal_code": "50-001"})
    place(other.caller, name="Cudze biuro")

    assert created.status_code == 201, created.content
    assert created.json()["address_1"] == "ul. Jasna 1" and created.json()["confidential"] is False
    listed = owner.get(LOCATIONS).json()["results"]
    assert [row["id"] for row in listed] == [created.json()["id"]]


@pytest.mark.parametrize("body, pointer", [
    ({"teryt": "0264"}, "/teryt"),
    ({"teryt": "02640ab"}, "/teryt"),
    ({"postal_code": "50001"}, "/postal_code"),
    ({"name": ""}, "/name"),
    ({"floor": 2}, "/floor"),
])
def test_a_wrong_location_is_a_422_at_its_pointer(owner, body, pointer):
    response = owner.post(LOCATIONS, {"name": "Biuro", "teryt": WROCLAW, **body})

    assert pointers(response) == [pointer]
    assert not DirectoryLocation.objects.exists()


def test_an_unknown_service_is_a_404(owner):
    assert owner.get(detail_url("00000000-0000-4000-8000-000000000000")).status_code == 404
