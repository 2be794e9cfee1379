"""Directory search (issue 14, item 2): the right services in the right
order for a table of cases (distance from a gmina, freshness of the count,
capacity, language, eligibility), the staleness flag, cursor pagination,
refused parameters, and a query count that does not grow with the answer."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.directory.selectors import directory_search
from agencies.models import Agency

from .directory_world import (
    BOLESLAWIEC,
    KOBIERZYCE,
    KRAKOW,
    NOWHERE,
    OLAWA,
    SERVICES,
    WARSZAWA,
    WROCLAW,
    publish,
)

# name: (teryt, service, (total, free) or None, counted hours ago, languages, eligibility)
WORLD = {
    "Schronisko Wrocław A": (WROCLAW, "shelter", (10, 2), 1, ["pl", "uk"], ["women", "women_with_children"]),
    "Schronisko Wrocław B": (WROCLAW, "shelter", (8, 0), 0.2, ["pl"], ["women"]),
    "Hostel Wrocław C": (WROCLAW, "shelter", None, None, ["pl", "en"], ["men"]),
    "Schronisko Kobierzyce": (KOBIERZYCE, "shelter", (5, 1), 30, ["pl", "uk"], ["women_with_children"]),
    "Dom Oława": (OLAWA, "shelter", (4, 4), 2, ["pl"], ["women"]),
    "Schronisko Bolesławiec": (BOLESLAWIEC, "shelter", (6, 3), 3, ["pl", "de"], ["families"]),
    "Schronisko Kraków": (KRAKOW, "shelter", (12, 5), 5, ["pl", "uk"], ["women_with_children"]),
    "Schronisko Warszawa": (WARSZAWA, "shelter", (20, 0), 4, ["pl", "uk", "ru"], ["women"]),
    "Schronisko Nigdzie": (NOWHERE, "shelter", (3, 1), 6, ["pl"], ["women"]),
    "Poradnia Wrocław": (WROCLAW, "psychological", None, None, ["pl", "uk"], []),
}

CASES = {
    # Distance from Wrocław; at the same distance the freshest count first, uncounted after, then by name.
    "nearest first": ({"teryt": WROCLAW, "service": "shelter"}, [
        "Schronisko Wrocław B", "Schronisko Wrocław A", "Hostel Wrocław C", "Schronisko Kobierzyce", "Dom Oława",
        "Schronisko Bolesławiec", "Schronisko Kraków", "Schronisko Warszawa", "Schronisko Nigdzie",
    ]),
    "a powiat code orders as its gminas": ({"teryt": "0264", "service": "shelter"}, [
        "Schronisko Wrocław B", "Schronisko Wrocław A", "Hostel Wrocław C", "Schronisko Kobierzyce", "Dom Oława",
        "Schronisko Bolesławiec", "Schronisko Kraków", "Schronisko Warszawa", "Schronisko Nigdzie",
    ]),
    "every service": ({"teryt": WROCLAW}, [
        "Schronisko Wrocław B", "Schronisko Wrocław A", "Hostel Wrocław C", "Poradnia Wrocław",
        "Schronisko Kobierzyce", "Dom Oława", "Schronisko Bolesławiec", "Schronisko Kraków", "Schronisko Warszawa",
        "Schronisko Nigdzie",
    ]),
    "from Warsaw": ({"teryt": WARSZAWA, "service": "shelter"}, [
        "Schronisko Warszawa", "Schronisko Kraków", "Dom Oława", "Schronisko Wrocław B", "Schronisko Wrocław A",
        "Hostel Wrocław C", "Schronisko Kobierzyce", "Schronisko Bolesławiec", "Schronisko Nigdzie",
    ]),
    "a free place now": ({"teryt": WROCLAW, "has_capacity": "true"}, [
        "Schronisko Wrocław A", "Schronisko Kobierzyce", "Dom Oława", "Schronisko Bolesławiec", "Schronisko Kraków",
        "Schronisko Nigdzie",
    ]),
    "no free place, or not counted": ({"teryt": WROCLAW, "has_capacity": "false", "service": "shelter"}, [
        "Schronisko Wrocław B", "Hostel Wrocław C", "Schronisko Warszawa",
    ]),
    "in Ukrainian, from Warsaw": ({"teryt": WARSZAWA, "language": "uk"}, [
        "Schronisko Warszawa", "Schronisko Kraków", "Schronisko Wrocław A", "Poradnia Wrocław", "Schronisko Kobierzyce",
    ]),
    "for women with children, from Kraków": ({"teryt": KRAKOW, "eligibility": "women_with_children"}, [
        "Schronisko Kraków", "Schronisko Kobierzyce", "Schronisko Wrocław A",
    ]),
    "every filter at once": (
        {"teryt": WROCLAW, "service": "shelter", "has_capacity": "true", "language": "uk",
         "eligibility": "women_with_children"},
        ["Schronisko Wrocław A", "Schronisko Kobierzyce", "Schronisko Kraków"],
    ),
    "no gmina: the freshest count first": ({"service": "shelter"}, [
        "Schronisko Wrocław B", "Schronisko Wrocław A", "Dom Oława", "Schronisko Bolesławiec", "Schronisko Warszawa",
        "Schronisko Kraków", "Schronisko Nigdzie", "Schronisko Kobierzyce", "Hostel Wrocław C",
    ]),
    "nothing matches": ({"language": "vi"}, []),
}


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def world(party, now):
    """Every service of WORLD, each agency its own; an inactive service and a
    service of an inactive agency, which no search shows."""
    searcher = party("MOPS Szukający", "ops")
    for index, (name, (teryt, service, places, hours, languages, eligibility)) in enumerate(WORLD.items()):
        owner = party(f"Agencja {index}", "shelter")
        publish(owner.caller, teryt=teryt, service=service, name=name, places=places,
                counted_at=now - timedelta(hours=hours) if places else None, languages=languages,
                eligibility=eligibility)
    closed = party("Agencja zamknięta", "shelter")
    publish(closed.caller, name="Schronisko Zamknięte", places=(9, 9), status="inactive", languages=["pl", "uk"])
    gone = party("Agencja nieaktywna", "shelter")
    publish(gone.caller, name="Schronisko Agencji Nieaktywnej", places=(9, 9), languages=["pl", "uk"])
    Agency.objects.filter(pk=gone.agency.pk).update(active=False)
    return searcher


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize("case", list(CASES))
def test_the_search_finds_the_right_services_in_the_right_order(world, case):
    query, expected = CASES[case]

    assert names(world.get(SERVICES, **query)) == expected


def test_distances_are_answered_with_a_gmina_and_only_then(world):
    near = {row["name"]: row for row in world.get(SERVICES, teryt=WROCLAW, service="shelter").json()["results"]}
    anywhere = world.get(SERVICES, service="shelter").json()["results"]

    assert near["Schronisko Wrocław B"]["distance_km"] == 0.0
    assert 10 < near["Schronisko Kobierzyce"]["distance_km"] < 15
    assert 200 < near["Schronisko Kraków"]["distance_km"] < 300
    assert near["Schronisko Nigdzie"]["distance_km"] is None
    assert all("distance_km" not in row for row in anywhere)


def test_a_count_older_than_the_setting_is_stale(world, settings):
    def stale():
        results = world.get(SERVICES, service="shelter").json()["results"]
        return {row["name"] for row in results if row["capacity"] and row["capacity"]["stale"]}

    assert stale() == {"Schronisko Kobierzyce"}  # 30 h, the default 24 h
    settings.DIRECTORY_CAPACITY_STALE_HOURS = 1.5
    assert stale() == {"Schronisko Kobierzyce", "Dom Oława", "Schronisko Bolesławiec", "Schronisko Warszawa",
                       "Schronisko Kraków", "Schronisko Nigdzie"}


def test_capacity_is_answered_as_counted_and_null_when_not_counted(world, now):
    rows = {row["name"]: row for row in world.get(SERVICES, teryt=WROCLAW).json()["results"]}

    capacity = rows["Schronisko Wrocław A"]["capacity"]
    assert (capacity["total"], capacity["free"], capacity["stale"]) == (10, 2, False)
    assert capacity["updated_at"] == (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert rows["Hostel Wrocław C"]["capacity"] is None
    assert rows["Poradnia Wrocław"]["capacity"] is None


def test_pages_follow_the_order_and_a_service_added_meanwhile_repeats_none(world, party, now):
    first = world.get(SERVICES, teryt=WROCLAW, service="shelter", page_size=4).json()
    # Published between two pages, ordered before the cursor: not on the next page.
    late = party("Agencja późna", "shelter")
    publish(late.caller, teryt=WROCLAW, name="Schronisko Nowe", places=(2, 2))
    second = world.client.get(first["next"], **_auth(world)).json()
    third = world.client.get(second["next"], **_auth(world)).json()
    back = world.client.get(second["previous"], **_auth(world)).json()

    seen = [row["name"] for page in (first, second, third) for row in page["results"]]
    assert seen == CASES["nearest first"][1]
    assert [len(page["results"]) for page in (first, second, third)] == [4, 4, 1]
    assert first["previous"] is None and third["next"] is None
    assert [row["name"] for row in back["results"]] == [row["name"] for row in first["results"]]


def _auth(party) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {party.token}"}


@pytest.mark.parametrize("parameter, value", [
    ("teryt", "02640"), ("teryt", "wroc"), ("language", "UK"), ("language", "ukr"), ("eligibility", "cats"),
    ("has_capacity", "yes"), ("service", "spa"), ("page_size", "0"), ("page_size", "201"), ("cursor", "bm9wZQ"),
    ("cursor", "!!"),
])
def test_a_wrong_parameter_is_a_422_naming_it(party, parameter, value):
    searcher = party("MOPS Szukający", "ops")

    response = searcher.get(SERVICES, **{parameter: value})

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [error["parameter"] for error in response.json()["errors"]] == [parameter]


def test_the_search_costs_the_same_queries_for_one_service_or_ten(party):
    searcher = party("MOPS Szukający", "ops")
    owner = party("Fundacja Schronienie", "shelter")
    publish(owner.caller, teryt=WROCLAW, name="Schronisko 0", places=(3, 1))

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = searcher.get(SERVICES, teryt=WROCLAW, service="shelter")
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    one = count()
    for n in range(1, 10):
        other = party(f"Fundacja {n}", "shelter")
        publish(other.caller, teryt=KRAKOW if n % 2 else WROCLAW, name=f"Schronisko {n}",
                places=(3, n % 3))
    ten = count()

    assert (one[1], ten[1]) == (1, 10)
    assert ten[0] == one[0]


def test_the_selector_reads_the_filtered_set_in_one_query(party, django_assert_num_queries):
    owner = party("Fundacja Schronienie", "shelter")
    for n in range(5):
        publish(owner.caller, teryt=WROCLAW, name=f"Schronisko {n}", places=(3, 1))

    with django_assert_num_queries(1):
        page = directory_search(agency=owner.agency, teryt=WROCLAW, service="shelter")
        rendered = [(hit.service.agency.name, hit.service.location.teryt) for hit in page.results]

    assert len(rendered) == 5
