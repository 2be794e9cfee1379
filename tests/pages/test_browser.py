"""The pages in a real browser: Debian's Chromium driven by Playwright, with
axe-core checking accessibility. One browser for the whole session
(conftest.py); a fresh profile per test. Full-page screenshots of the main
pages go to test-artifacts/pages/."""

import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings
from playwright.sync_api import expect

from agencies.callers import Caller
from consent_ledger.sequencer import ledger_sequence_all
from consent_ledger.verify import verify_ledger_and_record
from referrals import services
from tests.staff import totp_device

from .helpers import browser_login, browser_password_only, inline_code, ui_login

AXE = Axe()
SERIOUS = {"serious", "critical"}
CSP_DIRECTIVES = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                  "form-action 'self'", "base-uri 'none'")


def serious_violations(page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"] if v.get("impact") in SERIOUS
    ]


def check_page(page, response, path):
    """0 serious or critical axe violations, the CSP header, no inline code."""
    assert response.status in (200, 403, 404), (path, response.status)
    csp = response.headers["content-security-policy"]
    assert all(d in csp for d in CSP_DIRECTIVES), (path, csp)
    assert response.headers["x-frame-options"] == "DENY"
    assert inline_code(page.content()) == [], path
    assert serious_violations(page) == [], path


def settle(page):
    """Wait until the browser has stopped requesting (a late /favicon.ico, the
    session it renews) before the test thread touches the database: on SQLite
    the live server shares the test's in-memory connection, which two threads
    must not use at once."""
    page.wait_for_load_state("networkidle")


def shoot(page, artifacts, name):
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_page_of_both_sides_passes_axe_with_the_csp_and_no_inline_code(live_world, context, live_server, language, artifacts):
    world = live_world
    referral = world.referral.id
    pages = ["/app/", "/app/referrals/inbox", "/app/referrals/outbox", f"/app/referrals/{referral}", "/app/account",
             "/app/referrals/inbox?status=requested&sort=due", "/app/agency"]
    for user, name in ((world.mops_worker, "sender"), (world.shelter_worker, "recipient")):
        context.clear_cookies()
        browser_login(context, live_server, user)
        page = context.new_page()
        for path in pages:
            response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={language}")
            check_page(page, response, path)
        response = page.goto(f"/app/referrals/{referral}?lang={language}")
        shoot(page, artifacts, f"referral-{name}-{language}")
        settle(page)
        page.close()
    context.clear_cookies()
    ledger_sequence_all()
    verify_ledger_and_record(trigger="command")  # the status page shows a checkpoint and a verification
    browser_login(context, live_server, world.mops_dpo)
    page = context.new_page()
    for path in ["/app/", "/ledger/emergency-reviews", "/ledger/notices", f"/ledger/subjects/{world.subject.id}/disclosures",
                 "/app/dpo/"]:
        check_page(page, page.goto(f"{path}?lang={language}"), path)
        if path == "/app/dpo/":
            shoot(page, artifacts, f"dpo-{language}")
        elif path.endswith("/disclosures"):
            shoot(page, artifacts, f"accounting-{language}")
    settle(page)
    context.clear_cookies()
    browser_login(context, live_server, world.shelter_coordinator)  # no referral pages: the 403 page
    for path in ["/app/", "/app/referrals/inbox", f"/app/referrals/{referral}-0"]:
        check_page(page, page.goto(f"{path}?lang={language}"), path)
    settle(page)
    context.clear_cookies()
    browser_password_only(context, live_server, world.outsider_worker)  # no authenticator yet
    check_page(page, page.goto(f"/accounts/otp/enrol/?lang={language}"), "/accounts/otp/enrol/")
    settle(page)
    totp_device(world.outsider_worker)
    check_page(page, page.goto(f"/accounts/otp/?lang={language}"), "/accounts/otp/")
    context.clear_cookies()
    for path in ["/", "/accounts/login/"]:
        check_page(page, page.goto(f"{path}?lang={language}"), path)
    assert context.console_errors == []


def test_login_with_enrolment_and_totp_in_the_browser(live_world, context, artifacts):
    import base64

    from django_otp.oath import totp

    user = live_world.shelter_worker
    page = context.new_page()
    page.goto("/app/referrals/inbox")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    check_page(page, page.goto(page.url), "/accounts/login/")
    shoot(page, artifacts, "login")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", "correct horse battery 9")
    page.get_by_role("button", name="Dalej").click()

    expect(page.get_by_role("heading", name="Skonfiguruj aplikację uwierzytelniającą")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Kod QR"))).to_be_visible()
    assert serious_violations(page) == []
    shoot(page, artifacts, "otp-enrol")
    secret = page.locator("#otp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_code", f"{totp(key):06d}")
    page.get_by_role("button", name="Potwierdź").click()

    expect(page.get_by_role("heading", name="Twoje kody zapasowe")).to_be_visible()
    assert page.locator("#backup-codes li").count() == 10
    assert serious_violations(page) == []
    shoot(page, artifacts, "backup-codes")
    page.get_by_role("link", name="Dalej").click()
    expect(page.get_by_role("heading", name="Odebrane skierowania")).to_be_visible()

    # Next time: password, then the app's code.
    page.get_by_role("button", name="Wyloguj się").first.click()
    ui_login(page, user)
    expect(page.get_by_role("heading", name="Schronisko Bezpieczny Dom")).to_be_visible()
    assert context.console_errors == []


def test_inbox_to_referral_to_accept_end_to_end(live_world, context, live_server, artifacts):
    world = live_world
    browser_login(context, live_server, world.shelter_worker)
    page = context.new_page()

    page.goto("/app/")
    shoot(page, artifacts, "home-recipient")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Odebrane skierowania").click()
    shoot(page, artifacts, "inbox")
    page.get_by_role("link", name=re.compile("^Schronienie")).click()
    expect(page.get_by_text("Zdrowie — brak podstawy do udostępnienia")).to_be_visible()
    page.get_by_role("button", name="Potwierdź odebranie").click()
    expect(page.get_by_text("Skierowanie ma teraz status: Odebrane.")).to_be_visible()
    page.get_by_role("button", name="Przyjmij skierowanie").click()

    expect(page.get_by_text("Skierowanie ma teraz status: Przyjęte.")).to_be_visible()
    settle(page)
    world.referral.refresh_from_db()
    assert world.referral.status == "accepted"
    shoot(page, artifacts, "referral-accepted")
    assert context.console_errors == []


def test_a_stale_if_match_is_explained_and_the_typed_reason_kept(live_world, context, live_server, artifacts):
    world = live_world
    browser_login(context, live_server, world.shelter_worker)
    page = context.new_page()
    page.goto(f"/app/referrals/{world.referral.id}")
    settle(page)
    # Meanwhile a colleague confirms it from another computer.
    services.referral_transition(caller=Caller(agency=world.shelter, user=world.shelter_worker),
                                 referral_id=world.referral.id, to="received")

    page.get_by_text("Odrzuć skierowanie").first.click()
    page.fill("#reason-rejected", "Brak wolnych miejsc do końca miesiąca.")
    page.get_by_role("button", name="Odrzuć skierowanie").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Ktoś zmienił to skierowanie")
    expect(summary).to_be_focused()  # GOV.UK Frontend moves focus to the summary
    expect(page.locator("#reason-rejected")).to_have_value("Brak wolnych miejsc do końca miesiąca.")
    assert serious_violations(page) == []
    shoot(page, artifacts, "referral-stale-etag")
    settle(page)
    world.referral.refresh_from_db()
    assert world.referral.status == "received"


def tab_to(page, predicate_js: str, limit: int = 80):
    """Press Tab until the focused element satisfies `predicate_js` (a JS
    function of the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"never reached by keyboard: {predicate_js}")


def test_keyboard_only_to_a_referral_and_accepting_it(live_world, context, live_server):
    world = live_world
    browser_login(context, live_server, world.shelter_worker)
    page = context.new_page()
    page.goto("/app/referrals/inbox")

    tab_to(page, "e => e.tagName === 'A' && e.getAttribute('href').startsWith('/app/referrals/') && e.textContent.includes('Schronienie')")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Schronienie")).to_be_visible()
    tab_to(page, "e => e.tagName === 'BUTTON' && e.textContent.includes('Potwierdź odebranie')")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Skierowanie ma teraz status: Odebrane.")).to_be_visible()
    tab_to(page, "e => e.tagName === 'BUTTON' && e.textContent.includes('Przyjmij skierowanie')")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Skierowanie ma teraz status: Przyjęte.")).to_be_visible()
    settle(page)
    world.referral.refresh_from_db()
    assert world.referral.status == "accepted"


def test_skip_link_is_the_first_stop(live_world, context, live_server):
    browser_login(context, live_server, live_world.shelter_worker)
    page = context.new_page()
    page.goto("/app/")

    page.keyboard.press("Tab")

    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main-content"


def test_another_agencys_referral_is_a_404_page(live_world, context, live_server, artifacts):
    browser_login(context, live_server, live_world.outsider_worker)
    page = context.new_page()

    response = page.goto(f"/app/referrals/{live_world.referral.id}")

    assert response.status == 404
    expect(page.get_by_role("heading", name="Nie znaleziono strony")).to_be_visible()
    assert "Anna" not in page.content()
    check_page(page, response, "404")
    shoot(page, artifacts, "not-found")


def test_the_session_warning_appears_and_extends_without_losing_text(live_world, context, live_server):
    with override_settings(SESSION_COOKIE_AGE=124, STAFF_SESSION_WARNING_SECONDS=120):
        browser_login(context, live_server, live_world.shelter_worker)
        page = context.new_page()
        page.goto(f"/app/referrals/{live_world.referral.id}")
        page.fill("#id_text", "Notatka w trakcie pisania")
        banner = page.locator("#hub-session-warning")

        expect(banner).to_be_visible(timeout=10_000)
        assert serious_violations(page) == []
        banner.get_by_role("button", name="Nie wylogowuj").click()

        expect(banner).to_be_hidden()
        expect(page.locator("#id_text")).to_have_value("Notatka w trakcie pisania")
        time.sleep(0.1)
        assert context.console_errors == []


def test_filters_swap_the_results_with_htmx_and_keep_the_url(live_world, context, live_server, artifacts):
    from .world import send_more

    send_more(live_world, 2)
    browser_login(context, live_server, live_world.shelter_worker)
    page = context.new_page()
    page.goto("/app/referrals/inbox")
    page.evaluate("window.notReloaded = true")

    page.select_option("#id_urgency", "urgent")
    page.get_by_role("button", name="Zastosuj").click()

    expect(page).to_have_url(re.compile(r"urgency=urgent"))
    expect(page.locator("#worklist-results tbody tr")).to_have_count(1)
    expect(page.locator("#worklist-status")).to_have_text("Znaleziono 1 skierowanie")
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not a new page
    assert serious_violations(page) == []
    assert context.console_errors == []
