"""Security headers on every response (issue 12, item 7): the API's JSON, its
problems (also those the outer middlewares answer by themselves), the staff
pages, an HTML error page and the admin; HSTS in production."""

import os
import subprocess
import sys

import pytest
from django.test import Client

from hub.security_headers import DOCUMENT_REFERRER_POLICY, PERMISSIONS_POLICY
from tests.conftest import basic_auth, bearer
from tests.staff import verified_login

from .test_settings import PRODUCTION_ENV, ROOT

DENIED_FEATURES = ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid", "bluetooth")


@pytest.fixture
def token(agency_token):
    return agency_token(scopes=("agencies:read",))[1]


@pytest.fixture
def staff_admin(make_agency, make_user):
    user = make_user(make_agency(), username="admin.ola", role="agency_admin")
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    verified_login(client, user)
    return client


def assert_headers_of_every_response(response):
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = dict(item.split("=", 1) for item in response["Permissions-Policy"].split(", "))
    assert all(policy[feature] == "()" for feature in DENIED_FEATURES), policy
    assert set(policy.values()) == {"()"}


def assert_json_headers(response):
    assert response["Content-Type"].startswith(("application/json", "application/problem+json"))
    assert_headers_of_every_response(response)
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" not in response


def assert_document_headers(response):
    assert response["Content-Type"].startswith("text/html")
    assert_headers_of_every_response(response)
    # A document's forms must pass the CSRF check: not no-referrer (hub/security_headers.py).
    assert response["Referrer-Policy"] == DOCUMENT_REFERRER_POLICY == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_an_api_json_answer_has_every_header_and_no_csp(client, token):
    response = client.get("/api/v1/agencies/me", **bearer(token))

    assert response.status_code == 200
    assert_json_headers(response)


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/v1/no-such-thing", "GET", 404),
        ("/api/v1/no-such-thing", "POST", 404),
        ("/api/v1/agencies/me", "GET", 401),
        ("/api/v1/agencies/me", "DELETE", 405),
        ("/api/v1/agencies/?x=%ZZ", "GET", 400),  # WellFormedRequestMiddleware answers
    ],
)
def test_an_api_problem_has_every_header_and_no_csp(client, db, path, method, status):
    response = client.generic(method, path)

    assert response.status_code == status
    assert_json_headers(response)


def test_a_problem_an_outer_middleware_answers_by_itself_has_every_header(client, token, settings):
    settings.API_MAX_BODY_BYTES = 10

    response = client.post("/api/v1/subjects/", {"external_ref": "x" * 20}, content_type="application/json",
                           **bearer(token))

    assert response.status_code == 413
    assert_json_headers(response)


def test_a_token_answer_has_every_header_and_no_csp(client, make_agency, make_client):
    application, secret = make_client(make_agency())

    response = client.post("/o/token/", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=basic_auth(application.client_id, secret))

    assert response.status_code == 200
    assert_json_headers(response)


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/no-such-page", "/app/", "/admin/", "/admin/login/"])
def test_a_page_and_an_html_error_have_every_header_and_the_csp(client, db, path):
    response = client.get(path)

    assert response.status_code in (200, 302, 404)
    assert_document_headers(response)


@pytest.mark.parametrize("path", ["/app/", "/app/account", "/admin/", "/admin/auth/user/"])
def test_a_logged_in_page_and_the_admin_are_never_stored(staff_admin, path):
    response = staff_admin.get(path)

    assert response.status_code == 200
    assert_document_headers(response)


def test_the_admin_login_leads_to_the_hubs_login_with_every_header(client, db):
    response = client.get("/admin/login/", follow=True)

    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=")
    assert response.status_code == 200
    assert_document_headers(response)


def test_a_csv_answer_gets_the_csp_too(client, agency_token):
    # Only JSON goes without: anything else a browser might render is governed.
    _, token = agency_token(scopes=("placements:read",), kind="cis")

    response = client.get("/api/v1/placements/stats", {"format": "csv"}, **bearer(token))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"


def test_the_permissions_policy_denies_every_feature_it_names():
    assert all(item.endswith("=()") for item in PERMISSIONS_POLICY.split(", "))


def test_production_sends_hsts_over_https_and_redirects_plain_http():
    code = (
        "from django.conf import settings; from django.test import Client; "
        "c = Client(HTTP_HOST='hub.example.org'); "
        "secure = c.get('/healthz', secure=True); plain = c.get('/app/'); "
        "print(secure['Strict-Transport-Security']); print(plain.status_code, plain['Location']); "
        "m = settings.MIDDLEWARE; "
        "print(m.index('whitenoise.middleware.WhiteNoiseMiddleware') < m.index('hub.security_headers.SecurityHeadersMiddleware')); "
        "print(settings.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}

    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT, check=False,
                            env={**env, **PRODUCTION_ENV}, capture_output=True, text=True)

    hsts, redirect, static_first, proxies = result.stdout.strip().splitlines()
    assert hsts == "max-age=31536000; includeSubDomains; preload", result.stderr
    assert redirect == "301 https://hub.example.org/app/"
    # WhiteNoise answers static files before the no-store rule is applied.
    assert static_first == "True"
    # Behind the TLS proxy it trusts for X-Forwarded-Proto, the limits take the address that proxy saw.
    assert proxies == "1"
