"""The person and consent pages in a real browser (Debian's Chromium through
Playwright, axe-core for accessibility): recording a consent from the terms
through the printed form and the uploaded scan to the receipt, revoking it,
and every page of the set in Polish and English."""

import hashlib
import re

import pytest
from playwright.sync_api import expect

from consent_ledger.models import Provision

from .helpers import browser_login
from .test_browser import check_page, serious_violations, settle, shoot

SCAN = b"%PDF-1.4 the signed consent form, scanned at the office"


def test_record_consent_end_to_end_then_revoke_it(live_world, context, live_server, artifacts):
    world = live_world
    browser_login(context, live_server, world.mops_worker)
    page = context.new_page()

    # The register, then the person page.
    check_page(page, page.goto("/app/subjects/"), "subject-list")
    shoot(page, artifacts, "subject-list")
    page.get_by_role("link", name="MOPS/7/2026").click()
    response = page.reload()
    check_page(page, response, "subject-page")
    expect(page.get_by_role("heading", name="Sprawa MOPS/7/2026")).to_be_visible()
    shoot(page, artifacts, "subject-page")

    # Step 1: the terms.
    page.get_by_role("button", name="Zapisz zgodę").click()
    expect(page.get_by_role("heading", name="Na co osoba wyraża zgodę?")).to_be_visible()
    page.get_by_label("OPS Oława").check()
    page.get_by_label("Dane kontaktowe").check()
    page.get_by_label("Koordynacja pracy z osobą").check()
    shoot(page, artifacts, "consent-new")
    page.get_by_role("button", name="Dalej: formularz zgody").click()

    # Step 2: the printable form, as the printer gets it.
    expect(page.get_by_role("heading", name="Zgoda na udostępnienie moich danych osobowych")).to_be_visible()
    check_page(page, page.reload(), "consent-form")
    expect(page.get_by_role("button", name="Drukuj formularz")).to_be_visible()  # shown by hub.mjs
    page.emulate_media(media="print")
    expect(page.locator(".govuk-template__header")).to_be_hidden()
    expect(page.get_by_role("button", name="Drukuj formularz")).to_be_hidden()
    expect(page.locator(".hub-consent-form")).to_contain_text("OPS Oława")
    expect(page.locator(".hub-consent-form")).to_contain_text("Mogę wycofać zgodę w każdej chwili")
    shoot(page, artifacts, "consent-form-print")
    pdf = page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one A4 sheet
    page.emulate_media(media="screen")

    # Step 3: the scan of the signed form, then the receipt.
    page.get_by_role("button", name="Formularz jest podpisany – dalej").click()
    expect(page.get_by_role("heading", name="Sprawdź zgodę i dodaj podpisany formularz")).to_be_visible()
    assert serious_violations(page) == []
    shoot(page, artifacts, "consent-evidence")
    page.set_input_files("#scan", files=[{"name": "zgoda.pdf", "mimeType": "application/pdf", "buffer": SCAN}])
    page.get_by_label(re.compile("Osoba wyraziła zgodę dobrowolnie")).check()
    page.get_by_role("button", name="Zapisz zgodę").click()

    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text("Zgoda została zapisana")
    settle(page)
    provision = Provision.objects.get(subject=world.subject, recipient_agencies=[str(world.outsider.id)])
    assert provision.evidence_sha256 == hashlib.sha256(SCAN).hexdigest()
    expect(banner).to_contain_text(str(provision.granted_entry_id))
    expect(banner).to_contain_text(provision.granted_entry.leaf_hash)
    assert serious_violations(page) == []

    # Revoke it: a reason is required.
    page.get_by_role("link", name="Wycofaj zgodę dla: OPS Oława").click()
    expect(page.get_by_role("heading", name="Wycofaj zgodę")).to_be_visible()
    shoot(page, artifacts, "consent-revoke")
    page.get_by_role("button", name="Wycofaj zgodę").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Podaj, dlaczego zgoda jest wycofywana")
    expect(summary).to_be_focused()
    assert serious_violations(page) == []
    page.get_by_label("Dlaczego zgoda jest wycofywana?").fill("Osoba wycofała zgodę osobiście.")
    page.get_by_role("button", name="Wycofaj zgodę").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Zgoda została wycofana")
    expect(page.get_by_role("link", name="Wycofaj zgodę dla: OPS Oława")).to_have_count(0)
    settle(page)
    provision.refresh_from_db()
    assert provision.ended_at is not None
    assert context.console_errors == []


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_person_page_passes_axe_with_the_csp_in_both_languages(live_world, context, live_server, language):
    world = live_world
    subject = f"/app/subjects/{world.subject.id}"
    consent = Provision.objects.get(subject=world.subject, ended_at__isnull=True).id
    terms = (f"agency={world.shelter.id}&category=identity&category=health&purpose=referral&form=verbal_witnessed"
             "&grantor=legal_guardian&valid_from-day=1&valid_from-month=1&valid_from-year=2099"
             "&valid_until-day=1&valid_until-month=6&valid_until-year=2099")
    visits = {
        world.mops_worker: ["/app/subjects/", subject, f"{subject}/consents/new", f"{subject}/consents/new/form?{terms}",
                            f"{subject}/consents/new/confirm?{terms}", f"{subject}/consents/{consent}/revoke"],
        world.shelter_worker: [subject],
        world.mops_dpo: ["/app/subjects/", subject, f"{subject}/erasure"],
        world.outsider_worker: [subject],  # the 404 page
    }
    page = context.new_page()
    for user, paths in visits.items():
        context.clear_cookies()
        browser_login(context, live_server, user)
        for path in paths:
            response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={language}")
            check_page(page, response, path)
        settle(page)
    # The forms with their errors shown.
    context.clear_cookies()
    browser_login(context, live_server, world.mops_worker)
    page.goto(f"{subject}/consents/new?lang={language}")
    page.locator("#valid_from-day").fill("31")
    page.locator("#valid_from-month").fill("2")
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert serious_violations(page) == []
    page.goto(f"{subject}/consents/new/confirm?{terms}&lang={language}")
    page.locator("main details summary").click()
    page.locator("#evidence-sha256").fill("nie-hash")
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert serious_violations(page) == []
    settle(page)
    assert context.console_errors == []
