"""The README's first steps, in the browser, on the demo's own data (issue 10,
acceptance: a newcomer sends a referral from the MOPS to the shelter and sees
the shelter accept it): log in with the demo password and a code of the
demo's authenticator, send through the journey, log out; the shelter's
caseworker finds it in her inbox, confirms she received it and accepts it."""

import re
from io import StringIO

from django.core.management import call_command
from playwright.sync_api import expect

from agencies.models import Agency
from consent_ledger.models import SubjectReference
from hub.management.commands.demo_seed import DEMO_PASSWORD
from referrals.models import Referral
from tests.staff import totp_code, totp_device

from .test_browser import settle


def log_in(page, username: str) -> None:
    from django.contrib.auth.models import User

    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Dalej").click()
    page.fill("#id_code", totp_code(totp_device(User.objects.get(username=username))))
    page.get_by_role("button", name="Dalej").click()


def test_the_readme_first_steps_on_the_demo(ledger_transactional_db, live_server, context, settings, artifacts):
    settings.DEBUG = True
    call_command("demo_seed", stdout=StringIO())
    settings.DEBUG = False
    subject = SubjectReference.objects.get(external_ref="MOPS/DEMO/1").subject
    shelter = Agency.objects.get(kind="shelter")
    page = context.new_page()

    log_in(page, "mops.kasia")
    page.get_by_role("button", name="Wyślij skierowanie").click()
    page.get_by_label("Osoba zarejestrowana przez Twoją instytucję").check()
    page.get_by_label("Numer sprawy").select_option(str(subject.id))  # listed as "MOPS/DEMO/1, registered ..."
    page.get_by_role("button", name="Dalej", exact=True).click()
    page.get_by_label("Jakiej usługi potrzebuje osoba?").select_option(label="Schronienie")
    page.get_by_label("Do której instytucji wysłać skierowanie?").select_option(str(shelter.id))
    page.get_by_label("Pilne", exact=True).check()
    page.get_by_role("button", name="Dalej", exact=True).click()
    page.get_by_label("Opis sytuacji i cel skierowania").fill("Potrzebuje bezpiecznego miejsca od dziś.")
    page.get_by_role("button", name="Dalej", exact=True).click()
    expect(page.locator("#category-contact")).to_contain_text("Brak podstawy")
    expect(page.locator("#category-identity")).to_contain_text("Może otrzymać")
    page.get_by_label("Dane kontaktowe").check()
    page.get_by_label("Dane demograficzne").check()
    page.get_by_role("button", name="Wyślij skierowanie").click()
    expect(page.get_by_text(re.compile("Skierowanie zostało wysłane do: Stowarzyszenie Bezpieczny Dom"))).to_be_visible()
    page.get_by_role("button", name="Wyloguj się").click()

    log_in(page, "shelter.ewa")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Odebrane skierowania").click()
    page.get_by_role("link", name=re.compile("^Schronienie")).click()
    expect(page.get_by_text("Dane kontaktowe — brak podstawy do udostępnienia")).to_be_visible()
    page.get_by_role("button", name="Potwierdź odebranie").click()
    page.get_by_role("button", name="Przyjmij skierowanie").click()
    expect(page.get_by_text("Skierowanie ma teraz status: Przyjęte.")).to_be_visible()
    page.screenshot(path=str(artifacts / "demo-first-steps-accepted.png"), full_page=True)
    settle(page)

    referral = Referral.objects.get(subject=subject)
    assert referral.status == "accepted" and set(referral.withhold_categories) == {"contact", "demographics"}
    assert context.console_errors == []
