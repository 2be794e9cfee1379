"""The service directory's pages in a real browser (Debian's Chromium
through Playwright, axe-core for accessibility): a search with filters, a
shelter worker counting her free places with one field and Enter, and the
send-referral journey's directory step end to end; every directory page in
Polish and English with 0 serious or critical axe violations, the CSP and no
inline code. Screenshots: test-artifacts/pages/directory-*.png."""

import re

import pytest
from playwright.sync_api import expect

from agencies.models import CapacityChange
from referrals.models import Referral

from .helpers import browser_login
from .test_browser import check_page, settle, shoot
from .test_directory_pages import SECRET_ADDRESS, Scene
from .test_send_referral import person
from .test_send_referral_browser import check_error_page, submit


@pytest.fixture
def live_scene(live_world):
    return Scene(live_world)


def names(page) -> list[str]:
    return [re.split(r" —|\n", text)[0].strip() for text in page.locator(".govuk-summary-card__title").all_inner_texts()]


def test_a_search_with_filters_in_polish(live_scene, context, live_server, artifacts):
    scene = live_scene
    browser_login(context, live_server, scene.world.mops_worker)
    page = context.new_page()

    page.goto("/app/")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="Katalog usług").click()
    expect(page.get_by_role("heading", name="Katalog usług", level=1)).to_be_visible()
    expect(page.get_by_label("Szukaj w pobliżu (gmina lub powiat)")).to_have_value("0264011 Wrocław (dolnośląskie)")
    assert names(page)[0] == "Schronisko dla kobiet z dziećmi"
    stale = page.locator(f"#service-{scene.stale.pk}")
    expect(stale.get_by_text("Dane mogą być nieaktualne")).to_be_visible()
    expect(page.locator(f"#service-{scene.shelter.pk}").get_by_role("link", name="+48 71 123 45 67")).to_have_attribute(
        "href", "tel:+48711234567")
    shoot(page, artifacts, "directory-search")

    page.get_by_label("Usługa", exact=True).select_option("shelter")
    page.get_by_label("Szukaj w pobliżu (gmina lub powiat)").fill("0215 powiat oławski (dolnośląskie)")
    page.get_by_label("Tylko usługi z wolnym miejscem teraz").check()
    page.get_by_label("Dla kogo").select_option("women")
    submit(page, "Szukaj")

    expect(page.get_by_label("Szukaj w pobliżu (gmina lub powiat)")).to_have_value("0215 powiat oławski (dolnośląskie)")
    assert names(page) == ["Schronisko dla kobiet z dziećmi", "Schronisko Warszawa"]
    expect(page.get_by_label("Tylko usługi z wolnym miejscem teraz")).to_be_checked()
    assert "has_capacity=true" in page.url and "eligibility=women" in page.url
    assert [secret for secret in SECRET_ADDRESS if secret in page.content()] == []
    page.get_by_role("combobox", name="Język").select_option("uk")
    submit(page, "Szukaj")
    assert names(page) == ["Schronisko dla kobiet z dziećmi"]
    with page.expect_navigation():
        page.get_by_role("link", name="Wyczyść filtry").click()
    assert len(names(page)) == 5
    settle(page)
    assert context.console_errors == []


def test_a_shelter_worker_counts_her_free_places_with_one_field_and_enter(live_scene, context, live_server, artifacts):
    scene = live_scene
    browser_login(context, live_server, scene.world.shelter_worker)
    page = context.new_page()
    page.goto("/app/directory/")
    page.get_by_role("link", name="Usługi Twojej instytucji i wolne miejsca").click()

    field = page.get_by_label("Wolne miejsca teraz: Schronisko dla kobiet z dziećmi")
    expect(field).to_have_value("2")
    field.fill("dużo")
    field.press("Enter")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    shoot(page, artifacts, "directory-ours-error")
    summary.get_by_role("link", name="Wpisz liczbę wolnych miejsc jako liczbę całkowitą, na przykład 2").click()
    expect(field).to_be_focused()
    field.fill("0")
    field.press("Enter")

    expect(page.get_by_text(re.compile(r"Zapisano\. Schronisko dla kobiet z dziećmi: 0 wolnych miejsc z 8, stan na"))).to_be_visible()
    expect(page.locator(f"#service-{scene.shelter.pk}").get_by_text("0 wolnych miejsc z 8")).to_be_visible()
    shoot(page, artifacts, "directory-ours")
    settle(page)
    scene.shelter.refresh_from_db()
    assert scene.shelter.capacity_free == 0
    assert CapacityChange.objects.filter(service=scene.shelter, reason="agency_update", free=0).exists()
    assert context.console_errors == []


def test_the_administrator_starts_counting_places_under_a_folded_summary(live_scene, context, live_server, artifacts):
    scene = live_scene
    browser_login(context, live_server, scene.admin)
    page = context.new_page()
    page.goto("/app/directory/ours")
    card = page.locator(f"#service-{scene.shelter_counselling.pk}")
    total = card.get_by_label("Liczba wszystkich miejsc")
    expect(total).to_be_hidden()  # folded away: the night shift's one field stays first
    card.get_by_text("Zacznij podawać liczbę wolnych miejsc").click()
    total.fill("3")
    card.get_by_label("Z nich wolnych teraz").fill("4")
    with page.expect_navigation():
        card.get_by_role("button", name=re.compile("^Zapisz liczbę miejsc")).click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(card.get_by_label("Z nich wolnych teraz")).to_be_visible()  # open again, with what was typed
    summary.get_by_role("link", name="Wpisz liczbę od 0 do 3 (tyle wszystkich miejsc podano)").click()
    expect(card.get_by_label("Z nich wolnych teraz")).to_be_focused()
    shoot(page, artifacts, "directory-places-error")
    card.get_by_label("Z nich wolnych teraz").fill("3")
    with page.expect_navigation():
        card.get_by_role("button", name=re.compile("^Zapisz liczbę miejsc")).click()

    expect(page.get_by_text(re.compile(r"Zapisano\. Poradnia przy schronisku: 3 wolne miejsca z 3, stan na"))).to_be_visible()
    expect(page.get_by_label("Wolne miejsca teraz: Poradnia przy schronisku")).to_have_value("3")
    settle(page)
    scene.shelter_counselling.refresh_from_db()
    assert (scene.shelter_counselling.capacity_total, scene.shelter_counselling.capacity_free) == (3, 3)
    assert context.console_errors == []


def test_the_journey_finds_a_place_in_the_directory_and_sends_the_referral_there(live_scene, context, live_server,
                                                                                 artifacts):
    scene = live_scene
    world = scene.world
    subject = person(world)
    browser_login(context, live_server, world.mops_worker)
    page = context.new_page()
    page.goto(f"/app/referrals/new?subject={subject.id}")
    submit(page, "Dalej")
    expect(page.get_by_role("heading", name="Usługa i instytucja")).to_be_visible()
    page.get_by_label("Jakiej usługi potrzebuje osoba?").select_option("shelter")
    page.get_by_label("Pilne", exact=True).check()
    page.get_by_label("Powód skierowania").fill("Przemoc w domu.")

    submit(page, "Znajdź miejsce w katalogu usług")
    expect(page.get_by_role("heading", name="Znajdź miejsce w katalogu usług")).to_be_visible()
    expect(page.get_by_label("Usługa", exact=True)).to_have_value("shelter")
    assert names(page)[0] == "Schronisko dla kobiet z dziećmi"
    shoot(page, artifacts, "directory-journey")
    submit(page, re.compile(r"^Wyślij skierowanie tutaj\s*: Schronisko dla kobiet z dziećmi, Schronisko Bezpieczny Dom$"))

    expect(page.get_by_text("Wybrano w katalogu usług: Schronisko dla kobiet z dziećmi.")).to_be_visible()
    expect(page.get_by_label("Do której instytucji wysłać skierowanie?")).to_have_value(str(world.shelter.pk))
    expect(page.get_by_label("Powód skierowania")).to_have_value("Przemoc w domu.")
    expect(page.get_by_label("Pilne", exact=True)).to_be_checked()
    submit(page, "Dalej")
    page.get_by_label("Opis sytuacji i cel skierowania").fill("Kobieta z dwójką dzieci, potrzebne miejsce dziś.")
    page.get_by_role("group", name="Poziom ryzyka").get_by_label("Wysoki").check()
    submit(page, "Dalej")

    expect(page.get_by_role("heading", name="Sprawdź dane przed wysłaniem skierowania")).to_be_visible()
    row = page.locator("#directory-choice")
    expect(row).to_contain_text("Schronisko dla kobiet z dziećmi")
    expect(row).to_contain_text("2 wolne miejsca z 8")
    shoot(page, artifacts, "directory-journey-check")
    page.get_by_label("Dane kontaktowe").check()
    submit(page, "Wyślij skierowanie")

    expect(page.get_by_text("Skierowanie zostało wysłane do: Schronisko Bezpieczny Dom.")).to_be_visible()
    settle(page)
    referral = Referral.objects.get(subject=subject)
    assert referral.directory_service_id == scene.shelter.pk
    assert context.console_errors == []


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_directory_page_passes_axe_with_the_csp_and_no_inline_code(live_scene, context, live_server, language,
                                                                         settings):
    scene = live_scene
    world = scene.world
    settings.PAGES_PAGE_SIZE = 2  # so that the pagination is on the page
    browser_login(context, live_server, world.mops_worker)
    page = context.new_page()
    page.goto(f"/app/?lang={language}")
    for path in ["/app/directory/", "/app/directory/?teryt=0264011&service=shelter&has_capacity=true",
                 "/app/directory/?teryt=Atlantyda", "/app/directory/?language=en&service=psychological"]:
        check_page(page, page.goto(path), path)
    page.goto("/app/directory/")
    with page.expect_navigation():
        page.locator("a[rel=next]").click()
    check_page(page, page.goto(page.url), "the second page")
    expect(page.locator("a[rel=prev]")).to_be_visible()
    check_page(page, page.goto("/app/directory/ours"), "ours (a MOPS with no service of its own)")

    subject = person(world)
    page.goto(f"/app/referrals/new?subject={subject.id}")
    words = {"pl": ("Dalej", "Znajdź miejsce w katalogu usług"), "en": ("Continue", "Find a place in the directory")}
    submit(page, words[language][0])
    page.locator("#service").select_option("shelter")
    response = submit(page, words[language][1])
    check_page(page, response, "the journey's directory")
    response = submit(page, re.compile(r"^(Wyślij skierowanie tutaj|Send the referral here)\s*: Schronisko dla kobiet"))
    check_page(page, response, "the service step with the pick")
    settle(page)

    context.clear_cookies()
    browser_login(context, live_server, world.shelter_worker)
    check_page(page, page.goto(f"/app/directory/ours?lang={language}"), "ours")
    page.locator(f"#free-{scene.shelter.pk}").fill("99")
    with page.expect_navigation() as navigation:
        page.locator(f"#free-{scene.shelter.pk}").press("Enter")
    check_error_page(page, navigation.value, "ours with an error")
    context.clear_cookies()
    browser_login(context, live_server, scene.admin)
    check_page(page, page.goto(f"/app/directory/ours?lang={language}"), "ours for the administrator")
    page.locator(f"#places-{scene.shelter_counselling.pk} summary").click()
    page.locator(f"#places-total-{scene.shelter_counselling.pk}").fill("many")
    with page.expect_navigation() as navigation:
        page.locator(f"#places-total-{scene.shelter_counselling.pk}").press("Enter")
    check_error_page(page, navigation.value, "ours with the places' error")
    context.clear_cookies()
    browser_login(context, live_server, world.mops_dpo)
    check_page(page, page.goto(f"/app/directory/?lang={language}"), "the 403 page")
    settle(page)
    assert context.console_errors == []
