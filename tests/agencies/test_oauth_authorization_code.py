"""Authorization code with PKCE (RFC 7636), S256 only (RFC 9700 §2.1.1)."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from oauth2_provider.models import AccessToken, RefreshToken

from agencies.models import AgencyApplication
from agencies.services import client_create
from tests.conftest import TOKEN_URL, bearer
from tests.staff import verified_login  # password and second factor (DESIGN.md 7)

REDIRECT = "https://app.example.org/callback"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def user_app(make_agency, make_user):
    agency = make_agency(name="PCPR", kind="pcpr")
    user = make_user(agency)
    application = client_create(
        agency=agency,
        scopes=["agencies:read"],
        grant_type=AgencyApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
    ).application
    return agency, user, application


def authorize(client, application, **pkce):
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "agencies:read",
        "state": "st4te",
        **pkce,
    }
    return client.post("/o/authorize/", {**params, "allow": "Authorize"})


def code_from(response) -> str | None:
    if response.status_code != 302:
        return None
    return parse_qs(urlparse(response["Location"]).query).get("code", [None])[0]


def exchange(client, application, code, verifier):
    return client.post(
        TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": application.client_id,
            "code_verifier": verifier,
        },
    )


def test_s256_yields_a_token_bound_to_the_user_and_their_agency(client, user_app):
    agency, user, application = user_app
    verified_login(client, user)
    verifier = secrets.token_urlsafe(48)

    code = code_from(authorize(client, application, code_challenge=s256(verifier), code_challenge_method="S256"))
    response = exchange(client, application, code, verifier)

    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert AccessToken.objects.get(token_checksum=hashlib.sha256(token.encode()).hexdigest()).user == user
    client.logout()
    me = client.get("/api/v1/agencies/me", **bearer(token))
    assert me.json()["id"] == str(agency.id)


def test_request_without_pkce_is_refused(client, user_app):
    _, user, application = user_app
    verified_login(client, user)

    response = authorize(client, application)

    assert code_from(response) is None
    assert "code_challenge" in response.content.decode() or "invalid_request" in response.get("Location", "")


def test_plain_pkce_is_refused(client, user_app):
    _, user, application = user_app
    verified_login(client, user)
    verifier = secrets.token_urlsafe(48)

    response = authorize(client, application, code_challenge=verifier, code_challenge_method="plain")

    assert code_from(response) is None


def test_wrong_verifier_is_refused(client, user_app):
    _, user, application = user_app
    verified_login(client, user)
    verifier = secrets.token_urlsafe(48)
    code = code_from(authorize(client, application, code_challenge=s256(verifier), code_challenge_method="S256"))

    response = exchange(client, application, code, secrets.token_urlsafe(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_user_of_another_agency_cannot_authorise_the_client(client, user_app, make_agency, make_user):
    _, _, application = user_app
    outsider = make_user(make_agency(name="Policja", kind="police"), username="outsider")
    verified_login(client, outsider)
    verifier = secrets.token_urlsafe(48)

    response = authorize(client, application, code_challenge=s256(verifier), code_challenge_method="S256")

    assert response.status_code == 403
    assert code_from(response) is None


def test_refresh_token_rotates_and_reuse_revokes_the_family(client, user_app):
    _, user, application = user_app
    verified_login(client, user)
    verifier = secrets.token_urlsafe(48)
    code = code_from(authorize(client, application, code_challenge=s256(verifier), code_challenge_method="S256"))
    first = exchange(client, application, code, verifier).json()

    def refresh(refresh_token):
        return client.post(
            TOKEN_URL,
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": application.client_id},
        )

    second = refresh(first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]

    reuse = refresh(first["refresh_token"])  # a stolen, already-used refresh token

    assert reuse.status_code == 400
    # RFC 9700 §4.14.2: reuse revokes the whole family, including the new one.
    assert refresh(second.json()["refresh_token"]).status_code == 400
    assert not RefreshToken.objects.filter(revoked__isnull=True, user=user).exists()
