"""Staff login with a second factor, enrolment, backup codes, session expiry
and logging out everywhere, through Django's test client."""

import re
import time

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.otp import backup_codes_left, demo_totp_enrol
from hub.web.sessions import sessions_end_all
from tests.staff import totp_code, totp_device

from .helpers import staff_client
from .world import PASSWORD


def password_step(client, user, next_url="/app/referrals/inbox"):
    return client.post("/accounts/login/", {"username": user.get_username(), "password": PASSWORD, "next": next_url})


def test_login_with_password_then_totp_reaches_the_page_asked_for(world):
    device = totp_device(world.shelter_worker)
    client = Client()

    first = password_step(client, world.shelter_worker)
    wrong = client.post("/accounts/otp/", {"code": "000000", "next": "/app/referrals/inbox"})
    throttled = client.post("/accounts/otp/", {"code": totp_code(device), "next": "/app/referrals/inbox"})
    time.sleep(1.1)  # django-otp's delay after one failure
    right = client.post("/accounts/otp/", {"code": totp_code(device), "next": "/app/referrals/inbox"})

    assert first["Location"] == "/accounts/otp/?next=%2Fapp%2Freferrals%2Finbox"
    assert wrong.status_code == 422 and "govuk-error-summary" in wrong.content.decode()
    assert throttled.status_code == 422 and "Too many wrong codes" in throttled.content.decode()
    assert right["Location"] == "/app/referrals/inbox"
    assert client.get("/app/referrals/inbox").status_code == 200


def test_a_wrong_password_is_an_error_summary(world):
    response = Client().post("/accounts/login/", {"username": "dom.ewa", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="pl")

    assert response.status_code == 200
    assert "Wpisz poprawną nazwę użytkownika i hasło" in response.content.decode()


def test_a_code_is_accepted_once(world):
    device = totp_device(world.shelter_worker)
    code = totp_code(device)
    first, second = Client(), Client()
    password_step(first, world.shelter_worker)
    password_step(second, world.shelter_worker)

    assert first.post("/accounts/otp/", {"code": code})["Location"] == "/app/"
    assert second.post("/accounts/otp/", {"code": code}).status_code == 422


def test_first_login_enrols_an_authenticator_with_a_server_drawn_qr_code_and_backup_codes(world):
    client = Client()
    user = world.shelter_worker

    first = password_step(client, user)
    page = client.get(first["Location"]).content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = f"{totp(device.bin_key):06d}"
    confirmed = client.post("/accounts/otp/enrol/", {"code": code, "next": "/app/referrals/inbox"})
    codes_page = client.get(confirmed["Location"]).content.decode()

    assert first["Location"] == "/accounts/otp/enrol/?next=%2Fapp%2Freferrals%2Finbox"
    assert '<svg role="img"' in page and "<title>" in page.split("<svg", 1)[1]
    assert re.search(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", page)  # the base32 key for typing in
    assert "data:" not in page
    assert TOTPDevice.objects.get(user=user).confirmed
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", codes_page)
    assert len(codes) == settings.OTP_BACKUP_CODES
    assert 'href="/app/referrals/inbox"' in codes_page
    assert client.get("/app/referrals/inbox").status_code == 200
    # The codes are shown once.
    assert client.get("/app/account/backup-codes")["Location"] == "/app/account"

    # A backup code logs in once, in place of the app's code.
    other = Client()
    password_step(other, user)
    assert other.post("/accounts/otp/", {"code": codes[0]})["Location"] == "/app/"
    assert backup_codes_left(user) == settings.OTP_BACKUP_CODES - 1
    again = Client()
    password_step(again, user)
    assert again.post("/accounts/otp/", {"code": codes[0]}).status_code == 422


def test_enrolment_is_refused_once_an_authenticator_is_confirmed(world):
    totp_device(world.shelter_worker)
    client = Client()
    password_step(client, world.shelter_worker)

    response = client.get("/accounts/otp/enrol/")

    assert response["Location"].startswith("/accounts/otp/?next=")
    assert not TOTPDevice.objects.filter(user=world.shelter_worker, confirmed=False).exists()


def test_the_enrolment_key_stays_the_same_on_reload(world):
    client = Client()
    password_step(client, world.shelter_worker)

    keys = [re.search(r'id="otp-secret">([^<]+)<', client.get("/accounts/otp/enrol/").content.decode()).group(1) for _ in range(2)]

    assert keys[0] == keys[1]


def test_new_backup_codes_replace_the_old_ones(world):
    client = staff_client(world.shelter_worker)

    response = client.post("/app/account/backup-codes")
    page = client.get(response["Location"]).content.decode()

    assert len(re.findall(r"<li>([a-z2-7]{8})</li>", page)) == settings.OTP_BACKUP_CODES
    assert backup_codes_left(world.shelter_worker) == settings.OTP_BACKUP_CODES


def test_the_session_ends_after_the_idle_time_and_the_page_says_when(world):
    client = staff_client(world.shelter_worker)

    page = client.get("/app/").content.decode()

    assert settings.SESSION_COOKIE_AGE == settings.STAFF_SESSION_IDLE_MINUTES * 60 == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert "sesja wygasa po 30 minutach bez aktywności" in page
    assert re.search(r"data-hub-session-expires-at=\"\d{4}-\d\d-\d\dT", page)
    assert 'id="hub-session-warning"' in page and "Nie wylogowuj" in page


def test_extending_the_session_answers_with_the_new_end(world):
    client = staff_client(world.shelter_worker)

    answer = client.post("/app/session/extend", HTTP_ACCEPT="application/json").json()
    without_js = client.post("/app/session/extend", {"next": "/app/referrals/inbox"})

    assert re.match(r"\d{4}-\d\d-\d\dT", answer["expires_at"]) and re.match(r"\d\d:\d\d", answer["expires_at_display"])
    assert without_js["Location"] == "/app/referrals/inbox"


def test_log_out_everywhere_ends_every_session_of_the_user(world):
    here, elsewhere = staff_client(world.shelter_worker), staff_client(world.shelter_worker)
    colleague = staff_client(world.mops_worker)

    response = here.post("/app/account/logout-everywhere")

    assert response["Location"] == "/accounts/login/"
    assert elsewhere.get("/app/")["Location"].startswith("/accounts/login/")
    assert here.get("/app/")["Location"].startswith("/accounts/login/")
    assert colleague.get("/app/").status_code == 200


def test_logout_ends_this_session(world):
    client = staff_client(world.shelter_worker)

    client.post("/accounts/logout/")

    assert client.get("/app/")["Location"].startswith("/accounts/login/")
    assert sessions_end_all(world.shelter_worker) == 0


def test_demo_enrolment_is_refused_outside_debug(world):
    with pytest.raises(ImproperlyConfigured):
        demo_totp_enrol(world.mops_worker)


@override_settings(DEBUG=True)
def test_demo_enrolment_is_deterministic_per_username_and_its_codes_work(world):
    import base64

    secret = demo_totp_enrol(world.mops_worker)
    again = demo_totp_enrol(world.mops_worker)
    other = demo_totp_enrol(world.shelter_worker)
    client = Client()
    password_step(client, world.mops_worker)

    assert secret == again != other
    key = base64.b32decode(secret)
    assert client.post("/accounts/otp/", {"code": f"{totp(key):06d}"})["Location"] == "/app/"
