"""Security of every staff page, through Django's test client: the second
factor, CSRF on every form, X-Frame-Options, the CSP header and no inline
script or style."""

import pytest
from django.test import Client

from tests.staff import totp_device

from .helpers import inline_code, post_forms, staff_client


def staff_pages(world) -> list[str]:
    referral = world.referral.id
    return [
        "/app/", "/app/account", "/app/agency", "/app/referrals/inbox", "/app/referrals/outbox",
        f"/app/referrals/{referral}", "/ledger/emergency-reviews", "/ledger/notices",
        f"/ledger/subjects/{world.subject.id}/disclosures", "/app/dpo/",
    ]


def test_every_staff_page_needs_a_login(world):
    for path in staff_pages(world):
        response = Client().get(path)

        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_a_password_alone_leads_to_the_code_page(world):
    totp_device(world.mops_worker)
    client = Client()
    client.force_login(world.mops_worker)

    for path in staff_pages(world):
        response = client.get(path)

        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/otp/?next="), path


def test_a_password_alone_without_an_authenticator_leads_to_enrolment(world):
    client = Client()
    client.force_login(world.shelter_worker)

    response = client.get("/app/referrals/inbox")

    assert response["Location"] == "/accounts/otp/enrol/?next=%2Fapp%2Freferrals%2Finbox"


def test_admin_needs_the_second_factor_too(world):
    client = Client()
    client.force_login(world.mops_worker)

    assert client.get("/admin/")["Location"].startswith("/accounts/otp/enrol/")


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_page_has_the_security_headers_and_no_inline_code(world, language):
    client = staff_client(world.mops_dpo)
    worker = staff_client(world.mops_worker)
    public = ["/", "/accounts/login/"]
    for path in [*public, *staff_pages(world)]:
        who = client if path.startswith(("/ledger/", "/app/dpo/")) else worker
        response = who.get(path, {"lang": language}, follow=False)

        assert response.status_code == 200, (path, response.status_code)
        csp = response["Content-Security-Policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                          "form-action 'self'", "base-uri 'none'", "object-src 'none'"):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response["X-Frame-Options"] == "DENY"
        assert inline_code(response.content.decode()) == [], path


def test_every_post_form_carries_a_csrf_token(world):
    worker = staff_client(world.shelter_worker)
    dpo = staff_client(world.mops_dpo)
    pages = {
        worker: ["/app/", "/app/account", f"/app/referrals/{world.referral.id}", "/app/referrals/inbox"],
        dpo: ["/ledger/emergency-reviews", "/app/account"],
        Client(): ["/accounts/login/"],
    }
    seen = 0
    for client, paths in pages.items():
        for path in paths:
            for form in post_forms(client.get(path).content.decode()):
                assert "csrfmiddlewaretoken" in form["fields"], (path, form["action"])
                seen += 1
    assert seen >= 6  # logout, transitions, note, backup codes, log out everywhere, login


def test_a_post_without_the_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.shelter_worker)
    session = client.session
    from django_otp import DEVICE_ID_SESSION_KEY

    session[DEVICE_ID_SESSION_KEY] = totp_device(world.shelter_worker).persistent_id
    session.save()
    referral = world.referral

    for path, data in [
        (f"/app/referrals/{referral.id}/transition", {"to": "received", "if_match": referral.etag}),
        (f"/app/referrals/{referral.id}/notes", {"text": "x"}),
        ("/app/account/logout-everywhere", {}),
        ("/accounts/logout/", {}),
    ]:
        response = client.post(path, data)

        assert response.status_code == 403, path
    referral.refresh_from_db()
    assert referral.status == "requested"


def test_the_api_keeps_its_own_answers(world):
    response = Client().get("/api/v1/agencies/me")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_oauth_authorisation_page_needs_the_second_factor(world):
    totp_device(world.mops_worker)
    client = Client()
    client.force_login(world.mops_worker)

    response = client.get("/o/authorize/?response_type=code&client_id=x")

    assert response["Location"].startswith("/accounts/otp/?next=%2Fo%2Fauthorize%2F")


def test_an_htmx_request_without_a_session_loads_the_login_page_whole(world):
    response = Client().get("/app/referrals/inbox?urgency=urgent", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fapp%2Freferrals%2Finbox%3Furgency%3Durgent"
