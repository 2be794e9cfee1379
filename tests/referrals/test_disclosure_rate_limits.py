"""Reads of person data are limited per client and per user (issue 12, item
7): past the `disclosure` rates a 429 problem with Retry-After, before the
choke point records anything. Time is the throttle's, moved by the test."""

import secrets
import uuid

import pytest
from django.conf import settings
from django.urls import get_resolver, reverse

from agencies.callers import Caller
from agencies.models import AgencyApplication
from agencies.services import client_create
from consent_ledger.models import EntryKind, LedgerEntry
from consent_ledger.services import subject_create
from hub.api.errors import PROBLEM_CONTENT_TYPE, THROTTLED
from schemas.vocabularies import SCOPES, codes
from tests.agencies.test_oauth_authorization_code import (
    REDIRECT,
    authorize,
    code_from,
    exchange,
    s256,
)
from tests.conftest import bearer
from tests.staff import verified_login

from .conftest import PROFILE, detail, updates_url


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    return set_rates


def assert_throttled(response, retry_after: int):
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["Retry-After"] == str(retry_after)
    assert response.json()["code"] == THROTTLED


def disclosures() -> int:
    return LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).count()


def test_a_client_reads_so_many_records_a_minute(ops, shelter, subject_id, referral_id, rates, throttle_clock):
    rates(application="100/minute", disclosure="2/minute")

    reads = [shelter.get(detail(referral_id)).status_code for _ in range(2)]
    recorded = disclosures()
    throttle_clock.advance(20)
    refused = shelter.get(detail(referral_id))
    refused_subject = shelter.get(f"/api/v1/subjects/{subject_id}", purpose="referral")
    not_a_disclosure = shelter.get("/api/v1/agencies/me")
    other_client = ops.get(detail(referral_id))
    throttle_clock.advance(40)
    again = shelter.get(detail(referral_id))

    assert reads == [200, 200]
    assert_throttled(refused, retry_after=40)
    assert_throttled(refused_subject, retry_after=40)  # one budget for every read of person data
    assert disclosures() == recorded + 1  # the refused reads recorded nothing; the other client's read did
    assert not_a_disclosure.status_code == 200
    assert other_client.status_code == 200
    assert again.status_code == 200


def test_writes_are_not_disclosure_reads(shelter, referral_id, rates, throttle_clock):
    rates(disclosure="1/minute")

    reads = [shelter.get(updates_url(referral_id)).status_code for _ in range(2)]
    writes = [shelter.post(updates_url(referral_id), {"kind": "note", "payload": {"text": "Przyjęta."}}).status_code
              for _ in range(2)]

    assert reads == [200, 429]
    assert writes == [201, 201]


def path_of(name: str) -> str:
    (_format, params), *_ = get_resolver().reverse_dict.getlist(name)[0][0]
    return reverse(name, kwargs={param: uuid.uuid4() for param in params})


@pytest.mark.parametrize("name", sorted(settings.API_DISCLOSURE_VIEWS))
def test_every_view_named_a_disclosure_is_limited(party, rates, throttle_clock, name):
    """Each named view's reads count, whether or not the id is known: probing
    ids spends the budget too."""
    rates(disclosure="0/minute")
    caller = party("Anyone", scopes=list(codes(SCOPES)))

    response = caller.get(path_of(name))

    assert_throttled(response, retry_after=60)


@pytest.fixture
def user_tokens(client, make_agency, make_user):
    """Two users of one agency's user app (authorization code, PKCE S256) and
    a person the agency registered: (subject id, [token of each user])."""
    agency = make_agency(name="PCPR", kind="pcpr")
    application = client_create(
        agency=agency, scopes=["subjects:read"], grant_type=AgencyApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
    ).application
    subject = subject_create(caller=Caller(agency=agency), external_ref="P/1", profile=PROFILE)
    tokens = []
    for username in ("pcpr.ala", "pcpr.ola"):
        verified_login(client, make_user(agency, username=username))
        verifier = secrets.token_urlsafe(48)
        code = code_from(authorize(client, application, scope="subjects:read", code_challenge=s256(verifier),
                                   code_challenge_method="S256"))
        tokens.append(exchange(client, application, code, verifier).json()["access_token"])
        client.logout()
    return subject.id, tokens


def test_each_user_of_a_shared_user_app_has_a_budget_of_her_own(client, user_tokens, rates, throttle_clock):
    rates(disclosure="100/minute", disclosure_user="2/minute")
    subject_id, (ala, ola) = user_tokens

    def read(token):
        return client.get(f"/api/v1/subjects/{subject_id}", **bearer(token))

    ala_reads = [read(ala).status_code for _ in range(2)]
    refused = read(ala)
    ola_reads = [read(ola).status_code for _ in range(2)]

    assert ala_reads == [200, 200]
    assert_throttled(refused, retry_after=60)
    assert ola_reads == [200, 200]

