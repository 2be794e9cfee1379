"""Issue 15, item 7a: a NUL character or a lone surrogate in a JSON string was a
500 (PostgreSQL's jsonb refuses NUL and its error quoted the profile into the
log; a lone surrogate crashed the schema registry's size check) or, on SQLite,
stored. Now it is a 422 problem naming each string by its JSON pointer, never
by its value, and nothing is written. These run on SQLite and PostgreSQL."""

import json
import uuid

import pytest

from agencies.callers import Caller
from agencies.models import OutboxEvent
from consent_ledger.models import LedgerEntry, Subject
from consent_ledger.services import subject_create
from hub.api.errors import PROBLEM_CONTENT_TYPE, ValidationFailed
from hub.api.parsers import LONE_SURROGATE, NUL_CHARACTER, UNSUPPORTED_CHARACTER
from referrals.models import Referral
from schemas.registry import UNSUPPORTED_CHARACTER as REGISTRY_UNSUPPORTED_CHARACTER
from tests.conftest import ALL_SCOPES, bearer

GIVEN_NAME = "Zofia-Kowalczyk-7731"
CODEWORD = "bociankalina-4411"


@pytest.fixture
def ops(agency_token):
    return agency_token(scopes=ALL_SCOPES, name="MOPS Wrocław")


def post_json(client, token, path, text: str):
    """`text` is sent as is: json.dumps escapes NUL as \\u0000 and a lone surrogate as \\ud800."""
    return client.post(path, text, content_type="application/json", **bearer(token))


def written() -> dict:
    return {
        model.__name__: model.objects.count() for model in (Subject, LedgerEntry, Referral, OutboxEvent)
    }


def assert_refused(response, expected_errors: set[tuple[str, str]]):
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == UNSUPPORTED_CHARACTER
    assert {(error["pointer"], error["code"]) for error in body["errors"]} == expected_errors
    # The refusal names where, never what: the value may be her name.
    assert GIVEN_NAME not in response.content.decode() and CODEWORD not in response.content.decode()


@pytest.mark.parametrize(
    ("character", "code"), [("\x00", NUL_CHARACTER), ("\ud800", LONE_SURROGATE)], ids=["nul", "lone_surrogate"]
)
def test_a_profile_string_with_nul_or_a_lone_surrogate_is_a_422_naming_its_pointer_and_stores_nothing(
    client, ops, character, code
):
    _, token = ops
    before = written()
    profile = {
        "person": {"given_name": GIVEN_NAME + character, "family_name": "Kowalczyk"},
        "safe_contact": {"channel": "sms", "codeword": character + CODEWORD},
    }

    response = post_json(client, token, "/api/v1/subjects/", json.dumps({"external_ref": "W/1", "profile": profile}))

    assert_refused(response, {("/profile/person/given_name", code), ("/profile/safe_contact/codeword", code)})
    assert written() == before


def test_a_nul_in_a_member_name_is_reported_at_its_object_without_quoting_the_name(client, ops):
    _, token = ops
    before = written()
    profile = {"person": {GIVEN_NAME + "\x00": CODEWORD}}

    response = post_json(client, token, "/api/v1/subjects/", json.dumps({"external_ref": "W/1", "profile": profile}))

    assert_refused(response, {("/profile/person", NUL_CHARACTER)})
    assert written() == before


def test_a_nul_in_a_referral_payload_is_refused_before_the_referral_is_looked_at(client, ops):
    # Every endpoint parses through the same parser: the subject need not exist.
    _, token = ops
    before = written()
    body = {
        "subject": str(uuid.uuid4()), "to_agency": str(uuid.uuid4()), "service": "shelter", "urgency": "routine",
        "purpose": "referral", "payload": {"summary": f"{GIVEN_NAME} \x00 {CODEWORD}"}, "reason": "x",
    }

    response = post_json(client, token, "/api/v1/referrals/", json.dumps(body))

    assert_refused(response, {("/payload/summary", NUL_CHARACTER)})
    assert written() == before


@pytest.mark.parametrize("character", ["\x00", "\ud800"], ids=["nul", "lone_surrogate"])
def test_the_schema_registry_refuses_them_too_when_a_service_is_called_directly(make_agency, make_client, character):
    # Defence in depth: a service handed a document that no parser checked.
    agency = make_agency()
    caller = Caller(agency=agency, application=make_client(agency, ["subjects:write"])[0])
    before = written()

    with pytest.raises(ValidationFailed) as refused:
        subject_create(caller=caller, external_ref="W/2", profile={"person": {"given_name": GIVEN_NAME + character}})

    assert [error["pointer"] for error in refused.value.errors] == ["/profile/person/given_name"]
    assert GIVEN_NAME not in str(refused.value.errors)
    assert written() == before


def test_the_registry_names_a_bad_member_name_by_its_objects_pointer():
    from schemas.registry import get_registry

    problems = get_registry().validate("subject", {"safe_contact": {CODEWORD + "\ud800": "x"}})

    assert [(p.pointer, p.code) for p in problems] == [("/safe_contact", REGISTRY_UNSUPPORTED_CHARACTER)]
    assert CODEWORD not in problems[0].detail
