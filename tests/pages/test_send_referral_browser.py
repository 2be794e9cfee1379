"""The send-referral journey in a real browser (Debian's Chromium through
Playwright, axe-core for accessibility): end to end in Polish, by keyboard
alone, and every page of it in Polish and English with 0 serious or critical
axe violations, the CSP header and no inline code. Screenshots:
test-artifacts/pages/send-referral-<step>.png."""

import re

import pytest
from playwright.sync_api import expect

from consent_ledger.sealing import unsealed
from referrals.models import Referral

from .helpers import browser_login, inline_code
from .test_browser import (
    CSP_DIRECTIVES,
    check_page,
    serious_violations,
    settle,
    shoot,
    tab_to,
)
from .test_send_referral import person

NEW = "/app/referrals/new"


def check_error_page(page, response, path):
    """check_page for a page that answers 422 (a form with errors)."""
    assert response.status == 422, (path, response.status)
    assert all(d in response.headers["content-security-policy"] for d in CSP_DIRECTIVES), path
    assert response.headers["x-frame-options"] == "DENY"
    assert inline_code(page.content()) == [], path
    assert serious_violations(page) == [], path


def submit(page, name):
    """Press a button and wait for the page it leads to; its response."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=name, exact=True).click()
    return navigation.value


def press_until(page, key: str, done_js: str, limit: int = 60):
    """Press `key` until the page satisfies `done_js` (a JS expression)."""
    for _ in range(limit):
        if page.evaluate(done_js):
            return
        page.keyboard.press(key)
    raise AssertionError(f"never reached by {key}: {done_js}")


def focused(predicate: str) -> str:
    return f"e => {predicate}"


def test_the_whole_journey_in_polish_and_the_shelter_sees_it_in_its_inbox(live_world, context, live_server, artifacts):
    world = live_world
    subject = person(world)
    browser_login(context, live_server, world.mops_worker)
    page = context.new_page()

    response = page.goto("/app/referrals/outbox")
    with page.expect_navigation() as navigation:
        page.goto(NEW)
    expect(page.get_by_role("heading", name="Kogo dotyczy skierowanie?")).to_be_visible()
    check_page(page, navigation.value, "who")
    shoot(page, artifacts, "send-referral-who")
    page.get_by_label("Osoba zarejestrowana przez Twoją instytucję").check()
    page.get_by_label("Numer sprawy").select_option(str(subject.id))
    response = submit(page, "Dalej")

    expect(page.get_by_role("heading", name="Usługa i instytucja")).to_be_visible()
    check_page(page, response, "service")
    page.get_by_label("Jakiej usługi potrzebuje osoba?").select_option("shelter")
    page.get_by_label("Do której instytucji wysłać skierowanie?").select_option(str(world.shelter.id))
    page.get_by_label("Pilne", exact=True).check()
    page.get_by_label("Powód skierowania").fill("Przemoc w domu od miesięcy.")
    shoot(page, artifacts, "send-referral-service")
    response = submit(page, "Dalej")

    expect(page.get_by_role("heading", name="Szczegóły skierowania: Schronienie")).to_be_visible()
    check_page(page, response, "details")
    shoot(page, artifacts, "send-referral-details")
    page.get_by_role("group", name="Poziom ryzyka").get_by_label("Wysoki").check()
    page.get_by_label("Uwagi do oceny ryzyka").fill("Groził nożem.")
    page.get_by_label("Uwagi o stanie zdrowia").fill("Astma.")
    response = submit(page, "Dalej")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Uzupełnij pole „Opis sytuacji i cel skierowania”")
    check_error_page(page, response, "details with an error")
    expect(page.get_by_label("Uwagi do oceny ryzyka")).to_have_value("Groził nożem.")
    shoot(page, artifacts, "send-referral-details-error")
    page.get_by_label("Opis sytuacji i cel skierowania").fill("Uciekła z domu z dwójką dzieci.")
    page.get_by_role("group", name="Wymagany utajniony adres").get_by_label("Tak").check()
    response = submit(page, "Dalej")

    expect(page.get_by_role("heading", name="Sprawdź dane przed wysłaniem skierowania")).to_be_visible()
    check_page(page, response, "check")
    expect(page.locator("#category-health")).to_contain_text("Brak podstawy")
    expect(page.locator("#category-risk")).to_contain_text("Może otrzymać")
    expect(page.get_by_role("link", name=re.compile("Odnotuj zgodę osoby"))).to_be_visible()
    shoot(page, artifacts, "send-referral-check")
    response = submit(page, "Wyślij skierowanie")
    expect(page.locator(".govuk-error-summary")).to_contain_text("nie ma podstawy do otrzymania: „Zdrowie”")
    check_error_page(page, response, "check with no basis")
    shoot(page, artifacts, "send-referral-check-error")
    page.get_by_label("Zdrowie").check()
    page.get_by_label("Dane kontaktowe").check()
    submit(page, "Wyślij skierowanie")

    expect(page.get_by_text("Skierowanie zostało wysłane do: Schronisko Bezpieczny Dom.")).to_be_visible()
    shoot(page, artifacts, "send-referral-sent")
    settle(page)
    referral = Referral.objects.get(subject=subject)
    assert referral.status == "requested" and referral.withhold_categories == ["contact", "health"]
    assert unsealed(referral.payload)["risk"] == {"level": "high", "notes": "Groził nożem."}

    context.clear_cookies()
    browser_login(context, live_server, world.shelter_worker)
    page.goto("/app/referrals/inbox")
    row = page.locator(f"a[href='/app/referrals/{referral.id}']")
    expect(row).to_be_visible()
    row.click()
    expect(page.get_by_text("Uciekła z domu z dwójką dzieci.")).to_be_visible()
    expect(page.get_by_text("Zdrowie — brak podstawy do udostępnienia")).to_be_visible()
    assert "Astma" not in page.content()
    settle(page)
    assert context.console_errors == []


def test_the_journey_can_be_completed_with_the_keyboard_alone(live_world, context, live_server):
    world = live_world
    subject = person(world)
    browser_login(context, live_server, world.mops_worker)
    page = context.new_page()
    page.goto(NEW)
    keyboard = page.keyboard

    # Who: the radio, then the revealed list of case references.
    tab_to(page, focused("e.id === 'who'"))
    keyboard.press("Space")
    tab_to(page, focused("e.id === 'subject'"))
    press_until(page, "ArrowDown", f"document.activeElement.value === '{subject.id}'")
    tab_to(page, focused("e.tagName === 'BUTTON' && e.textContent.trim() === 'Dalej'"))
    keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Usługa i instytucja")).to_be_visible()
    tab_to(page, focused("e.id === 'service'"))
    press_until(page, "ArrowDown", "document.activeElement.value === 'shelter'")
    tab_to(page, focused("e.id === 'to_agency'"))
    press_until(page, "ArrowDown", f"document.activeElement.value === '{world.shelter.id}'")
    tab_to(page, focused("e.name === 'urgency'"))
    press_until(page, "ArrowDown", "document.querySelector('input[name=urgency]:checked')?.value === 'urgent'")
    tab_to(page, focused("e.id === 'reason'"))
    keyboard.type("Przemoc w domu.")
    tab_to(page, focused("e.tagName === 'BUTTON' && e.textContent.trim() === 'Dalej'"))
    keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Szczegóły skierowania: Schronienie")).to_be_visible()
    tab_to(page, focused("e.id === 'summary'"))
    keyboard.type("Potrzebuje schronienia dziś.")
    tab_to(page, focused("e.name === 'risk__level'"))
    press_until(page, "ArrowDown", "document.querySelector('input[name=risk__level]:checked')?.value === 'high'")
    tab_to(page, focused("e.name === 'confidential_address_required'"))
    press_until(page, "ArrowDown",
                "document.querySelector('input[name=confidential_address_required]:checked')?.value === 'yes'")
    tab_to(page, focused("e.id === 'accessibility__needs'"))  # the first checkbox
    keyboard.press("Space")
    tab_to(page, focused("e.tagName === 'BUTTON' && e.textContent.trim() === 'Dalej'"), limit=200)
    keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Sprawdź dane przed wysłaniem skierowania")).to_be_visible()
    for code in ("contact", "health"):
        tab_to(page, focused(f"e.id === 'withhold-{code}'"))
        keyboard.press("Space")
    tab_to(page, focused("e.tagName === 'BUTTON' && e.textContent.trim() === 'Wyślij skierowanie'"))
    keyboard.press("Enter")

    expect(page.get_by_text("Skierowanie zostało wysłane do: Schronisko Bezpieczny Dom.")).to_be_visible()
    settle(page)
    referral = Referral.objects.get(subject=subject)
    assert referral.urgency == "urgent" and unsealed(referral.reason) == "Przemoc w domu."
    assert unsealed(referral.payload) == {
        "summary": "Potrzebuje schronienia dziś.", "risk": {"level": "high"}, "confidential_address_required": True,
        "accessibility": {"needs": ["wheelchair_user"]},
    }
    assert referral.withhold_categories == ["contact", "health"]
    assert context.console_errors == []


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_journey_page_passes_axe_with_the_csp_and_no_inline_code(live_world, context, live_server, language, artifacts):
    world = live_world
    subject = person(world)
    browser_login(context, live_server, world.mops_worker)
    page = context.new_page()
    page.goto(f"/app/?lang={language}")
    words = {
        "pl": {"continue": "Dalej", "register": "Zarejestruj osobę i przejdź dalej", "send": "Wyślij skierowanie",
               "cancel": "Anuluj i usuń to skierowanie"},
        "en": {"continue": "Continue", "register": "Register the person and continue", "send": "Send the referral",
               "cancel": "Cancel and delete this referral"},
    }[language]

    with page.expect_navigation() as navigation:
        page.goto(NEW)
    check_page(page, navigation.value, "who")
    check_error_page(page, submit(page, words["continue"]), "who with an error")
    with page.expect_navigation() as navigation:
        page.goto(f"{NEW}?subject={subject.id}")
    check_page(page, navigation.value, "who, the person chosen")

    page.locator("#who-2").check()  # a new person after all
    response = submit(page, words["continue"])
    check_page(page, response, "person")
    if language == "pl":
        shoot(page, artifacts, "send-referral-person")
    page.locator("#external_ref").fill("MOPS/50/2026")
    page.locator("#person__pesel").fill("123")
    response = submit(page, words["register"])
    check_error_page(page, response, "person with errors")
    page.locator("#person__pesel").fill("")
    page.locator("#person__given_name").fill("Maria")
    response = submit(page, words["register"])
    check_page(page, response, "service")

    response = submit(page, words["continue"])
    check_error_page(page, response, "service with errors")
    page.locator("#service").select_option("legal_aid")
    page.locator("#to_agency").select_option(str(world.shelter.id))
    page.locator("#urgency").check()
    response = submit(page, words["continue"])
    check_page(page, response, "details (legal aid: lists of objects, dates)")
    page.locator("#proceedings__0__next_hearing-day").fill("40")
    response = submit(page, words["continue"])
    check_error_page(page, response, "details with errors")
    page.locator("#summary").fill("Sprawa o alimenty.")
    page.locator("#proceedings__0__next_hearing-day").fill("4")
    page.locator("#proceedings__0__next_hearing-month").fill("5")
    page.locator("#proceedings__0__next_hearing-year").fill("2026")
    page.locator("#proceedings__0__type").select_option("family")
    response = submit(page, words["continue"])
    check_page(page, response, "check")
    response = submit(page, words["send"])
    check_error_page(page, response, "check with no basis")

    check_journey = page.url
    submit(page, words["cancel"])
    response = page.goto(check_journey)
    assert response.status == 404
    check_page(page, response, "gone")
    if language == "pl":
        shoot(page, artifacts, "send-referral-gone")
    settle(page)
    assert context.console_errors == []

