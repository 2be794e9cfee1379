"""The team pages in a real browser (Debian's Chromium, Playwright, axe-core):
a GDP member moves her agency's action on from the team list, every team
page passes axe in Polish and English with the CSP and no inline code, and
full-page screenshots go to test-artifacts/pages/."""

import re

import pytest
from playwright.sync_api import expect

from .helpers import browser_login
from .test_browser import check_page, serious_violations, settle, shoot
from .test_team_pages import SCHOOL_ACTION, build_scene

OPEN_DETAILS = "document.querySelectorAll('details').forEach(d => d.open = true)"


def test_a_gdp_member_updates_an_action_end_to_end(live_world, context, live_server, artifacts):
    scene = build_scene(live_world)
    action = scene.actions["school"]
    browser_login(context, live_server, scene.school_worker)
    page = context.new_page()

    page.goto("/app/teams/")
    expect(page.get_by_role("heading", name="Zespoły i procedury „Niebieskie Karty”")).to_be_visible()
    page.get_by_role("link", name=f"Plan nr {str(scene.plan.id)[:8]}").click()
    expect(page.get_by_role("heading", name=re.compile("^Plan pomocy nr"))).to_be_visible()
    expect(page.get_by_text("Zatrudnienie — brak podstawy do udostępnienia")).to_be_visible()
    card = page.locator(f"#action-{action.id}")
    expect(card).to_contain_text(SCHOOL_ACTION)
    expect(card).to_contain_text("Zaplanowane")

    card.get_by_role("button", name="Oznacz jako w trakcie").click()
    expect(page.get_by_text("Działanie ma teraz status: W trakcie.")).to_be_visible()
    card = page.locator(f"#action-{action.id}")
    expect(card).to_contain_text("W trakcie")
    card.get_by_role("button", name="Oznacz jako wykonane").click()

    expect(page.get_by_text("Działanie ma teraz status: Wykonane.")).to_be_visible()
    card = page.locator(f"#action-{action.id}")
    expect(card.get_by_role("button")).to_have_count(0)  # done is final
    assert serious_violations(page) == []
    settle(page)
    action.refresh_from_db()
    assert action.status == "done"
    assert context.console_errors == []


def test_a_stale_action_is_explained_in_the_browser(live_world, context, live_server):
    from agencies.callers import Caller
    from referrals.plans.services import plan_action_transition

    scene = build_scene(live_world)
    action = scene.actions["school"]
    browser_login(context, live_server, scene.school_worker)
    page = context.new_page()
    page.goto(f"/app/plans/{scene.plan.id}")
    settle(page)
    # Meanwhile the lead marks it in progress from its own system.
    plan_action_transition(caller=Caller(agency=live_world.mops, user=live_world.mops_worker), action_id=action.id,
                           to="in_progress")

    page.locator(f"#action-{action.id}").get_by_role("button", name="Oznacz jako wykonane").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Ktoś zmienił to działanie")
    expect(summary).to_be_focused()
    expect(page.locator(f"#action-{action.id}")).to_contain_text("W trakcie")
    assert serious_violations(page) == []
    settle(page)
    action.refresh_from_db()
    assert action.status == "in_progress"


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_team_page_passes_axe_with_the_csp_and_no_inline_code(live_world, context, live_server, language,
                                                                     artifacts):
    scene = build_scene(live_world)
    member_pages = ["/app/teams/", "/app/teams/?status=closed", f"/app/teams/{scene.gdp.id}",
                    f"/app/teams/{scene.zi.id}", f"/app/blue-cards/{scene.running.id}",
                    f"/app/blue-cards/{scene.overdue.id}", f"/app/plans/{scene.plan.id}"]
    chair_pages = [f"/app/teams/{scene.zi.id}", f"/app/blue-cards/{scene.overdue.id}",
                   f"/app/blue-cards/{scene.running.id}", f"/app/plans/{scene.plan.id}"]
    shots = {"/app/teams/": "teams", f"/app/blue-cards/{scene.running.id}": "blue-card",
             f"/app/plans/{scene.plan.id}": "plan"}
    suffix = "" if language == "pl" else "-en"

    for user, paths in ((scene.school_worker, member_pages), (live_world.mops_worker, chair_pages)):
        context.clear_cookies()
        browser_login(context, live_server, user)
        page = context.new_page()
        for path in paths:
            response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={language}")
            assert response.status == 200, path
            check_page(page, response, path)
            if user == scene.school_worker and path in shots:
                shoot(page, artifacts, f"{shots[path]}{suffix}")
            if user == live_world.mops_worker and path == f"/app/teams/{scene.zi.id}":
                shoot(page, artifacts, f"team{suffix}")
            if user == live_world.mops_worker and path == f"/app/plans/{scene.plan.id}":
                shoot(page, artifacts, f"plan-lead{suffix}")
            page.evaluate(OPEN_DETAILS)  # the forms folded away are checked too
            assert serious_violations(page) == [], path
        settle(page)
        page.close()

    # A refused form: the error summary and the field's message.
    page = context.new_page()
    page.goto(f"/app/plans/{scene.plan.id}?lang={language}")
    page.evaluate(OPEN_DETAILS)
    page.locator("#goal-indicator").fill("Liczba dni w szkole")
    page.locator("form[action$='/goals'] button").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("#goal-indicator")).to_have_value("Liczba dni w szkole")
    assert serious_violations(page) == []
    settle(page)

    # The 403 page for a role without team pages, the 404 page for another agency.
    for user, status in ((live_world.mops_dpo, 403), (live_world.outsider_worker, 404)):
        context.clear_cookies()
        browser_login(context, live_server, user)
        for path in (f"/app/plans/{scene.plan.id}", f"/app/blue-cards/{scene.running.id}"):
            response = page.goto(f"{path}?lang={language}")
            assert response.status == status, (user, path)
            check_page(page, response, path)
        settle(page)
    assert context.console_errors == []
