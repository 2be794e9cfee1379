"""Client credentials (RFC 6749 §4.4) through the real token endpoint."""

import hashlib
from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import AccessToken

from agencies.models import AgencyApplication, RevokedAccessToken
from agencies.tasks import oauth_clear_expired_task
from hub.api.errors import INSUFFICIENT_SCOPE, NOT_AUTHENTICATED, PROBLEM_CONTENT_TYPE
from tests.conftest import TOKEN_URL, basic_auth, bearer

ME = "/api/v1/agencies/me"


def test_token_from_add_client_reads_own_agency(client, agency_token):
    agency, token = agency_token(name="MOPS Wrocław")

    response = client.get(ME, **bearer(token))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(agency.id),
        "name": "MOPS Wrocław",
        "kind": "ops",
        "sector": "public",
        "teryt": "",
    }


def test_token_without_the_scope_gets_403_problem(client, agency_token):
    _, token = agency_token(scopes=("events:read",))

    response = client.get(ME, **bearer(token))

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == INSUFFICIENT_SCOPE
    assert body["required_scopes"] == ["agencies:read"]
    assert "agencies:read" in body["detail"]


def test_no_token_gets_401_problem_with_challenge(client, db):
    response = client.get(ME)

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == NOT_AUTHENTICATED


def test_unknown_token_gets_401(client, db):
    response = client.get(ME, **bearer("not-a-token"))

    assert response.status_code == 401
    assert response.json()["detail"].startswith("The access token is not known")
    assert 'error_description="The access token is invalid."' in response["WWW-Authenticate"]


def test_revoked_token_gets_401(client, make_agency, make_client, obtain_token):
    application, secret = make_client(make_agency())
    token = obtain_token(application, secret)
    assert client.get(ME, **bearer(token)).status_code == 200

    revoke = client.post(
        "/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret)
    )

    assert revoke.status_code == 200
    refused = client.get(ME, **bearer(token))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The access token was revoked: get a new one at /o/token/."
    assert 'error_description="The access token was revoked."' in refused["WWW-Authenticate"]
    assert RevokedAccessToken.objects.count() == 1  # its checksum only, never the token
    assert not RevokedAccessToken.objects.filter(token_checksum=token).exists()


def test_a_revoked_tokens_tombstone_is_purged_once_it_would_have_expired(make_agency, make_client, obtain_token):
    application, secret = make_client(make_agency())
    token = AccessToken.objects.get(token_checksum=hashlib.sha256(obtain_token(application, secret).encode()).hexdigest())
    token.revoke()
    RevokedAccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    oauth_clear_expired_task()

    assert not RevokedAccessToken.objects.exists()


def test_clearing_expired_tokens_leaves_no_tombstone(make_agency, make_client, obtain_token):
    application, secret = make_client(make_agency())
    obtain_token(application, secret)
    AccessToken.objects.update(expires=timezone.now() - timedelta(days=30))

    oauth_clear_expired_task()

    assert not AccessToken.objects.exists() and not RevokedAccessToken.objects.exists()


def test_client_cannot_revoke_another_agencys_token(client, make_agency, make_client, obtain_token):
    ops_app, ops_secret = make_client(make_agency(name="OPS"))
    ngo_app, ngo_secret = make_client(make_agency(name="NGO", kind="ngo"))
    ops_token = obtain_token(ops_app, ops_secret)

    client.post("/o/revoke_token/", {"token": ops_token}, HTTP_AUTHORIZATION=basic_auth(ngo_app.client_id, ngo_secret))

    assert client.get(ME, **bearer(ops_token)).status_code == 200


def test_client_gets_only_its_allowed_scopes(client, make_agency, make_client):
    application, secret = make_client(make_agency(), scopes=("agencies:read",))

    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "scope": "agencies:read subjects:read"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_token_request_without_scope_gets_the_clients_allowance(client, make_agency, make_client):
    application, secret = make_client(make_agency(), scopes=("agencies:read", "events:read"))

    response = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret)
    )

    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {"agencies:read", "events:read"}


def test_wrong_secret_is_refused(client, make_agency, make_client):
    application, _ = make_client(make_agency())

    response = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic_auth(application.client_id, "nope")
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_secret_is_stored_hashed(make_agency, make_client):
    application, secret = make_client(make_agency())

    stored = AgencyApplication.objects.get(pk=application.pk).client_secret

    assert secret not in stored
    assert stored.startswith("pbkdf2_sha256_client$")


def test_inactive_agency_cannot_get_or_use_tokens(client, make_agency, make_client, obtain_token):
    agency = make_agency()
    application, secret = make_client(agency)
    token = obtain_token(application, secret)
    agency.active = False
    agency.save(update_fields=["active"])

    assert client.get(ME, **bearer(token)).status_code == 401
    refused = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret)
    )
    assert refused.status_code == 400


def test_introspection_reveals_only_own_agencys_tokens(client, make_agency, make_client, obtain_token):
    ops_app, ops_secret = make_client(make_agency(name="OPS"))
    ngo_app, ngo_secret = make_client(make_agency(name="NGO", kind="ngo"))
    ops_token = obtain_token(ops_app, ops_secret)

    own = client.post("/o/introspect/", {"token": ops_token}, HTTP_AUTHORIZATION=basic_auth(ops_app.client_id, ops_secret))
    other = client.post("/o/introspect/", {"token": ops_token}, HTTP_AUTHORIZATION=basic_auth(ngo_app.client_id, ngo_secret))

    assert own.status_code == 200
    assert own.json()["active"] is True
    assert own.json()["client_id"] == ops_app.client_id
    assert other.json() == {"active": False}


def test_introspection_needs_client_authentication(client, make_agency, make_client, obtain_token):
    application, secret = make_client(make_agency())
    token = obtain_token(application, secret)

    response = client.post("/o/introspect/", {"token": token})

    assert response.status_code in (401, 403)
    assert b"active" not in response.content
