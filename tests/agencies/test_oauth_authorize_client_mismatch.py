"""Issue 15, item 6: the membership check at /o/authorize/ reads the client id
that django-oauth-toolkit acts on. A member of one agency names her own
agency's client where the check looked and the police's client where DOT
looks: no code may be issued for the police's client, on GET or POST."""

import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from oauth2_provider.models import Grant

from agencies.models import AgencyApplication
from agencies.services import client_create
from tests.agencies.test_oauth_authorization_code import s256
from tests.staff import verified_login  # password and second factor (DESIGN.md 7)

OPS_REDIRECT = "https://ops.example.org/callback"
POLICE_REDIRECT = "https://police.example.org/callback"
FORM = "application/x-www-form-urlencoded"


def user_client(agency, redirect_uri):
    return client_create(
        agency=agency,
        scopes=["agencies:read"],
        grant_type=AgencyApplication.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
    ).application


@pytest.fixture
def ops_member_and_clients(make_agency, make_user):
    """A caseworker of the OPS, her agency's user client, and the police's."""
    ops = make_agency(name="MOPS", kind="ops")
    police = make_agency(name="Komenda Powiatowa Policji", kind="police")
    return make_user(ops), user_client(ops, OPS_REDIRECT), user_client(police, POLICE_REDIRECT)


def authorization_request(application, redirect_uri) -> dict:
    return {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": redirect_uri,
        "scope": "agencies:read",
        "state": "st4te",
        "code_challenge": s256(secrets.token_urlsafe(48)),
        "code_challenge_method": "S256",
    }


def code_in(response) -> str | None:
    location = response.get("Location", "")
    return parse_qs(urlparse(location).query).get("code", [None])[0]


def test_posting_another_agencys_client_id_beside_ones_own_in_the_query_issues_no_code(
    client, ops_member_and_clients
):
    user, ops_app, police_app = ops_member_and_clients
    verified_login(client, user)
    query = urlencode(authorization_request(ops_app, OPS_REDIRECT))
    form = {**authorization_request(police_app, POLICE_REDIRECT), "allow": "Authorize"}

    response = client.post(f"/o/authorize/?{query}", form)

    assert response.status_code in (400, 403), response.content
    assert code_in(response) is None
    assert not Grant.objects.filter(application=police_app).exists()
    assert not Grant.objects.exists()


def test_a_get_naming_another_agencys_client_id_in_its_body_issues_no_code(client, ops_member_and_clients):
    # DOT reads a GET's client_id from the query only; the body must not count.
    user, ops_app, police_app = ops_member_and_clients
    police_app.skip_authorization = True  # a code straight away, if DOT ever took this client
    police_app.save(update_fields=["skip_authorization"])
    verified_login(client, user)
    query = urlencode(authorization_request(ops_app, OPS_REDIRECT))
    body = urlencode({**authorization_request(police_app, POLICE_REDIRECT), "allow": "Authorize"})

    response = client.generic("GET", f"/o/authorize/?{query}", body, content_type=FORM)

    assert not response.get("Location", "").startswith(POLICE_REDIRECT)
    assert code_in(response) is None
    assert not Grant.objects.filter(application=police_app).exists()


def test_a_get_naming_two_client_ids_in_the_query_issues_no_code(client, ops_member_and_clients):
    user, ops_app, police_app = ops_member_and_clients
    police_app.skip_authorization = True
    police_app.save(update_fields=["skip_authorization"])
    verified_login(client, user)
    params = authorization_request(police_app, POLICE_REDIRECT)
    query = urlencode([("client_id", ops_app.client_id), *params.items()])

    response = client.get(f"/o/authorize/?{query}")

    assert response.status_code in (400, 403), response.content
    assert code_in(response) is None
    assert not Grant.objects.exists()


def test_a_member_still_authorises_her_own_agencys_client_named_in_both_places(client, ops_member_and_clients):
    user, ops_app, _ = ops_member_and_clients
    verified_login(client, user)
    params = authorization_request(ops_app, OPS_REDIRECT)

    response = client.post(f"/o/authorize/?{urlencode(params)}", {**params, "allow": "Authorize"})

    assert response.status_code == 302, response.content
    assert response["Location"].startswith(OPS_REDIRECT)
    assert code_in(response) is not None
    assert Grant.objects.filter(application=ops_app, user=user).count() == 1
