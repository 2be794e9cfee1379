"""The employment placement pages in a real browser (Debian's Chromium,
Playwright, axe-core): the employer confirms a placement and records a
check-in end to end in Polish; a check-in with mistakes is explained; the
coordinator records a hire that counts as employment (the ESF rule: 3 months,
half-time); every placement page of both sides passes axe with the CSP and no
inline code, in Polish and English. Screenshots go to test-artifacts/pages/."""

import re

import pytest
from playwright.sync_api import expect

from referrals.placements import services
from referrals.placements.models import PlacementCheckIn

from .helpers import browser_login, inline_code
from .test_browser import check_page, serious_violations, settle, shoot
from .test_placement_pages import build_placements, months_ago, placement


@pytest.fixture
def live_scene(ledger_transactional_db, live_server):
    """The placement scene in a database the live server's thread sees too."""
    return build_placements()


def test_the_employer_confirms_a_placement_and_records_a_check_in_in_polish(live_scene, context, live_server, artifacts):
    scene = live_scene
    proposed = placement(scene, "proposed")
    browser_login(context, live_server, scene.hotel_contact)
    page = context.new_page()

    page.goto("/app/placements/")
    expect(page.get_by_role("heading", name="Praktyki zawodowe")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Zaproponowana")).click()
    expect(page.get_by_text("Zdrowie — brak podstawy do udostępnienia")).to_be_visible()
    expect(page.get_by_text("Czeka na Twoje potwierdzenie")).to_be_visible()
    page.get_by_role("button", name="Potwierdź praktykę").click()
    expect(page.get_by_text("Praktyka ma teraz status: Potwierdzona przez pracodawcę.")).to_be_visible()
    settle(page)

    # The coordinating agency records that the person started work.
    proposed.refresh_from_db()
    services.placement_transition(caller=scene.caller(scene.coordinator), placement_id=proposed.id, to="active",
                                  if_match=proposed.etag)
    page.reload()
    month = f"{months_ago(2):%Y-%m}"
    expect(page.get_by_label("Miesiąc, którego dotyczy podsumowanie")).to_have_value(month)  # the month waiting longest
    page.get_by_label("Dni przepracowane w miesiącu").fill("18")
    page.get_by_label("Dni nieobecności w miesiącu").fill("1")
    page.get_by_label("4 — Dobrze").check()
    page.get_by_role("button", name="Zapisz podsumowanie").click()

    expect(page.get_by_text(f"Twoje podsumowanie za {month} zostało zapisane.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"{month}: Pracodawca")).to_be_visible()
    settle(page)
    shoot(page, artifacts, "placement-employer-check-in")
    check_in = PlacementCheckIn.objects.get(placement=proposed)
    assert (check_in.side, check_in.days_worked, check_in.days_absent, check_in.employer_feedback) == (
        "employer", 18, 1, 4)
    assert context.console_errors == []


def test_a_check_in_with_mistakes_is_explained_in_the_browser_and_keeps_what_was_typed(live_scene, context, live_server):
    scene = live_scene
    active = placement(scene, "active")
    browser_login(context, live_server, scene.hotel_contact)
    page = context.new_page()

    page.goto(f"/app/placements/{active.id}")
    page.get_by_label("Miesiąc, którego dotyczy podsumowanie").fill("marzec")
    page.get_by_label("Dni przepracowane w miesiącu").fill("18")
    page.get_by_role("button", name="Zapisz podsumowanie").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()  # GOV.UK Frontend moves focus to the summary
    expect(summary.get_by_role("link", name=re.compile("RRRR-MM"))).to_be_visible()
    expect(page.get_by_label("Miesiąc, którego dotyczy podsumowanie")).to_have_value("marzec")
    expect(page.get_by_label("Dni przepracowane w miesiącu")).to_have_value("18")
    summary.get_by_role("link", name=re.compile("Wybierz, jak szła praca")).click()
    expect(page.get_by_label("1 — Słabo")).to_be_focused()
    assert page.title().startswith("Błąd:")
    assert serious_violations(page) == [] and inline_code(page.content()) == []
    settle(page)
    assert not PlacementCheckIn.objects.exists()
    assert context.console_errors == []


def test_the_coordinator_records_a_hire_that_counts_as_employment(live_scene, context, live_server):
    scene = live_scene
    completed = placement(scene, "completed")
    browser_login(context, live_server, scene.coordinator)
    page = context.new_page()

    page.goto(f"/app/placements/{completed.id}")
    expect(page.get_by_text("co najmniej 3 miesiące i co najmniej na pół etatu")).to_be_visible()
    page.get_by_label("Zatrudniona lub zatrudniony").check()
    page.get_by_label("Rodzaj umowy").select_option("employment_contract")
    page.get_by_label("Wymiar etatu").fill("0,5")
    page.get_by_label("Okres umowy").fill("3")
    page.get_by_role("button", name="Zapisz wynik").click()

    expect(page.get_by_text("Wynik praktyki został zapisany.")).to_be_visible()
    expect(page.get_by_text("Liczy się jako zatrudnienie (zasada EFS)")).to_be_visible()
    settle(page)
    completed.refresh_from_db()
    assert (completed.outcome, str(completed.fte), str(completed.contract_months)) == ("hired", "0.50", "3.0")
    assert context.console_errors == []


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_placement_page_of_both_sides_passes_axe_with_the_csp(live_scene, context, live_server, language, artifacts):
    scene = live_scene
    proposed, active, completed = placement(scene, "proposed"), placement(scene, "active"), placement(scene, "completed")
    at_bakery = placement(scene, "active", scene.bakery)
    services.placement_check_in_add(caller=scene.caller(scene.hotel_contact), placement_id=active.id,
                                    month=f"{months_ago(2):%Y-%m}", days_worked=18, days_absent=1, employer_feedback=4)
    services.placement_check_in_add(caller=scene.caller(scene.coordinator), placement_id=active.id,
                                    month=f"{months_ago(2):%Y-%m}", coordinator_notes="Dobry start.",
                                    who5=[3, 3, 2, 4, 3], timepoint="start")
    sides = {
        "employer": (scene.hotel_contact, [
            "/app/placements/", f"/app/placements/{proposed.id}", f"/app/placements/{active.id}",
            f"/app/placements/{completed.id}", "/app/placements/?status=active",
            "/app/placements/stats", f"/app/placements/{at_bakery.id}"]),  # a 403 page and a 404 page
        "coordinator": (scene.coordinator, [
            "/app/placements/", f"/app/placements/{proposed.id}", f"/app/placements/{active.id}",
            f"/app/placements/{completed.id}", "/app/placements/stats", "/app/placements/stats?cohort=2026Q9"]),
    }
    for side, (user, paths) in sides.items():
        context.clear_cookies()
        browser_login(context, live_server, user)
        page = context.new_page()
        for path in paths:
            response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={language}")
            check_page(page, response, path)
        if language == "pl":
            page.goto(f"/app/placements/{active.id}?lang=pl")
            shoot(page, artifacts, f"placement-{side}")
            if side == "coordinator":
                page.goto("/app/placements/?lang=pl")
                shoot(page, artifacts, "placements")
                page.goto("/app/placements/stats?lang=pl")
                shoot(page, artifacts, "placement-stats-page")
        settle(page)
        page.close()
    assert context.console_errors == []
