"""Rate limits of the token endpoint (issue 12, item 7): tokens issued per
client, refused requests (unknown client, wrong secret) per address; past
either a 429 problem with Retry-After. Time is the throttle's, moved by the
test."""

import pytest

from hub.api.errors import PROBLEM_CONTENT_TYPE, THROTTLED
from tests.conftest import TOKEN_URL, basic_auth

AGENCY_ADDRESS, ATTACKER = "192.0.2.10", "198.51.100.66"


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    return set_rates


@pytest.fixture
def clients(make_agency, make_client):
    """Two agencies' clients: (client_id, secret) each."""
    return [
        (application.client_id, secret)
        for application, secret in (make_client(make_agency(name=name)) for name in ("MOPS", "PCPR"))
    ]


def token_request(client, client_id, secret, address=AGENCY_ADDRESS, **headers):
    return client.post(TOKEN_URL, {"grant_type": "client_credentials"},
                       HTTP_AUTHORIZATION=basic_auth(client_id, secret), REMOTE_ADDR=address, **headers)


def assert_throttled(response, retry_after: int) -> dict:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["Retry-After"] == str(retry_after)
    body = response.json()
    assert (body["status"], body["code"], body["type"]) == (429, THROTTLED, f"/problems/{THROTTLED}")
    return body


def test_a_client_gets_so_many_tokens_a_minute_and_is_told_when_to_come_back(
    client, clients, rates, throttle_clock
):
    rates(token="2/minute")
    (mops, mops_secret), (pcpr, pcpr_secret) = clients

    issued = [token_request(client, mops, mops_secret).status_code for _ in range(2)]
    throttle_clock.advance(15)
    refused = token_request(client, mops, mops_secret)
    other = token_request(client, pcpr, pcpr_secret)
    throttle_clock.advance(45)
    again = token_request(client, mops, mops_secret)

    assert issued == [200, 200]
    assert_throttled(refused, retry_after=45)
    assert other.status_code == 200
    assert again.status_code == 200


def test_unknown_clients_are_limited_per_address(client, clients, rates, throttle_clock):
    rates(token="10/minute", token_failure="2/minute")
    (mops, mops_secret), _ = clients

    guesses = [token_request(client, f"guess-{n}", "x", address=ATTACKER).status_code for n in range(2)]
    refused = token_request(client, "guess-3", "x", address=ATTACKER)
    elsewhere = token_request(client, "guess-4", "x", address=AGENCY_ADDRESS)
    legitimate = token_request(client, mops, mops_secret, address=AGENCY_ADDRESS)

    assert guesses == [401, 401]
    assert_throttled(refused, retry_after=60)
    assert elsewhere.status_code == 401
    assert legitimate.status_code == 200


def test_wrong_secrets_for_a_client_spend_the_senders_budget_not_the_clients(client, clients, rates, throttle_clock):
    rates(token="2/minute", token_failure="2/minute")
    (mops, mops_secret), _ = clients

    attempts = [token_request(client, mops, "wrong", address=ATTACKER).status_code for _ in range(5)]
    own = [token_request(client, mops, mops_secret).status_code for _ in range(2)]

    assert attempts == [401, 401, 429, 429, 429]
    assert own == [200, 200]


def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(client, db, rates, throttle_clock):
    rates(token_failure="2/minute")

    statuses = [
        token_request(client, "guess", "x", address=ATTACKER, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(client, db, rates, throttle_clock, settings):
    rates(token_failure="1/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"

    first = token_request(client, "guess", "x", address=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}")
    same = token_request(client, "guess", "x", address=proxy, HTTP_X_FORWARDED_FOR=f"5.6.7.8, {ATTACKER}")
    other = token_request(client, "guess", "x", address=proxy, HTTP_X_FORWARDED_FOR=AGENCY_ADDRESS)

    assert [first.status_code, same.status_code, other.status_code] == [401, 429, 401]


def test_the_429_is_in_the_language_asked_for(client, clients, rates, throttle_clock):
    rates(token="1/minute")
    (mops, mops_secret), _ = clients
    token_request(client, mops, mops_secret)

    polish = token_request(client, mops, mops_secret, HTTP_ACCEPT_LANGUAGE="pl")
    english = token_request(client, mops, mops_secret, HTTP_ACCEPT_LANGUAGE="en")

    assert assert_throttled(polish, 60)["detail"] == "Zbyt wiele żądań. Spróbuj ponownie za 60 sekund."
    assert assert_throttled(english, 60)["detail"] == "Request was throttled. Expected available in 60 seconds."
