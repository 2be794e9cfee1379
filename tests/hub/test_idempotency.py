import pytest

from agencies.models import Agency
from hub.api.idempotency import KEY_REUSED, REPLAYED_HEADER
from hub.api.models import IdempotencyRecord
from tests.conftest import bearer

pytestmark = pytest.mark.urls("tests.hub.probe_urls")
PROBE = "/api/v1/probe/"


def post(client, token, body, key):
    return client.post(PROBE, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **bearer(token))


def test_replay_returns_the_identical_response_and_creates_nothing(client, agency_token):
    _, token = agency_token(name="Caller")
    body = {"name": "Fundacja Przykład", "kind": "ngo"}

    first = post(client, token, body, "key-1")
    replay = post(client, token, body, "key-1")

    assert first.status_code == 201
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Location"] == first["Location"]
    assert replay[REPLAYED_HEADER] == "true"
    assert Agency.objects.filter(name="Fundacja Przykład").count() == 1


def test_same_key_with_a_different_body_is_409(client, agency_token):
    _, token = agency_token(name="Caller")
    post(client, token, {"name": "A", "kind": "ngo"}, "key-2")

    response = post(client, token, {"name": "B", "kind": "ngo"}, "key-2")

    assert response.status_code == 409
    assert response.json()["code"] == KEY_REUSED
    assert not Agency.objects.filter(name="B").exists()


def test_keys_are_scoped_to_the_calling_application(client, agency_token):
    _, ops_token = agency_token(name="OPS")
    _, ngo_token = agency_token(name="NGO", kind="ngo")

    post(client, ops_token, {"name": "A", "kind": "ngo"}, "shared-key")
    other = post(client, ngo_token, {"name": "B", "kind": "ngo"}, "shared-key")

    assert other.status_code == 201
    assert other.json()["name"] == "B"


def test_a_failed_request_releases_the_key(client, agency_token):
    _, token = agency_token(name="Caller")

    failed = post(client, token, {"name": "A", "kind": "bank"}, "key-3")
    fixed = post(client, token, {"name": "A", "kind": "ngo"}, "key-3")

    assert failed.status_code == 422
    assert fixed.status_code == 201
    assert IdempotencyRecord.objects.get(key="key-3").status_code == 201


def test_request_without_a_key_is_not_deduplicated(client, agency_token):
    _, token = agency_token(name="Caller")
    body = {"name": "A", "kind": "ngo"}

    for _ in range(2):
        client.post(PROBE, body, content_type="application/json", **bearer(token))

    assert Agency.objects.filter(name="A").count() == 2


def test_key_in_flight_is_409(client, agency_token):
    _, token = agency_token(name="Caller")
    first = post(client, token, {"name": "A", "kind": "ngo"}, "key-4")
    IdempotencyRecord.objects.filter(key="key-4").update(status_code=None)  # as if still running

    response = post(client, token, {"name": "A", "kind": "ngo"}, "key-4")

    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
