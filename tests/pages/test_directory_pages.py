"""The service directory's pages (issue 14) through Django's test client:
the search (/app/directory/) in search order with its filters and the
capacity's freshness, the confidential shelter address kept to its own
agency's pages, "our services" where an agency counts its free places, and
the send-referral journey's directory step, ending in a referral sent to the
picked service, whose acceptance takes a place there."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.callers import Caller
from agencies.models import Agency, CapacityChange, DirectoryService
from agencies.services import agency_create, user_create
from referrals.models import Referral
from tests.agencies.directory_world import (
    KRAKOW,
    OLAWA,
    WARSZAWA,
    WROCLAW,
    place,
    publish,
)

from .helpers import inline_code, post_forms, staff_client
from .test_send_referral import PAYLOAD_FORM, Journey, person, summary_links
from .world import PASSWORD, PERSON_DATA

SEARCH = "/app/directory/"
OURS = "/app/directory/ours"
SECRET_ADDRESS = ["ul. Ukryta 5", "50-999", "Dom pod Lipami"]  # the shelter's confidential location


def capacity_url(service) -> str:
    return f"/app/directory/ours/{service.pk}/capacity"


class Scene:
    """The world's MOPS (in Wrocław), its shelter with a confidential
    address and two free places, and three more services: one full, one
    counted three days ago (stale), one far away with places."""

    def __init__(self, world):
        self.world = world
        Agency.objects.filter(pk=world.mops.pk).update(teryt=WROCLAW)
        world.mops.refresh_from_db()
        shelter = Caller(agency=world.shelter, user=world.shelter_worker)
        hideout = place(shelter, WROCLAW, name="Dom pod Lipami", address_1="ul. Ukryta 5", city="Wrocław",
                        postal_code="50-999", confidential=True)
        self.shelter = publish(
            shelter, location=hideout, name="Schronisko dla kobiet z dziećmi", places=(8, 2),
            eligibility=["women", "women_with_children"], languages=["pl", "uk"], open_24h=True,
            contact_name="Dyżur interwencyjny", contact_phone="+48 71 123 45 67", contact_email="dyzur@example.org",
        )
        self.shelter_counselling = publish(
            shelter, location=hideout, service="psychological", name="Poradnia przy schronisku",
            schedules=[{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"}],
        )
        olawa = Caller(agency=world.outsider, user=world.outsider_worker)
        self.full = publish(olawa, teryt=OLAWA, name="Mieszkanie interwencyjne Oława", places=(4, 0),
                            eligibility=["families"])
        krakow_agency = agency_create(name="Ośrodek Interwencji Kryzysowej Kraków", kind="ngo")
        krakow = Caller(agency=krakow_agency, user=user_create(agency=krakow_agency, username="oik.krakow",
                                                               password=PASSWORD, role="caseworker"))
        self.stale = publish(krakow, teryt=KRAKOW, name="Hostel OIK Kraków", places=(3, 3),
                             counted_at=timezone.now() - timedelta(days=3), minimum_age=18)
        warsaw_agency = agency_create(name="Fundacja Warszawska", kind="ngo")
        warsaw = Caller(agency=warsaw_agency, user=user_create(agency=warsaw_agency, username="fw.anna",
                                                               password=PASSWORD, role="caseworker"))
        self.far = publish(warsaw, teryt=WARSZAWA, name="Schronisko Warszawa", places=(10, 5), languages=["en"],
                           eligibility=["women"])
        self.admin = user_create(agency=world.shelter, username="dom.admin", password=PASSWORD, role="agency_admin")


@pytest.fixture
def scene(world):
    return Scene(world)


def html(response) -> str:
    return response.content.decode()


def shown(page: str) -> list[str]:
    """The service names of the results, in page order."""
    return [unescape(name).strip() for name in re.findall(
        r'<h3 class="govuk-summary-card__title">(.*?)<span class="govuk-visually-hidden">', page, re.DOTALL)]


def card(page: str, service) -> str:
    """The card of `service` on the page (up to the next card)."""
    for segment in page.split('<div class="govuk-summary-card" id="service-')[1:]:
        if segment.startswith(f'{service.pk}"'):
            return segment
    raise AssertionError(f"no card for {service.name}")


ALL_BY_DISTANCE = ["Schronisko dla kobiet z dziećmi", "Poradnia przy schronisku", "Mieszkanie interwencyjne Oława",
                   "Hostel OIK Kraków", "Schronisko Warszawa"]


# --- the search ---------------------------------------------------------------------------


def test_the_search_lists_services_nearest_first_with_their_free_places(scene):
    client = staff_client(scene.world.mops_worker)

    page = html(client.get(SEARCH, {"teryt": WROCLAW}))

    # Wrocław (the same powiat: counted places first), Oława, Kraków, Warszawa.
    assert shown(page) == ALL_BY_DISTANCE
    shelter = card(page, scene.shelter)
    assert "2 wolne miejsca z 8" in shelter and "W tym samym powiecie" in shelter
    assert "Całodobowo, codziennie" in shelter
    assert "Kobiety, Kobiety z dziećmi" in shelter and "polski, ukraiński" in shelter
    assert '<a class="govuk-link" href="tel:+48711234567">+48 71 123 45 67</a>' in shelter
    assert "Gmina 0264011 · Wrocław (dolnośląskie)" in shelter
    assert "0 wolnych miejsc z 4" in card(page, scene.full)
    assert re.search(r"Około \d+ km", card(page, scene.full))
    assert "Pon–Pt 08:00–16:00" in card(page, scene.shelter_counselling)
    assert "Nie podaje się tu liczby miejsc" in card(page, scene.shelter_counselling)
    assert "Wiek od 18 lat" in card(page, scene.stale)
    assert inline_code(page) == []


def test_the_first_visit_searches_from_the_agencys_own_gmina(scene):
    page = html(staff_client(scene.world.mops_worker).get(SEARCH))

    assert shown(page) == ALL_BY_DISTANCE
    assert 'value="0264011 Wrocław (dolnośląskie)"' in page
    assert "najbliższe miejscu Wrocław (dolnośląskie)" in page


def test_a_place_is_found_by_its_name_and_orders_from_there(scene):
    page = html(staff_client(scene.world.mops_worker).get(SEARCH, {"teryt": "Kraków"}))

    assert shown(page)[0] == "Hostel OIK Kraków"
    assert 'value="1261 Kraków (małopolskie)"' in page


def test_a_stale_count_is_marked_in_words_not_only_by_colour(scene):
    updated = datetime(2026, 1, 15, 22, 30, tzinfo=UTC)
    DirectoryService.objects.filter(pk=scene.stale.pk).update(capacity_updated_at=updated)
    page = html(staff_client(scene.world.mops_worker).get(SEARCH, {"teryt": WROCLAW}))

    stale = card(page, scene.stale)
    assert "Dane mogą być nieaktualne" in stale and 'class="govuk-warning-text__icon" aria-hidden="true"' in stale
    assert "Zaktualizowano 15 stycznia 2026, 23:30" in stale  # Europe/Warsaw, not UTC
    assert page.count("Dane mogą być nieaktualne") == 1  # the fresh counts are not marked


@pytest.mark.parametrize("filters, expected", [
    ({"service": "shelter"}, ["Schronisko dla kobiet z dziećmi", "Mieszkanie interwencyjne Oława", "Hostel OIK Kraków",
                              "Schronisko Warszawa"]),
    ({"service": "shelter", "has_capacity": "true"}, ["Schronisko dla kobiet z dziećmi", "Hostel OIK Kraków",
                                                      "Schronisko Warszawa"]),
    ({"language": "uk"}, ["Schronisko dla kobiet z dziećmi"]),
    ({"eligibility": "women"}, ["Schronisko dla kobiet z dziećmi", "Schronisko Warszawa"]),
    ({"eligibility": "women_with_children", "has_capacity": "true"}, ["Schronisko dla kobiet z dziećmi"]),
    ({"language": "en", "service": "psychological"}, []),
])
def test_the_filters_narrow_the_results_in_search_order(scene, filters, expected):
    page = html(staff_client(scene.world.mops_worker).get(SEARCH, {"teryt": WROCLAW, **filters}))

    assert shown(page) == expected
    if not expected:
        assert "Żadna usługa nie pasuje do tego wyszukiwania." in page


def test_a_place_that_is_not_known_is_explained_and_linked(scene):
    response = staff_client(scene.world.mops_worker).get(SEARCH, {"teryt": "Atlantyda", "service": "shelter"})

    assert summary_links(response) == [
        ("#search-teryt", "Wpisz kod TERYT albo nazwę powiatu, na przykład 0264011 lub Wrocław")]
    assert shown(html(response)) == []
    assert 'value="Atlantyda"' in html(response) and "<title>Błąd: Katalog usług" in html(response)
    response = staff_client(scene.world.mops_worker).get(SEARCH, {"teryt": "9901011"})
    assert summary_links(response)[0][0] == "#search-teryt"


def test_next_and_previous_pages_follow_the_search_order(scene, settings):
    settings.PAGES_PAGE_SIZE = 2
    client = staff_client(scene.world.mops_worker)

    first = html(client.get(SEARCH, {"teryt": WROCLAW}))
    next_url = unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    second = html(client.get(SEARCH + next_url))
    third = html(client.get(SEARCH + unescape(re.search(r'href="([^"]+)" rel="next"', second).group(1))))
    back = html(client.get(SEARCH + unescape(re.search(r'href="([^"]+)" rel="prev"', third).group(1))))

    assert 'rel="prev"' not in first
    assert shown(first) + shown(second) + shown(third) == ALL_BY_DISTANCE
    assert 'rel="next"' not in third and shown(back) == shown(second)
    assert "teryt=0264011" in next_url  # the search goes with the cursor


def test_a_cursor_that_is_not_valid_starts_again_from_the_first_page(scene):
    response = staff_client(scene.world.mops_worker).get(SEARCH, {"teryt": WROCLAW, "cursor": "bad"})

    assert response.status_code == 200
    assert "zaczyna się od pierwszej strony" in html(response)
    assert shown(html(response)) == ALL_BY_DISTANCE


def test_the_search_page_reads_the_same_number_of_queries_whatever_it_finds(scene):
    client = staff_client(scene.world.mops_worker)
    client.get(SEARCH)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(SEARCH, {"teryt": WROCLAW})
    world = scene.world
    caller = Caller(agency=world.outsider, user=world.outsider_worker)
    for index in range(8):
        publish(caller, teryt=OLAWA, name=f"Punkt {index}", places=(2, 1), languages=["de"])
    with CaptureQueriesContext(connection) as many:
        page = html(client.get(SEARCH, {"teryt": WROCLAW}))

    assert len(shown(page)) == 13
    assert len(many) == len(few)


def test_the_confidential_address_is_only_on_its_own_agencys_pages(scene):
    world = scene.world
    for user in (world.mops_worker, world.outsider_worker):
        for language in ("pl", "en"):
            page = html(staff_client(user, language).get(SEARCH, {"teryt": WROCLAW}))
            assert "Schronisko dla kobiet z dziećmi" in page
            assert [secret for secret in SECRET_ADDRESS if secret in page] == []
        assert "Adres poufny: instytucja poda go" in card(html(staff_client(user).get(SEARCH)), scene.shelter)
    own = staff_client(world.shelter_worker)
    for path in (SEARCH, OURS):
        page = html(own.get(path))
        assert all(secret in page for secret in SECRET_ADDRESS), path
        assert "Adres poufny: widzi go tylko Twoja instytucja" in page


def test_the_pages_hold_no_person_data(scene):
    world = scene.world
    for user, path in ((world.mops_worker, SEARCH), (world.shelter_worker, SEARCH), (world.shelter_worker, OURS)):
        page = html(staff_client(user).get(path))
        assert [value for value in PERSON_DATA if value in page] == []
        assert inline_code(page) == []
        assert all("csrfmiddlewaretoken" in form["fields"] for form in post_forms(page))


def test_who_may_open_the_directory_and_who_may_count_places(scene):
    world = scene.world
    dpo = staff_client(world.mops_dpo)
    coordinator = staff_client(world.shelter_coordinator)
    admin = staff_client(scene.admin)

    assert dpo.get(SEARCH).status_code == 403 and dpo.get(OURS).status_code == 403
    assert coordinator.get(SEARCH).status_code == 200
    assert coordinator.get(OURS).status_code == 403
    assert coordinator.post(capacity_url(scene.shelter), {"free": "1"}).status_code == 403
    assert admin.get(SEARCH).status_code == 200 and admin.get(OURS).status_code == 200
    assert "Usługi Twojej instytucji i wolne miejsca" in html(staff_client(world.shelter_worker).get(SEARCH))
    assert "/app/directory/ours" not in html(coordinator.get(SEARCH))
    scene.shelter.refresh_from_db()
    assert scene.shelter.capacity_free == 2
    assert 'href="/app/directory/"' in html(coordinator.get("/app/"))  # in the menu


# --- our services --------------------------------------------------------------------------


def test_the_owner_counts_its_free_places_in_one_step(scene):
    client = staff_client(scene.world.shelter_worker)
    page = html(client.get(OURS))
    assert shown(page) == ["Schronisko dla kobiet z dziećmi", "Poradnia przy schronisku"]  # counted places first
    assert f'id="free-{scene.shelter.pk}" name="free" type="text" inputmode="numeric" value="2"' in page
    assert 'id="free-' not in card(page, scene.shelter_counselling)  # counts no places: no form

    response = client.post(capacity_url(scene.shelter), {"free": "1"})

    assert response.status_code == 302 and response["Location"] == OURS
    scene.shelter.refresh_from_db()
    assert (scene.shelter.capacity_free, scene.shelter.capacity_total) == (1, 8)
    change = CapacityChange.objects.filter(service=scene.shelter).latest("id")
    assert (change.reason, change.free, change.actor) == ("agency_update", 1, f"user:{scene.world.shelter_worker.pk}")
    page = html(client.get(OURS))
    assert "Zapisano. Schronisko dla kobiet z dziećmi: 1 wolne miejsce z 8, stan na" in page
    assert 'value="1"' in card(page, scene.shelter)


@pytest.mark.parametrize("typed, message", [
    ("", "Wpisz liczbę wolnych miejsc, na przykład 2"),
    ("dwa", "Wpisz liczbę wolnych miejsc jako liczbę całkowitą, na przykład 2"),
    ("-1", "Liczba wolnych miejsc nie może być mniejsza niż 0"),
    ("9", "Wpisz liczbę od 0 do 8 (tyle miejsc ma usługa)"),
])
def test_a_wrong_count_is_explained_at_its_field_and_nothing_changes(scene, typed, message):
    client = staff_client(scene.world.shelter_worker)

    response = client.post(capacity_url(scene.shelter), {"free": typed})

    assert response.status_code == 422
    assert summary_links(response) == [(f"#free-{scene.shelter.pk}", message)]
    assert f'value="{typed}"' in card(html(response), scene.shelter)
    assert f'aria-describedby="free-{scene.shelter.pk}-hint free-{scene.shelter.pk}-error"' in html(response)
    scene.shelter.refresh_from_db()
    assert scene.shelter.capacity_free == 2


def test_another_agency_cannot_count_a_services_places(scene):
    world = scene.world
    for user in (world.mops_worker, world.outsider_worker):
        response = staff_client(user).post(capacity_url(scene.shelter), {"free": "0"})
        assert response.status_code == 404
    assert staff_client(world.shelter_worker).post(
        f"/app/directory/ours/{scene.full.pk}/capacity", {"free": "3"}).status_code == 404
    scene.shelter.refresh_from_db()
    scene.full.refresh_from_db()
    assert (scene.shelter.capacity_free, scene.full.capacity_free) == (2, 0)
    assert staff_client(world.shelter_worker).get(capacity_url(scene.shelter)).status_code == 405


def test_a_service_without_counted_places_cannot_be_given_a_count_here(scene):
    response = staff_client(scene.world.shelter_worker).post(capacity_url(scene.shelter_counselling), {"free": "1"})

    assert response.status_code == 409
    assert "nie podaje liczby miejsc" in html(response)
    scene.shelter_counselling.refresh_from_db()
    assert scene.shelter_counselling.capacity_total is None


def places_url(service) -> str:
    return f"/app/directory/ours/{service.pk}/places"


def test_the_administrator_starts_counting_the_places_of_a_service_that_counted_none(scene):
    client = staff_client(scene.admin)
    counselling = card(html(client.get(OURS)), scene.shelter_counselling)
    assert "Zacznij podawać liczbę wolnych miejsc" in counselling and "<details" in counselling
    assert f'id="places-total-{scene.shelter_counselling.pk}"' in counselling

    response = client.post(places_url(scene.shelter_counselling), {"total": "3", "free": "3"})

    assert response.status_code == 302 and response["Location"] == OURS
    scene.shelter_counselling.refresh_from_db()
    assert (scene.shelter_counselling.capacity_total, scene.shelter_counselling.capacity_free) == (3, 3)
    change = CapacityChange.objects.filter(service=scene.shelter_counselling).latest("id")
    assert (change.reason, change.total, change.free, change.actor) == ("agency_update", 3, 3, f"user:{scene.admin.pk}")
    page = html(client.get(OURS))
    assert "Zapisano. Poradnia przy schronisku: 3 wolne miejsca z 3, stan na" in page
    counted = card(page, scene.shelter_counselling)
    assert f'id="free-{scene.shelter_counselling.pk}"' in counted  # now counted: the night shift's field too
    assert "Zmień liczbę wszystkich miejsc" in counted


def test_a_room_closed_lowers_the_places_in_all_with_the_free_ones(scene):
    response = staff_client(scene.admin).post(places_url(scene.shelter), {"total": "6", "free": "1"})

    assert response.status_code == 302
    scene.shelter.refresh_from_db()
    assert (scene.shelter.capacity_total, scene.shelter.capacity_free) == (6, 1)
    # The night shift's next count is held to the new number.
    response = staff_client(scene.world.shelter_worker).post(capacity_url(scene.shelter), {"free": "7"})
    assert summary_links(response) == [(f"#free-{scene.shelter.pk}", "Wpisz liczbę od 0 do 6 (tyle miejsc ma usługa)")]


@pytest.mark.parametrize("typed, errors", [
    ({"total": "", "free": "1"}, [("total", "Wpisz liczbę wszystkich miejsc, na przykład 8")]),
    ({"total": "osiem", "free": ""}, [("total", "Wpisz liczbę wszystkich miejsc jako liczbę całkowitą, na przykład 8"),
                                      ("free", "Wpisz liczbę wolnych miejsc, na przykład 2")]),
    ({"total": "-2", "free": "0"}, [("total", "Liczba wszystkich miejsc nie może być mniejsza niż 0")]),
    ({"total": "100001", "free": "0"}, [("total", "Liczba wszystkich miejsc nie może być większa niż 100000")]),
    ({"total": "4", "free": "5"}, [("free", "Wpisz liczbę od 0 do 4 (tyle wszystkich miejsc podano)")]),
])
def test_wrong_numbers_of_places_are_explained_at_their_fields_and_nothing_changes(scene, typed, errors):
    changes = CapacityChange.objects.count()
    response = staff_client(scene.admin).post(places_url(scene.shelter), typed)

    assert response.status_code == 422
    pk = scene.shelter.pk
    assert summary_links(response) == [(f"#places-{field}-{pk}", message) for field, message in errors]
    shelter = card(html(response), scene.shelter)
    assert f'<details class="govuk-details" id="places-{pk}" open>' in shelter
    for field, _ in errors:
        assert f'aria-describedby="places-{field}-{pk}-error"' in shelter
    assert f'id="places-total-{pk}" name="total" type="text" inputmode="numeric" value="{typed["total"]}"' in shelter
    assert '<details class="govuk-details" id="places-' + str(scene.shelter_counselling.pk) + '">' in html(response)
    scene.shelter.refresh_from_db()
    assert (scene.shelter.capacity_total, scene.shelter.capacity_free) == (8, 2)
    assert CapacityChange.objects.count() == changes


def test_only_the_administrator_and_the_supervisor_set_the_places_in_all(scene):
    world = scene.world
    worker = staff_client(world.shelter_worker)
    assert "Zmień liczbę wszystkich miejsc" not in html(worker.get(OURS))
    assert worker.post(places_url(scene.shelter), {"total": "20", "free": "20"}).status_code == 403
    supervisor = user_create(agency=world.shelter, username="dom.kierownik", password=PASSWORD, role="supervisor")
    assert staff_client(supervisor).post(places_url(scene.shelter), {"total": "9", "free": "3"}).status_code == 302
    for user in (world.mops_worker, world.outsider_worker):  # another agency's service: not found
        other_admin = user_create(agency=user.memberships.get().agency, username=f"{user.username}.admin",
                                  password=PASSWORD, role="agency_admin")
        assert staff_client(other_admin).post(places_url(scene.shelter), {"total": "1", "free": "0"}).status_code == 404
    assert staff_client(scene.admin).get(places_url(scene.shelter)).status_code == 405
    scene.shelter.refresh_from_db()
    assert (scene.shelter.capacity_total, scene.shelter.capacity_free) == (9, 3)


def test_an_employers_placement_places_are_not_set_by_hand(scene):
    employer = agency_create(name="Zakład Pracy Chronionej", kind="employer")
    admin = user_create(agency=employer, username="zpch.admin", password=PASSWORD, role="agency_admin")
    caller = Caller(agency=employer, user=admin)
    jobs = publish(caller, service="employment_activation", name="Miejsca zatrudnienia wspieranego", places=(0, 0))
    other = publish(caller, service="vocational_training", name="Szkolenia zawodowe")
    client = staff_client(admin)
    page = html(client.get(OURS))
    assert "Zmień liczbę wszystkich miejsc" not in card(page, jobs)
    assert "Zacznij podawać liczbę wolnych miejsc" in card(page, other)

    response = client.post(places_url(jobs), {"total": "5", "free": "5"})

    assert response.status_code == 409
    summary = re.search(r'class="govuk-error-summary".*?</ul>', html(response), re.DOTALL).group(0)
    assert ("<li>Miejsca tej usługi wynikają z porozumień o zatrudnieniu zawartych przez Twoją instytucję, "
            "więc nie ustawia się ich tutaj.</li>") in summary
    jobs.refresh_from_db()
    assert (jobs.capacity_total, jobs.capacity_free) == (0, 0)


# --- the send-referral journey's directory step ------------------------------------------------


def to_directory(journey, subject, service="shelter"):
    journey.post("who", {"who": "existing", "subject": str(subject.id)})
    return journey.post("service", {"service": service, "to_agency": "", "urgency": "urgent",
                                    "purpose": "referral", "reason": "Przemoc w domu.", "find": "directory"})


def test_the_journey_opens_the_directory_with_the_service_typed_and_the_agencys_place(scene):
    world = scene.world
    subject = person(world)
    journey = Journey(staff_client(world.mops_worker))

    response = to_directory(journey, subject)

    assert response.status_code == 302
    assert response["Location"] == journey.url("directory") + "?teryt=0264011&service=shelter"
    page = html(journey.get(response["Location"]))
    assert shown(page) == ["Schronisko dla kobiet z dziećmi", "Mieszkanie interwencyjne Oława", "Hostel OIK Kraków",
                           "Schronisko Warszawa"]
    assert page.count('name="directory_service"') == page.count(">Wyślij skierowanie tutaj<span") == 4
    assert [secret for secret in SECRET_ADDRESS if secret in page] == []
    assert [value for value in PERSON_DATA + ["Maria", "Kowalczyk"] if value in page] == []
    assert inline_code(page) == []
    assert all("csrfmiddlewaretoken" in form["fields"] for form in post_forms(page))
    # What she typed on the service step is kept.
    assert "Przemoc w domu." in html(journey.page("service"))


def test_a_place_picked_in_the_directory_ends_in_a_referral_that_takes_it_when_accepted(scene):
    world = scene.world
    subject = person(world)
    journey = Journey(staff_client(world.mops_worker))
    to_directory(journey, subject)

    response = journey.post("directory", {"directory_service": str(scene.shelter.pk)})

    assert response["Location"] == journey.url("service")
    service_page = html(journey.page("service"))
    assert "Wybrano Schronisko dla kobiet z dziećmi (Schronisko Bezpieczny Dom)." in service_page
    assert "Wybrano w katalogu usług: Schronisko dla kobiet z dziećmi." in service_page
    assert f'<option value="{world.shelter.pk}" selected>' in service_page
    assert 'value="urgent" checked' in service_page
    answer = {"service": "shelter", "to_agency": str(world.shelter.pk), "urgency": "urgent", "purpose": "referral",
              "reason": "Przemoc w domu."}
    assert journey.post("service", answer)["Location"] == journey.url("details")
    assert journey.post("details", PAYLOAD_FORM)["Location"] == journey.url("check")
    check = html(journey.page("check"))
    assert "Miejsce z katalogu usług" in check and "2 wolne miejsca z 8" in check

    sent = journey.post("check", {"withhold": ["health", "contact"]})

    referral = Referral.objects.get(subject=subject)
    assert sent["Location"] == f"/app/referrals/{referral.id}"
    assert referral.directory_service_id == scene.shelter.pk
    shelter = staff_client(world.shelter_worker)
    for to in ("received", "accepted"):
        referral.refresh_from_db()
        response = shelter.post(f"/app/referrals/{referral.id}/transition", {"to": to, "if_match": referral.etag})
        assert response.status_code == 302, to
    scene.shelter.refresh_from_db()
    assert scene.shelter.capacity_free == 1
    assert CapacityChange.objects.filter(service=scene.shelter, referral_id=referral.id,
                                         reason="referral_accepted").exists()
    assert "1 wolne miejsce z 8" in card(html(staff_client(world.mops_worker).get(SEARCH)), scene.shelter)


def test_choosing_another_agency_after_the_pick_drops_it(scene):
    world = scene.world
    subject = person(world)
    journey = Journey(staff_client(world.mops_worker))
    to_directory(journey, subject)
    journey.post("directory", {"directory_service": str(scene.full.pk)})  # Oława's, then changed her mind
    assert "Wybrano w katalogu usług: Mieszkanie interwencyjne Oława." in html(journey.page("service"))

    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.pk), "urgency": "urgent",
                             "purpose": "referral", "reason": ""})
    journey.post("details", PAYLOAD_FORM)
    assert "Miejsce z katalogu usług" not in html(journey.page("check"))
    journey.post("check", {"withhold": ["health", "contact"]})

    referral = Referral.objects.get(subject=subject)
    assert referral.recipient_id == world.shelter.pk and referral.directory_service_id is None


@pytest.mark.parametrize("which", ["own", "unknown", "inactive", "garbage"])
def test_a_service_that_cannot_be_picked_is_a_404(scene, which):
    world = scene.world
    subject = person(world)
    own = publish(Caller(agency=world.mops, user=world.mops_worker), name="Punkt MOPS", service="shelter")
    closed = publish(Caller(agency=world.outsider, user=world.outsider_worker), teryt=OLAWA, name="Zamknięte",
                     status="inactive")
    picked = {"own": str(own.pk), "unknown": "6f1c4f0e-2a4b-4d8e-9a51-5d0b1c2e3f40", "inactive": str(closed.pk),
              "garbage": "x"}[which]
    journey = Journey(staff_client(world.mops_worker))
    to_directory(journey, subject)

    assert journey.post("directory", {"directory_service": picked}).status_code == 404
    assert "Punkt MOPS" in html(journey.get(journey.url("directory")))
    assert "To usługa Twojej instytucji." in html(journey.get(journey.url("directory")))


def test_the_directory_step_needs_the_earlier_answers_and_the_users_own_journey(scene):
    world = scene.world
    journey = Journey(staff_client(world.mops_worker))

    assert journey.page("directory")["Location"] == journey.url("who")  # no person chosen yet
    other = staff_client(world.outsider_worker)
    assert other.get(journey.url("directory")).status_code == 404
    assert other.post(journey.url("directory"), {"directory_service": str(scene.shelter.pk)}).status_code == 404


def test_the_journey_still_works_without_the_directory(scene):
    world = scene.world
    subject = person(world)
    journey = Journey(staff_client(world.mops_worker))

    journey.to_check(world, subject)
    journey.post("check", {"withhold": ["health", "contact"]})

    referral = Referral.objects.get(subject=subject)
    assert referral.recipient_id == world.shelter.pk and referral.directory_service_id is None


def test_the_picked_service_closing_before_sending_is_explained(scene):
    world = scene.world
    subject = person(world)
    journey = Journey(staff_client(world.mops_worker))
    to_directory(journey, subject)
    journey.post("directory", {"directory_service": str(scene.shelter.pk)})
    journey.post("service", {"service": "shelter", "to_agency": str(world.shelter.pk), "urgency": "urgent",
                             "purpose": "referral", "reason": ""})
    journey.post("details", PAYLOAD_FORM)
    DirectoryService.objects.filter(pk=scene.shelter.pk).update(status="temporarily closed")

    response = journey.post("check", {"withhold": ["health", "contact"]})

    assert response.status_code == 422
    assert summary_links(response) == [(journey.url("service"), (
        "Usługa wybrana w katalogu nie przyjmuje już skierowań: wybierz ponownie usługę i instytucję"))]
    assert not Referral.objects.filter(subject=subject).exists()


def test_no_person_data_in_the_directory_steps_urls_or_titles(scene):
    world = scene.world
    subject = person(world)
    journey = Journey(staff_client(world.mops_worker))
    journey.get(to_directory(journey, subject)["Location"])
    journey.post("directory", {"directory_service": str(scene.shelter.pk)})
    journey.page("service")

    for text in journey.urls + journey.titles:
        assert [value for value in PERSON_DATA + ["Maria", "Kowalczyk", "MOPS/21/2026"] if value in text] == [], text
    assert any(title.startswith("Znajdź miejsce w katalogu usług – Wyślij skierowanie") for title in journey.titles)
