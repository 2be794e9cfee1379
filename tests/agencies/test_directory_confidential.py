"""A shelter's confidential address never leaves the hub to another agency
(issue 14, acceptance): a matrix over every directory endpoint and reader
(the shelter itself, another agency), asserting the address strings are
absent from the raw bytes of the other agency's answers, and present in the
owner's where the endpoint shows the location."""

import json

import pytest

from agencies.directory.visibility import location_fields

from .directory_world import LOCATIONS, SERVICES, WROCLAW, capacity_url, detail_url, place, publish

# Distinctive values: none occurs anywhere else in the answers.
SECRET = {
    "name": "Dom pod Lipami – adres tajny",
    "address_1": "ul. Lipowa 13/4",
    "city": "Psie Pole-Zawidawie",
    "postal_code": "51-180",
}


def present(value: str, raw: bytes) -> bool:
    """The value in the bytes as UTF-8 or as a JSON \\u escape."""
    return value.encode() in raw or json.dumps(value)[1:-1].encode() in raw


def leaked(raw: bytes) -> list[str]:
    return [value for value in SECRET.values() if present(value, raw)]


@pytest.fixture
def world(party):
    shelter = party("Stowarzyszenie Schronienie", "shelter")
    other = party("MOPS Sąsiedni", "ops")
    hidden = place(shelter.caller, WROCLAW, confidential=True, **SECRET)
    service = publish(shelter.caller, location=hidden, name="Schronisko dla kobiet", places=(6, 2))
    return shelter, other, hidden, service


def requests(party, hidden, service) -> dict:
    """Every directory endpoint, as `party` calls it (writes on the shelter's
    own objects: the owner's succeed, another agency's are refused)."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {party.token}"}
    client = party.client

    def send(method, path, body=None):
        return client.generic(method, path, json.dumps(body or {}), content_type="application/json", **auth)

    return {
        "search": lambda: client.get(SERVICES, **auth),
        "search from the gmina": lambda: client.get(SERVICES, {"teryt": WROCLAW, "service": "shelter"}, **auth),
        "search with free places": lambda: client.get(SERVICES, {"has_capacity": "true"}, **auth),
        "detail": lambda: client.get(detail_url(service.id), **auth),
        "capacity": lambda: send("PUT", capacity_url(service.id), {"free": 1}),
        "change": lambda: send("PATCH", detail_url(service.id), {"description": "Całodobowo."}),
        "publish at the location": lambda: send("POST", SERVICES, {
            "location": str(hidden.id), "service": "crisis_intervention", "name": "Interwencja",
        }),
        "locations": lambda: client.get(LOCATIONS, **auth),
        "add a location": lambda: send("POST", LOCATIONS, {"name": "Biuro", "teryt": WROCLAW}),
    }


# What the owner's answer shows of the location: the whole of it, except
# where the answer holds no such location (a new, other location).
OWNER_SEES = {
    "search": True, "search from the gmina": True, "search with free places": True, "detail": True,
    "capacity": True, "change": True, "publish at the location": True, "locations": True,
    "add a location": False,
}


@pytest.mark.parametrize("endpoint", list(OWNER_SEES))
def test_another_agency_never_receives_the_address(world, endpoint):
    shelter, other, hidden, service = world

    response = requests(other, hidden, service)[endpoint]()

    assert response.status_code < 500
    assert leaked(response.content) == [], (endpoint, response.status_code)


@pytest.mark.parametrize("endpoint", list(OWNER_SEES))
def test_the_shelter_itself_sees_its_address(world, endpoint):
    shelter, other, hidden, service = world

    response = requests(shelter, hidden, service)[endpoint]()

    assert response.status_code in (200, 201), (endpoint, response.content)
    assert leaked(response.content) == (list(SECRET.values()) if OWNER_SEES[endpoint] else [])


def test_another_agency_sees_the_service_and_its_gmina_only(world):
    shelter, other, hidden, service = world

    location = other.get(detail_url(service.id)).json()["location"]
    found = other.get(SERVICES, teryt=WROCLAW).json()["results"]

    assert location == {"id": str(hidden.id), "teryt": WROCLAW, "confidential": True, "name": None,
                        "address_1": None, "city": None, "postal_code": None}
    assert [row["location"] for row in found] == [location]
    assert found[0]["capacity"]["free"] == 2  # the places are for everyone to find


def test_a_location_that_is_not_confidential_is_shown_to_everyone(party):
    ngo = party("Fundacja Poradnia", "ngo")
    reader = party("MOPS", "ops")
    office = place(ngo.caller, WROCLAW, name="Poradnia przy Rynku", address_1="Rynek 1")
    service = publish(ngo.caller, location=office, service="psychological", name="Poradnia")

    location = reader.get(detail_url(service.id)).json()["location"]

    assert location == location_fields(office, ngo.agency) | {"id": str(office.id)}
    assert (location["name"], location["address_1"]) == ("Poradnia przy Rynku", "Rynek 1")
