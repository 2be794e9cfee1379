"""Issue 15, item 7b-c: requests Django, DRF or django-oauth-toolkit answered
with a 500 (and a traceback per request) or with an HTML page are 4xx
problem+json under /api/ and /o/."""

import logging

import pytest
from django.test import Client

from hub.api.errors import MALFORMED_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND, PROBLEM_CONTENT_TYPE
from tests.conftest import ALL_SCOPES, basic_auth, bearer
from tests.staff import verified_login  # password and second factor (DESIGN.md 7)

MALFORMED_QUERY = "x=%ZZ&y=%4"


@pytest.fixture
def raw_client():
    """Answers a request whatever happens, as a server would: no re-raising."""
    return Client(raise_request_exception=False)


@pytest.fixture
def ops(agency_token):
    return agency_token(scopes=ALL_SCOPES, name="MOPS")[1]


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE, response.content
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def tracebacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text or "Traceback" in r.getMessage()]


def test_a_malformed_query_string_on_the_api_is_a_400_problem_without_a_traceback(raw_client, ops, caplog):
    caplog.set_level(logging.DEBUG)

    response = raw_client.get(f"/api/v1/agencies/?{MALFORMED_QUERY}", **bearer(ops))

    assert_problem(response, 400, MALFORMED_REQUEST)
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("path", ["/o/token/", "/o/revoke_token/", "/o/introspect/"])
def test_a_malformed_query_string_at_the_oauth_endpoints_is_a_400_problem_without_a_traceback(
    raw_client, make_agency, make_client, path, caplog
):
    caplog.set_level(logging.DEBUG)
    application, secret = make_client(make_agency())

    response = raw_client.post(
        f"{path}?{MALFORMED_QUERY}", {"grant_type": "client_credentials", "token": "t"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )

    body = assert_problem(response, 400, MALFORMED_REQUEST)
    assert body["error"] == "invalid_request"  # RFC 6749 §5.2, for OAuth clients
    assert tracebacks(caplog) == []


def test_a_malformed_query_string_at_authorize_is_a_400_for_a_logged_in_user(raw_client, make_agency, make_user):
    verified_login(raw_client, make_user(make_agency()))

    response = raw_client.get(f"/o/authorize/?response_type=code&{MALFORMED_QUERY}")

    assert_problem(response, 400, MALFORMED_REQUEST)


@pytest.mark.parametrize(
    ("field", "value"), [("client_id", "abc\x00"), ("client_secret", "\x00"), ("grant_type", "client_credentials\x00")]
)
def test_a_nul_in_the_token_endpoints_form_is_a_400_problem(raw_client, db, field, value):
    form = {"grant_type": "client_credentials", "client_id": "abc", "client_secret": "s", field: value}

    response = raw_client.post("/o/token/", form)

    assert assert_problem(response, 400, MALFORMED_REQUEST)["error"] == "invalid_request"


def test_a_nul_in_basic_client_credentials_is_a_400_problem(raw_client, db):
    response = raw_client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic_auth("abc%00", "secret")
    )

    assert_problem(response, 400, MALFORMED_REQUEST)


@pytest.mark.parametrize("query", ["purpose=referral%00", "status=%00", "after=1&x%00=1"])
def test_a_nul_in_a_query_parameter_is_a_400_problem(raw_client, ops, query):
    response = raw_client.get(f"/api/v1/referrals/?{query}", **bearer(ops))

    assert_problem(response, 400, MALFORMED_REQUEST)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "get"])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/no-such-thing", "/o/no-such-thing/"])
def test_any_method_to_an_unknown_api_path_is_a_404_problem_not_the_csrf_page(db, method, path):
    # API clients send no CSRF token; CsrfViewMiddleware must not answer first.
    client = Client(enforce_csrf_checks=True)

    response = client.generic(method.upper(), path, '{"a": 1}', content_type="application/json")

    assert_problem(response, 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/agencies/"),
        ("PATCH", "/api/v1/subjects/"),
        ("DELETE", "/api/v1/referrals/"),
        ("POST", "/api/schema/"),
    ],
)
def test_a_method_a_known_api_path_does_not_accept_is_a_405_problem_with_allow(ops, method, path):
    client = Client(enforce_csrf_checks=True)

    response = client.generic(method, path, "{}", content_type="application/json", **bearer(ops))

    assert_problem(response, 405, METHOD_NOT_ALLOWED)
    assert response["Allow"]


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/o/token/"), ("DELETE", "/o/revoke_token/"), ("PUT", "/o/introspect/")]
)
def test_a_method_an_oauth_endpoint_does_not_accept_is_a_405_problem_with_allow(
    make_agency, make_client, method, path
):
    application, secret = make_client(make_agency())
    client = Client(enforce_csrf_checks=True)

    response = client.generic(
        method, path, "token=t", content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )

    assert_problem(response, 405, METHOD_NOT_ALLOWED)
    assert response["Allow"]
