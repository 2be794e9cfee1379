"""Every error is RFC 9457 problem+json naming what is wrong; nothing is a 500."""

import pytest

from agencies.models import Agency
from hub.api.errors import MALFORMED_REQUEST, METHOD_NOT_ALLOWED, NOT_FOUND, PROBLEM_CONTENT_TYPE, THROTTLED
from hub.api.errors import UNSUPPORTED_MEDIA_TYPE, VALIDATION_ERROR
from tests.conftest import bearer

pytestmark = pytest.mark.urls("tests.hub.probe_urls")
PROBE = "/api/v1/probe/"


@pytest.fixture
def token(agency_token):
    return agency_token(name="Caller")[1]


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    assert body["title"] and body["detail"]
    return body


def test_malformed_json_is_400_naming_the_parse_error(client, token):
    response = client.post(PROBE, '{"name": "x",', content_type="application/json", **bearer(token))

    body = assert_problem(response, 400, MALFORMED_REQUEST)
    assert "JSON" in body["detail"]


def test_wrong_content_type_is_415(client, token):
    response = client.post(PROBE, "name=x&kind=ops", content_type="application/x-www-form-urlencoded", **bearer(token))

    body = assert_problem(response, 415, UNSUPPORTED_MEDIA_TYPE)
    assert "application/x-www-form-urlencoded" in body["detail"]


def test_unknown_fields_are_named_by_pointer(client, token):
    response = client.post(
        PROBE, {"name": "NGO", "kind": "ngo", "nmae": "typo", "x/y": 1}, content_type="application/json", **bearer(token)
    )

    body = assert_problem(response, 422, VALIDATION_ERROR)
    assert {(e["pointer"], e["detail"]) for e in body["errors"]} == {
        ("/nmae", "Unknown member 'nmae'. Allowed here: kind, name, teryt."),
        ("/x~1y", "Unknown member 'x/y'. Allowed here: kind, name, teryt."),
    }
    assert not Agency.objects.filter(name="NGO").exists()


def test_missing_and_invalid_fields_each_get_a_pointer(client, token):
    response = client.post(PROBE, {"name": ""}, content_type="application/json", **bearer(token))

    body = assert_problem(response, 422, VALIDATION_ERROR)
    assert {e["pointer"] for e in body["errors"]} == {"/name", "/kind"}


def test_a_body_that_is_not_an_object_is_refused(client, token):
    response = client.post(PROBE, [1, 2], content_type="application/json", **bearer(token))

    body = assert_problem(response, 422, VALIDATION_ERROR)
    assert body["errors"][0]["pointer"] == ""


def test_service_validation_is_422_with_pointer(client, token):
    response = client.post(PROBE, {"name": "X", "kind": "bank"}, content_type="application/json", **bearer(token))

    body = assert_problem(response, 422, "unknown_code")
    assert body["errors"] == [{"pointer": "/kind", "detail": "Unknown kind 'bank'."}]


def test_unknown_api_path_is_404_problem(client, db):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, NOT_FOUND)


def test_wrong_method_is_405_problem(client, token):
    response = client.delete("/api/v1/agencies/me", **bearer(token))

    assert_problem(response, 405, METHOD_NOT_ALLOWED)


def test_unknown_filter_value_is_named(client, token):
    response = client.get("/api/v1/agencies/?kind=bank", **bearer(token))

    body = assert_problem(response, 422, VALIDATION_ERROR)
    assert body["errors"][0]["parameter"] == "kind"


def test_throttling_is_per_application_and_429_problem(client, token, agency_token, settings):
    other_token = agency_token(name="Other")[1]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"application": "2/minute"}}

    statuses = [client.get("/api/v1/agencies/me", **bearer(token)).status_code for _ in range(3)]
    throttled = client.get("/api/v1/agencies/me", **bearer(token))
    other = client.get("/api/v1/agencies/me", **bearer(other_token))

    assert statuses == [200, 200, 429]
    assert_problem(throttled, 429, THROTTLED)
    assert int(throttled["Retry-After"]) > 0
    assert other.status_code == 200


def test_request_id_is_echoed_when_well_formed_and_replaced_otherwise(client, db):
    good = client.get("/healthz", HTTP_X_REQUEST_ID="abc-12345-def")
    bad = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nInjected: yes")

    assert good["X-Request-ID"] == "abc-12345-def"
    assert bad["X-Request-ID"] != "bad id\r\nInjected: yes"
    assert len(bad["X-Request-ID"]) == 36


def test_problem_carries_the_request_id(client, db):
    response = client.get("/api/v1/agencies/me", HTTP_X_REQUEST_ID="req-000000042")

    assert response.json()["request_id"] == "req-000000042"


def test_problems_are_in_the_language_of_accept_language(client, db):
    """One language per response, chosen by Accept-Language (issue 16,
    hub/api/language.py); the code stays the same. More in test_api_language.py."""
    polish = client.get("/api/v1/agencies/me", HTTP_ACCEPT_LANGUAGE="pl")
    english = client.get("/api/v1/agencies/me", HTTP_ACCEPT_LANGUAGE="en")

    assert polish.json()["code"] == english.json()["code"]
    assert english.json()["title"] == "Authentication is required."
    assert polish.json()["title"] == "Wymagane jest uwierzytelnienie."
    assert (polish["Content-Language"], english["Content-Language"]) == ("pl", "en")


def test_an_endpoint_that_declares_no_scopes_is_closed(client, agency_token):
    _, token = agency_token(scopes=("agencies:read", "subjects:read"))

    response = client.get("/api/v1/probe-undeclared/", **bearer(token))

    assert response.status_code == 403
    assert "should never" not in response.content.decode()


def test_an_oversized_body_is_413_before_it_is_read(client, token, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = client.post(PROBE, {"name": "x" * 2000, "kind": "ngo"}, content_type="application/json", **bearer(token))

    body = assert_problem(response, 413, "payload_too_large")
    assert "1000" in body["detail"]
    assert not Agency.objects.filter(kind="ngo").exists()
