"""Failed logins are limited per username and per address (issue 12, item 7):
past either limit the login page answers 429 with a page saying when to try
again, in Polish or English, and does not check the password. Time is the
throttle's, moved by the test."""

import pytest
from django.test import Client

from .helpers import inline_code
from .world import PASSWORD

OFFICE, ELSEWHERE = "192.0.2.10", "198.51.100.7"


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    return set_rates


def log_in(username, password="wrong password", address=OFFICE, language="pl"):
    return Client().post("/accounts/login/", {"username": username, "password": password},
                         REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)


def test_after_so_many_failures_a_username_is_paused_even_with_the_right_password(world, rates, throttle_clock):
    rates(login_user="2/hour", login_address="100/hour")

    failures = [log_in("dom.ewa").status_code for _ in range(2)]
    throttle_clock.advance(600)
    paused = log_in("dom.ewa", PASSWORD, address=ELSEWHERE)
    colleague = log_in("mops.kasia", PASSWORD)
    throttle_clock.advance(3000)
    later = log_in("dom.ewa", PASSWORD)

    assert failures == [200, 200]
    assert paused.status_code == 429
    assert paused["Retry-After"] == "3000"
    assert "Spróbuj ponownie za 50 minut." in paused.content.decode()
    assert colleague.status_code == 302
    assert later.status_code == 302


def test_the_username_is_matched_whatever_its_case(world, rates, throttle_clock):
    rates(login_user="2/hour")

    log_in("dom.ewa")
    log_in("DOM.EWA")

    assert log_in("Dom.Ewa", PASSWORD).status_code == 429


def test_after_so_many_failures_from_one_address_it_is_paused_for_every_username(world, rates, throttle_clock):
    rates(login_user="100/hour", login_address="3/hour")

    failures = [log_in(name).status_code for name in ("dom.ewa", "mops.kasia", "nobody")]
    paused = log_in("mops.iod", PASSWORD)
    elsewhere = log_in("mops.iod", PASSWORD, address=ELSEWHERE)

    assert failures == [200, 200, 200]
    assert paused.status_code == 429 and paused["Retry-After"] == "3600"
    assert elsewhere.status_code == 302


def test_successful_logins_from_a_shared_office_address_do_not_count(world, rates, throttle_clock):
    rates(login_user="100/hour", login_address="1/hour")

    statuses = [log_in(name, PASSWORD).status_code for name in ("dom.ewa", "mops.kasia", "mops.iod")]

    assert statuses == [302, 302, 302]


def test_a_successful_login_forgives_the_users_own_earlier_failures(world, rates, throttle_clock):
    rates(login_user="2/hour", login_address="100/hour")

    statuses = [
        log_in("dom.ewa").status_code,
        log_in("dom.ewa", PASSWORD).status_code,
        log_in("dom.ewa").status_code,
        log_in("dom.ewa").status_code,
        log_in("dom.ewa").status_code,
    ]

    assert statuses == [200, 302, 200, 200, 429]


@pytest.mark.parametrize(
    ("language", "heading", "when"),
    [
        ("pl", "Logowanie wstrzymane", "Spróbuj ponownie za 1 minutę."),
        ("en", "Logging in is paused", "Try again in 1 minute."),
    ],
)
def test_the_paused_page_is_readable_in_both_languages(world, rates, throttle_clock, language, heading, when):
    rates(login_user="1/minute")
    log_in("dom.ewa")

    response = log_in("dom.ewa", language=language)

    page = response.content.decode()
    assert response.status_code == 429
    assert f"<h1 class=\"govuk-heading-l\">{heading}</h1>" in page and when in page
    assert 'href="/accounts/login/"' in page
    assert inline_code(page) == []
    assert response["Content-Security-Policy"] and response["Cache-Control"] == "no-store"
