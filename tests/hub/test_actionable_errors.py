"""Errors that say what to do (issue 16, item 3): each names the member,
parameter or header at fault and lists what is allowed, in one language
(English, or Polish for Accept-Language: pl; see test_api_language.py), and a
refused token says why."""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from hub.api.errors import AUTHENTICATION_FAILED, NOT_AUTHENTICATED, PROBLEM_CONTENT_TYPE, VALIDATION_ERROR
from referrals.lifecycle import STATUSES
from schemas.vocabularies import DATA_CATEGORIES, EVENT_TYPES, PURPOSES, codes
from tests.conftest import TOKEN_URL, basic_auth, bearer
from tests.referrals.conftest import PROFILE, consent

ME = "/api/v1/agencies/me"


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code
    return body


def lists_every(detail: str, allowed) -> bool:
    return all(code in detail for code in allowed)


@pytest.fixture
def ops(party):
    return party("MOPS Błędy", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko Błędy", "shelter")


@pytest.fixture
def subject_id(ops):
    created = ops.post("/api/v1/subjects/", {"external_ref": "E/1", "profile": PROFILE})
    assert created.status_code == 201, created.content
    return created.json()["id"]


# --- unknown members -----------------------------------------------------------------


def test_an_unknown_member_of_a_body_is_named_with_the_allowed_ones(ops):
    response = ops.post("/api/v1/subjects/", {"external_ref": "E/2", "profile": PROFILE, "profil": {}})

    [error] = problem(response, 422, VALIDATION_ERROR)["errors"]
    assert error["pointer"] == "/profil"
    assert error["detail"] == "Unknown member 'profil'. Allowed here: external_ref, profile."


def test_an_unknown_profile_member_is_named_at_its_pointer_with_the_allowed_names(ops):
    profile = {**PROFILE, "nickname": "Ania", "person": {**PROFILE["person"], "maiden_name": "X"}}

    response = ops.post("/api/v1/subjects/", {"external_ref": "E/3", "profile": profile})

    details = {e["pointer"]: e["detail"] for e in problem(response, 422, VALIDATION_ERROR)["errors"]}
    assert set(details) == {"/profile/nickname", "/profile/person/maiden_name"}
    assert "unknown member 'nickname'" in details["/profile/nickname"]
    assert lists_every(details["/profile/nickname"], ["person", "contact", "safe_contact", "languages"])
    assert lists_every(details["/profile/person/maiden_name"], ["given_name", "family_name", "birth_date", "pesel"])


def test_an_unknown_member_at_the_top_of_a_referral_payload_is_named_at_its_own_pointer(ops, shelter, subject_id):
    response = ops.post("/api/v1/referrals/", {
        "subject": subject_id, "to_agency": str(shelter.agency.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": {"summary": "A room.", "favourite_colour": "blue"},
        "withhold_categories": list(codes(DATA_CATEGORIES)),
    })

    [error] = problem(response, 422, VALIDATION_ERROR)["errors"]
    assert error["pointer"] == "/payload/favourite_colour"
    assert "unknown member 'favourite_colour'" in error["detail"]
    assert lists_every(error["detail"], ["summary", "risk", "health", "needs", "pets"])


# --- choices, in one language -------------------------------------------------------------


@pytest.mark.parametrize(("language", "answered_in"), [
    ("pl", "pl"), ("en", "en"), ("pl-PL,pl;q=0.9,en;q=0.5", "pl"), ("de, en;q=0.5", "en"), (None, "en"),
])
def test_an_invalid_choice_lists_the_allowed_values_in_one_language(ops, language, answered_in):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = ops.post(f"/api/v1/referrals/{'0' * 8}-0000-0000-0000-{'0' * 12}/transition", {"status": "done"},
                        HTTP_IF_MATCH="*", **headers)

    body = problem(response, 422, VALIDATION_ERROR)
    [error] = body["errors"]
    assert error["pointer"] == "/status"
    allowed = ", ".join(STATUSES)
    assert error["detail"] == {
        "en": f'"done" is not a valid choice. One of: {allowed}.',
        "pl": f"„done” nie jest dozwoloną wartością. Jedna z wartości: {allowed}.",
    }[answered_in]
    assert body["title"] == {"en": "The request is not valid.", "pl": "Żądanie jest nieprawidłowe."}[answered_in]
    assert response["Content-Language"] == answered_in


def test_unknown_codes_in_a_consent_are_listed_with_the_allowed_ones(ops, shelter, subject_id):
    body = {
        "recipients": {"agencies": [str(shelter.agency.id)], "agency_kinds": ["spa"]},
        "categories": ["horoscope"], "purposes": ["curiosity"], "form": "oral", "grantor": "neighbour",
    }
    url = f"/api/v1/subjects/{subject_id}/consents/"

    form = {e["pointer"]: e["detail"] for e in problem(ops.post(url, body), 422, "invalid_provision")["errors"]}
    terms = ops.post(url, {**body, "form": "verbal_witnessed", "grantor": "subject"})
    details = {e["pointer"]: e["detail"] for e in problem(terms, 422, "invalid_provision")["errors"]}

    assert lists_every(form["/form"], ["written", "electronic", "verbal_witnessed"])
    assert lists_every(form["/grantor"], ["subject", "legal_guardian", "court"])
    assert details["/categories/0"].startswith("Unknown code 'horoscope'. One of: ")
    assert lists_every(details["/categories/0"], codes(DATA_CATEGORIES))
    assert lists_every(details["/purposes/0"], codes(PURPOSES))
    assert lists_every(details["/recipients/agency_kinds/0"], ["ops", "pcpr", "ngo", "shelter"])


def test_an_unknown_event_type_is_listed_with_the_allowed_ones(party):
    hooks = party("NGO Haki", "ngo", scopes=["webhooks:manage"])

    response = hooks.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9/h", "events": ["referal.typo"]})

    [error] = problem(response, 422, "unknown_event_type")["errors"]
    assert error["pointer"] == "/events/0"
    assert "'referal.typo'" in error["detail"] and lists_every(error["detail"], codes(EVENT_TYPES))


# --- purpose ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "said"), [({}, "Missing purpose."), ({"purpose": "curiosity"}, "Unknown purpose 'curiosity'.")])
def test_a_missing_or_unknown_purpose_is_named_with_the_allowed_ones(ops, shelter, subject_id, params, said):
    consent(ops, subject_id, {"agencies": [str(shelter.agency.id)]}, ["identity"])
    response = shelter.get(f"/api/v1/subjects/{subject_id}", **params)

    body = problem(response, 422, "unknown_purpose")
    [error] = body["errors"]
    assert error["parameter"] == "purpose"
    assert error["detail"] == f"{said} One of: {', '.join(codes(PURPOSES))}."
    assert "None" not in response.content.decode()


# --- 401: which token problem -------------------------------------------------------------


def test_no_token_says_how_to_send_one(client, db):
    response = client.get(ME)

    body = problem(response, 401, NOT_AUTHENTICATED)
    assert "Authorization: Bearer" in body["detail"] and "/o/token/" in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_told_apart_from_a_missing_one(client, db):
    response = client.get(ME, **bearer("not-a-token-we-issued"))

    body = problem(response, 401, AUTHENTICATION_FAILED)
    assert "not known" in body["detail"] and "mistyped" in body["detail"]  # a revoked one says so (test_oauth_client_credentials)
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_an_expired_token_says_it_expired(client, agency_token):
    _, token = agency_token()
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))  # time passes

    response = client.get(ME, **bearer(token))

    body = problem(response, 401, AUTHENTICATION_FAILED)
    assert body["detail"] == "The access token has expired: get a new one at /o/token/."
    assert "has expired" in response["WWW-Authenticate"]


def test_a_revoked_token_is_unknown_from_then_on(client, make_agency, make_client, obtain_token):
    application, secret = make_client(make_agency())
    token = obtain_token(application, secret)
    client.post("/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret))

    body = problem(client.get(ME, **bearer(token)), 401, AUTHENTICATION_FAILED)
    assert "revoked" in body["detail"]
    assert TOKEN_URL in body["detail"]
