"""One language per API answer, chosen from Accept-Language (issue 16, item 3;
hub/api/language.py): Polish for `pl`, English otherwise. The text for
people is translated; what clients match on (code, type, status, pointers,
parameter and header names, the allowed codes) is the same in both."""

import ast
import gettext
import re
import uuid
from functools import cache
from pathlib import Path

import pytest
import rest_framework
from django.conf import settings
from django.utils import translation
from rest_framework import exceptions as drf_exceptions
from rest_framework import fields as drf_fields
from rest_framework import relations as drf_relations
from rest_framework import serializers as drf_serializers

from hub.api.errors import PROBLEM_CONTENT_TYPE
from hub.api.language import api_language
from schemas.vocabularies import DATA_CATEGORIES, codes
from tests.conftest import basic_auth, bearer
from tests.referrals.conftest import PROFILE

ME = "/api/v1/agencies/me"
REFERRALS = "/api/v1/referrals/"
POLISH = {"HTTP_ACCEPT_LANGUAGE": "pl-PL,pl;q=0.9"}
ROOT = Path(settings.BASE_DIR)


# --- the English we must never see in a Polish answer ----------------------------------------------

_PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{[^}]*\}")


@cache
def english_sentences() -> frozenset[str]:
    """Every English message the API may answer with (ours, the API titles in
    hub/locale, DRF's), cut at its placeholders; fragments of two words or
    more, lower-cased."""
    catalogues = [
        ROOT / "hub/api/locale/pl/LC_MESSAGES/django.mo",
        ROOT / "hub/locale/pl/LC_MESSAGES/django.mo",
        Path(rest_framework.__file__).parent / "locale/pl/LC_MESSAGES/django.mo",
    ]
    fragments = set()
    for path in catalogues:
        with path.open("rb") as mo:
            for key in gettext.GNUTranslations(mo)._catalog:
                msgid = key[0] if isinstance(key, tuple) else key
                msgid = msgid.split("\x04")[-1]  # without its context
                for part in _PLACEHOLDER.split(msgid):
                    part = part.strip(" .,:;\"'„”()")
                    if len(part.split()) >= 2 and len(part) >= 10:
                        fragments.add(part.lower())
    return frozenset(fragments)


def texts(body: dict) -> list[str]:
    return [body["title"], body["detail"], *(e["detail"] for e in body.get("errors", []))]


def english_in(body: dict) -> set[str]:
    words = " ".join(texts(body)).lower()
    return {fragment for fragment in english_sentences() if fragment in words}


def machine_readable(body: dict) -> dict:
    """The problem without its text for people: what a client matches on."""
    rest = {k: v for k, v in body.items() if k not in ("title", "detail", "request_id")}
    if "errors" in rest:
        rest["errors"] = [{k: v for k, v in e.items() if k != "detail"} for e in rest["errors"]]
    return rest


def in_both(send, status: int, code: str) -> tuple[dict, dict]:
    """`send(**headers)` without Accept-Language and with Polish: the two
    problems, checked to be the same problem in two languages."""
    english, polish = send(), send(**POLISH)
    for response, language in ((english, "en"), (polish, "pl")):
        assert response.status_code == status, response.content
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert response["Content-Language"] == language
        assert "accept-language" in response["Vary"].lower()
    english_body, polish_body = english.json(), polish.json()
    assert english_body["code"] == code
    assert machine_readable(polish_body) == machine_readable(english_body)
    assert english_in(english_body), "the detector knows these English messages"
    assert not english_in(polish_body), english_in(polish_body)
    assert polish_body["detail"] != english_body["detail"]
    for english_error, polish_error in zip(english_body.get("errors", []), polish_body.get("errors", []), strict=True):
        assert polish_error["detail"] != english_error["detail"]
    return english_body, polish_body


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def ops(party):
    return party("MOPS Języki", "ops")


@pytest.fixture
def shelter(party):
    return party("Schronisko Języki", "shelter")


@pytest.fixture
def subject_id(ops):
    created = ops.post("/api/v1/subjects/", {"external_ref": "J/1", "profile": PROFILE})
    assert created.status_code == 201, created.content
    return created.json()["id"]


def get(party, path, params=None, **headers):
    return party.client.get(path, params or {}, **bearer(party.token), **headers)


# --- how the language is chosen --------------------------------------------------------------------


@pytest.mark.parametrize(("header", "language"), [
    ("", "en"),
    ("pl", "pl"),
    ("PL", "pl"),
    ("pl-PL,pl;q=0.9", "pl"),
    ("en-US,en;q=0.9,pl;q=0.8", "en"),
    ("de-DE,pl;q=0.5", "pl"),  # the first language the hub speaks
    ("fr, de;q=0.5", "en"),  # none it speaks: the API's default
    ("pl;q=0, en", "en"),  # q=0: not acceptable
    ("*", "en"),
    ("not a language header !!", "en"),
])
def test_the_language_is_the_first_the_header_prefers_that_the_hub_speaks(header, language):
    assert api_language(header) == language


def test_the_same_refusal_is_english_without_the_header_and_polish_with_it(client, db):
    english, polish = in_both(lambda **headers: client.get(ME, **headers), 401, "not_authenticated")

    assert english["title"] == "Authentication is required."
    assert polish["title"] == "Wymagane jest uwierzytelnienie."
    assert polish["detail"].startswith("Brak tokenu dostępu: wyślij nagłówek Authorization: Bearer <token>")


def test_an_answer_that_is_not_an_error_says_its_language_too(ops):
    response = get(ops, ME, **POLISH)

    assert response.status_code == 200
    assert response["Content-Language"] == "pl"
    assert "accept-language" in response["Vary"].lower()


def test_the_language_cookie_and_lang_do_not_change_the_api(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    english = client.get(ME, {"lang": "pl"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    polish = client.get(ME, {"lang": "en"}, **POLISH)

    assert (english["Content-Language"], english.json()["title"]) == ("en", "Authentication is required.")
    assert (polish["Content-Language"], polish.json()["title"]) == ("pl", "Wymagane jest uwierzytelnienie.")


def test_the_language_does_not_outlive_the_request(client, db):
    with translation.override("en"):
        client.get(ME, **POLISH)
        assert translation.get_language() == "en"


# --- DRF-level errors ---------------------------------------------------------------------------------


def test_an_unknown_filter_value_is_polish_with_the_same_allowed_values(ops):
    english, polish = in_both(lambda **h: get(ops, REFERRALS, {"box": "everything"}, **h), 422, "validation_error")

    assert polish["detail"] == "Nieznana wartość parametru box."
    assert polish["errors"] == [{"parameter": "box", "detail": "Jedna z wartości: inbox, outbox"}]
    assert english["errors"][0]["detail"] == "One of: inbox, outbox"


def test_a_missing_required_field_is_polish(ops):
    english, polish = in_both(
        lambda **h: ops.post("/api/v1/subjects/", {"profile": PROFILE}, **h), 422, "validation_error"
    )

    assert [e["pointer"] for e in polish["errors"]] == ["/external_ref"]
    assert polish["errors"][0]["detail"] == "To pole jest wymagane."
    assert english["errors"][0]["detail"] == "This field is required."


def test_an_unknown_member_of_a_body_is_polish_and_named(ops):
    _, polish = in_both(
        lambda **h: ops.post("/api/v1/subjects/", {"external_ref": "J/2", "profile": PROFILE, "profil": {}}, **h),
        422, "validation_error",
    )

    assert polish["errors"][0]["detail"] == "Nieznane pole 'profil'. Dozwolone w tym miejscu: external_ref, profile."


def test_an_invalid_choice_is_polish_with_the_codes_untranslated(ops):
    url = f"{REFERRALS}{uuid.uuid4()}/transition"
    _, polish = in_both(lambda **h: ops.post(url, {"status": "done"}, HTTP_IF_MATCH="*", **h), 422, "validation_error")

    assert polish["errors"][0]["detail"].startswith("„done” nie jest dozwoloną wartością. Jedna z wartości: requested, ")


def test_unparseable_json_is_polish_and_says_where(ops):
    def send(**headers):
        return ops.client.post(REFERRALS, "{\"subject\": ", content_type="application/json", **bearer(ops.token), **headers)

    english, polish = in_both(send, 400, "malformed_request")

    assert english["detail"] == "JSON parse error at line 1, column 13."
    assert polish["detail"] == "Błąd składni JSON w wierszu 1, kolumnie 13."


def test_a_method_not_allowed_is_polish(ops):
    in_both(lambda **h: ops.post(ME, {}, **h), 405, "method_not_allowed")


# --- service-level errors -------------------------------------------------------------------------------


def test_a_consent_with_unknown_codes_is_polish_with_the_same_codes(ops, shelter, subject_id):
    body = {
        "recipients": {"agencies": [str(shelter.agency.id)]}, "categories": ["horoscope"], "purposes": ["referral"],
        "form": "verbal_witnessed", "grantor": "subject",
    }
    english, polish = in_both(
        lambda **h: ops.post(f"/api/v1/subjects/{subject_id}/consents/", body, **h), 422, "invalid_provision"
    )

    allowed = ", ".join(codes(DATA_CATEGORIES))
    assert polish["errors"] == [{"pointer": "/categories/0", "detail": f"Nieznany kod 'horoscope'. Jedna z wartości: {allowed}."}]
    assert english["errors"][0]["detail"] == f"Unknown code 'horoscope'. One of: {allowed}."


def test_a_referral_without_a_basis_is_polish_with_the_same_members_and_categories(ops, shelter, subject_id):
    body = {
        "subject": subject_id, "to_agency": str(shelter.agency.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": {"summary": "A room tonight."},
    }
    english, polish = in_both(lambda **h: ops.post(REFERRALS, body, **h), 422, "uncovered_categories")

    assert polish["detail"].startswith("Dla części tych danych brak podstawy do udostępnienia odbiorcy")
    assert {e["pointer"] for e in polish["errors"]} >= {"/payload/summary", "/subject/profile/person"}
    summary = next(e for e in polish["errors"] if e["pointer"] == "/payload/summary")
    assert summary["detail"] == "Brak podstawy do udostępnienia case_notes odbiorcy w celu referral."


# --- schema validation inside a payload -----------------------------------------------------------------


def test_an_unknown_profile_member_is_polish_and_lists_the_allowed_names(ops):
    profile = {**PROFILE, "nickname": "Ania"}
    _, polish = in_both(
        lambda **h: ops.post("/api/v1/subjects/", {"external_ref": "J/3", "profile": profile}, **h),
        422, "validation_error",
    )

    [error] = polish["errors"]
    assert error["pointer"] == "/profile/nickname"
    assert error["detail"].startswith("pole niedozwolone w tym miejscu: nieznane pole 'nickname'. Dozwolone: ")
    assert all(name in error["detail"] for name in ("person", "contact", "safe_contact", "languages"))


def test_a_value_outside_an_enum_is_polish_with_the_allowed_values(ops, shelter, subject_id):
    body = {
        "subject": subject_id, "to_agency": str(shelter.agency.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": {"summary": "A room.", "risk": {"level": "extreme"}},
    }
    english, polish = in_both(lambda **h: ops.post(REFERRALS, body, **h), 422, "validation_error")

    assert polish["errors"] == [{
        "pointer": "/payload/risk/level",
        "detail": 'wartość musi być jedną z wartości: "low", "medium", "high", "critical"',
    }]
    assert english["errors"][0]["detail"] == 'must be one of: "low", "medium", "high", "critical"'


def test_a_wrong_type_a_missing_member_a_length_and_a_pesel_are_polish(ops):
    profile = {
        **PROFILE, "person": {"given_name": "A" * 101, "pesel": "44051401358"}, "languages": "pl",
        "safe_contact": {"channel": "sms", "safe_hours": [{"days": ["mon"], "from": "08:00"}]},
    }
    _, polish = in_both(
        lambda **h: ops.post("/api/v1/subjects/", {"external_ref": "J/4", "profile": profile}, **h),
        422, "validation_error",
    )

    assert {e["pointer"]: e["detail"] for e in polish["errors"]} == {
        "/profile/safe_contact/safe_hours/0/to": "to pole jest wymagane",
        "/profile/languages": "wartość musi być tablicą",
        "/profile/person/given_name": "wartość może mieć najwyżej 100 znaków",
        "/profile/person/pesel": "wartość musi być poprawnym numerem PESEL: ten ma błędną cyfrę kontrolną",
    }


# --- 401, 404, 428 -------------------------------------------------------------------------------------


def test_an_unknown_token_is_polish(client, db):
    _, polish = in_both(
        lambda **h: client.get(ME, **bearer("not-a-token-we-issued"), **h), 401, "authentication_failed"
    )

    assert polish["detail"].startswith("Nieznany token dostępu")


def test_a_revoked_token_is_polish(client, make_agency, make_client, obtain_token):
    application, secret = make_client(make_agency())
    token = obtain_token(application, secret)
    client.post("/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(application.client_id, secret))

    _, polish = in_both(lambda **h: client.get(ME, **bearer(token), **h), 401, "authentication_failed")

    assert polish["detail"] == "Token dostępu został unieważniony: pobierz nowy z /o/token/."


def test_an_object_that_is_not_there_is_polish(ops):
    _, polish = in_both(lambda **h: get(ops, f"{REFERRALS}{uuid.uuid4()}", **h), 404, "not_found")

    assert polish["detail"] == "Nie ma takiego skierowania."


def test_a_url_that_is_not_there_is_polish(ops):
    _, polish = in_both(lambda **h: get(ops, "/api/v1/nothing-here/", **h), 404, "not_found")

    assert polish["detail"] == "Pod tym adresem nie ma zasobu."


def test_a_change_without_if_match_is_polish(ops):
    url = f"{REFERRALS}{uuid.uuid4()}/transition"
    _, polish = in_both(
        lambda **h: ops.post(url, {"status": "received"}, HTTP_IF_MATCH=None, **h), 428, "precondition_required"
    )

    assert polish["detail"].startswith("Ta zmiana wymaga nagłówka If-Match: wyślij ETag skierowania")
    assert polish["errors"][0]["header"] == "If-Match"


def test_a_missing_scope_is_polish_with_the_same_scopes(party):
    reader = party("NGO Zakresy", "ngo", scopes=["agencies:read"])
    english, polish = in_both(lambda **h: get(reader, REFERRALS, **h), 403, "insufficient_scope")

    assert polish["required_scopes"] == english["required_scopes"] == ["referrals:read"]
    assert polish["detail"] == "Ten punkt API wymaga zakresów: referrals:read."


def test_an_unacceptable_accept_and_an_unsupported_body_are_polish(ops):
    _, not_acceptable = in_both(lambda **h: get(ops, ME, HTTP_ACCEPT="application/xml", **h), 406, "not_acceptable")
    _, unsupported = in_both(
        lambda **h: ops.client.post(
            REFERRALS, "a=b", content_type="application/x-www-form-urlencoded", **bearer(ops.token), **h
        ),
        415, "unsupported_media_type",
    )

    assert not_acceptable["detail"] == "Nie można odpowiedzieć w formacie dopuszczonym przez nagłówek Accept."
    assert unsupported["detail"] == "Nieobsługiwany typ treści żądania: „application/x-www-form-urlencoded”."


def test_too_many_requests_is_polish(ops, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"application": "1/minute"}}
    get(ops, ME)

    _, polish = in_both(lambda **h: get(ops, ME, **h), 429, "throttled")

    assert re.fullmatch(r"Zbyt wiele żądań\. Spróbuj ponownie za \d+ sekund[ay]?\.", polish["detail"])


def test_an_oversized_body_is_polish(ops, settings):
    settings.API_MAX_BODY_BYTES = 100
    _, polish = in_both(lambda **h: ops.post(REFERRALS, {"reason": "x" * 200}, **h), 413, "payload_too_large")

    assert polish["title"] == "Treść żądania jest za duża."
    assert polish["detail"].endswith("limit to 100 B.")


# --- every message has its Polish ---------------------------------------------------------------------

# The modules that compose what the API answers; pages have their own catalogues.
API_PACKAGES = ("agencies", "consent_ledger", "referrals", "schemas", "hub/api")
PAGE_MODULE = re.compile(
    r"(^|/)(pages|page_forms|page_labels|page_urls|journey|journey_views|forms|presentation|consent_pages"
    r"|subject_views)\.py$|^(consent_ledger|referrals|referrals/plans|referrals/placements)/views\.py$"
    r"|/(migrations|management)/"
)
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
# Messages that read the same in Polish (none yet): add one here only with a reason.
SAME_IN_POLISH: set[str] = set()


def api_modules() -> list[Path]:
    modules = [path for package in API_PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    return [path for path in modules if not PAGE_MODULE.search(path.relative_to(ROOT).as_posix())]


def gettext_calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT:
            yield node


def test_every_api_message_has_a_polish_translation():
    untranslated, found = [], 0
    with translation.override("pl"):
        for path in api_modules():
            for call in gettext_calls(path):
                name, args = call.func.id, [a.value for a in call.args if isinstance(a, ast.Constant)]
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                found += 1
                if name.startswith("ngettext"):
                    singular, plural = args[:2]
                    if translation.ngettext(singular, plural, 1) == singular or translation.ngettext(singular, plural, 5) == plural:
                        untranslated.append((where, singular))
                elif name.startswith("pgettext"):
                    context, message = args[:2]
                    if translation.pgettext(context, message) == message and message not in SAME_IN_POLISH:
                        untranslated.append((where, message))
                elif translation.gettext(args[0]) == args[0] and args[0] not in SAME_IN_POLISH:
                    untranslated.append((where, args[0]))
    assert found > 300  # the walk finds the messages
    assert untranslated == []


def test_messages_are_literals_with_named_placeholders():
    """xgettext and translators see the message: never an f-string or a
    variable inside _(), and placeholders are named (%(name)s), since Polish
    may need them in another order."""
    wrong = []
    for path in api_modules():
        for call in gettext_calls(path):
            literals = [a for a in call.args[:3] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            expected = 2 if call.func.id.startswith(("ngettext", "pgettext")) else 1
            if len(literals) < expected or any(re.search(r"%[sd]", a.value) for a in literals):
                wrong.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert wrong == []


def test_drf_messages_have_a_polish_translation():
    """DRF's own field and exception messages reach the API as they are."""
    messages = set()
    for module in (drf_fields, drf_serializers, drf_relations):
        for field in vars(module).values():
            for message in getattr(field, "default_error_messages", {}).values():
                messages.add(message._args[0])
    for exception in vars(drf_exceptions).values():
        detail = getattr(exception, "default_detail", None)
        if hasattr(detail, "_args"):
            messages.add(detail._args[0])
    with translation.override("pl"):
        assert sorted(m for m in messages if translation.gettext(m) == m) == []
