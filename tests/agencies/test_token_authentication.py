"""Bearer-token authentication (agencies/api/authentication.py): one query per
request, nothing cached, so every way a token stops being valid takes effect
on its very next use (issue 11)."""

import hashlib
import json
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from agencies.api.authentication import AgencyTokenAuthentication
from agencies.models import Agency, Membership
from agencies.tasks import oauth_clear_expired_task
from hub.api.errors import AUTHENTICATION_FAILED, MALFORMED_REQUEST, NOT_AUTHENTICATED
from hub.api.parsers import JSONParser
from tests.agencies.test_oauth_authorization_code import (  # noqa: F401
    authorize,
    code_from,
    exchange,
    s256,
    user_app,
)
from tests.conftest import basic_auth, bearer
from tests.staff import verified_login

ME = "/api/v1/agencies/me"


def _stored(token: str) -> AccessToken:
    return AccessToken.objects.get(token_checksum=hashlib.sha256(token.encode()).hexdigest())


def _authenticate(token: str):
    request = Request(APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {token}"), parsers=[JSONParser()])
    return request, AgencyTokenAuthentication().authenticate(request)


@pytest.fixture
def client_token(make_agency, make_client, obtain_token):
    """(agency, application, secret, token) of a client-credentials client."""
    agency = make_agency()
    application, secret = make_client(agency)
    return agency, application, secret, obtain_token(application, secret)


@pytest.fixture
def user_token(client, user_app):  # noqa: F811
    """(agency, user, token) of an authorization-code token (RFC 7636, S256)."""
    agency, user, application = user_app
    verified_login(client, user)
    verifier = secrets.token_urlsafe(48)
    code = code_from(authorize(client, application, code_challenge=s256(verifier), code_challenge_method="S256"))
    token = exchange(client, application, code, verifier).json()["access_token"]
    client.logout()
    return agency, user, token


def test_a_client_token_is_resolved_to_its_caller_in_one_query(client_token):
    agency, application, _, token = client_token

    with CaptureQueriesContext(connection) as queries:
        request, (user, access_token) = _authenticate(token)

    assert len(queries.captured_queries) == 1
    assert user is None and access_token.pk == _stored(token).pk
    assert request.caller.agency == agency and request.caller.application == application
    assert request.caller.actor_label == f"client:{application.client_id}"


def test_a_user_token_and_the_users_membership_are_checked_in_the_same_query(user_token):
    agency, user, token = user_token

    with CaptureQueriesContext(connection) as queries:
        request, (authenticated, _) = _authenticate(token)

    assert len(queries.captured_queries) == 1
    assert authenticated == user and request.caller.agency == agency and request.caller.user == user


def test_a_token_revoked_at_the_revocation_endpoint_fails_on_its_very_next_use(client, client_token):
    _, application, secret, token = client_token
    for _ in range(3):  # in use, and answered from the same process and connection
        assert client.get(ME, **bearer(token)).status_code == 200

    client.post("/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret))

    refused = client.get(ME, **bearer(token))
    assert refused.status_code == 401 and refused.json()["code"] == AUTHENTICATION_FAILED
    assert refused.json()["detail"] == "The access token was revoked: get a new one at /o/token/."


def test_a_token_deleted_by_the_admin_fails_on_its_very_next_use(client, client_token):
    token = client_token[3]
    assert client.get(ME, **bearer(token)).status_code == 200

    AccessToken.objects.filter(pk=_stored(token).pk).delete()  # what the admin's delete action does

    refused = client.get(ME, **bearer(token))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The access token was revoked: get a new one at /o/token/."
    assert 'error_description="The access token was revoked."' in refused["WWW-Authenticate"]


def test_a_token_removed_by_the_cleanup_fails_on_its_very_next_use(client, client_token):
    token = client_token[3]
    assert client.get(ME, **bearer(token)).status_code == 200
    AccessToken.objects.filter(pk=_stored(token).pk).update(expires=timezone.now() - timedelta(days=30))

    oauth_clear_expired_task()

    refused = client.get(ME, **bearer(token))
    assert refused.status_code == 401 and refused.json()["detail"].startswith("The access token is not known")
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


def test_a_token_that_expires_is_refused_on_its_next_use(client, client_token):
    token = client_token[3]
    assert client.get(ME, **bearer(token)).status_code == 200
    AccessToken.objects.filter(pk=_stored(token).pk).update(expires=timezone.now() - timedelta(seconds=1))

    refused = client.get(ME, **bearer(token))
    assert refused.json()["detail"] == "The access token has expired: get a new one at /o/token/."
    assert 'error_description="The access token has expired."' in refused["WWW-Authenticate"]


def test_a_user_who_leaves_the_agency_is_refused_on_the_next_request(client, user_token):
    _, user, token = user_token
    assert client.get(ME, **bearer(token)).status_code == 200

    Membership.objects.filter(user=user).update(active=False)

    refused = client.get(ME, **bearer(token))
    assert refused.status_code == 401 and "not a member" in refused.json()["detail"]


def test_a_token_of_an_agency_made_inactive_is_refused_on_the_next_request(client, client_token):
    agency, _, _, token = client_token
    assert client.get(ME, **bearer(token)).status_code == 200

    Agency.objects.filter(pk=agency.pk).update(active=False)

    refused = client.get(ME, **bearer(token))
    assert refused.status_code == 401 and "not active" in refused.json()["detail"]


def test_a_token_in_the_query_string_is_not_accepted_even_beside_a_valid_header(client, client_token):
    token = client_token[3]

    response = client.get(f"{ME}?access_token={token}", **bearer(token))

    assert response.status_code == 401 and response.json()["code"] == NOT_AUTHENTICATED


def test_a_token_bound_to_another_resource_is_refused_and_one_bound_to_the_api_is_not(client, client_token):
    token = client_token[3]
    stored = _stored(token)

    AccessToken.objects.filter(pk=stored.pk).update(resource=["http://testserver/api/v1/referrals/"])
    refused = client.get(ME, **bearer(token))
    AccessToken.objects.filter(pk=stored.pk).update(resource=["http://testserver/api/v1/"])
    allowed = client.get(ME, **bearer(token))

    assert refused.status_code == 401 and "another resource (RFC 8707)" in refused.json()["detail"]
    assert 'error_description="The access token is not valid for this resource."' in refused["WWW-Authenticate"]
    assert allowed.status_code == 200


def test_a_malformed_header_is_no_credentials(client, client_token):
    token = client_token[3]

    for header in (f"Bearer {token} extra", f"Basic {token}", "Bearer"):
        response = client.get(ME, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401 and response.json()["code"] == NOT_AUTHENTICATED


def test_a_body_that_cannot_be_parsed_is_answered_before_the_token_is_checked(client, db):
    # As django-oauth-toolkit did (it reads the body first): the answer to such
    # a request does not depend on the token.
    response = client.post(
        "/api/v1/referrals/", data="{not json", content_type="application/json", **bearer("not-a-token")
    )

    assert response.status_code == 400 and response.json()["code"] == MALFORMED_REQUEST
    assert json.loads(response.content)["status"] == 400
