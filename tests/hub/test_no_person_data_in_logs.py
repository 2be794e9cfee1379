"""Issue 15, item 7: no log line ever carries request data.

A recognisable person (her given name, her safe-contact code word) is sent
through every API operation of the OpenAPI schema, and the OAuth endpoints,
with every malformation that used to crash or be logged: NUL in a string, a
lone surrogate, NUL in a member name, a malformed query string, NUL in a query
parameter, an oversized body, deeply nested JSON, invalid JSON, a wrong content
type, a method the path does not take, an unknown path carrying her data.

Each answer must be the expected 4xx problem+json (never a 500) that does not
echo her data, nothing may be written, and neither the records that reach
the root logger (caplog, at DEBUG), nor what the handlers of settings.LOGGING
print, nor an e-mail to ADMINS may contain her data. Runs on SQLite and
PostgreSQL (where NUL used to reach jsonb)."""

import io
import json
import logging
import uuid
from urllib.parse import quote, urlencode

import pytest
import yaml
from django.apps import apps
from django.conf import settings as django_settings
from django.test import Client

from agencies.models import OutboxEvent
from consent_ledger.models import LedgerEntry, Subject
from hub.api.errors import (
    MALFORMED_REQUEST,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PROBLEM_CONTENT_TYPE,
    SERVER_ERROR,
    UNSUPPORTED_MEDIA_TYPE,
)
from hub.api.limits import PAYLOAD_TOO_LARGE
from hub.api.parsers import UNSUPPORTED_CHARACTER
from referrals.models import Referral
from tests.conftest import basic_auth, bearer
from tests.staff import verified_login  # password and second factor (DESIGN.md 7)

GIVEN_NAME = "Zofia-Kowalczyk-7731"
CODEWORD = "bociankalina-4411"
PERSON = (GIVEN_NAME, CODEWORD)
BODY_LIMIT = 64 * 1024
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ANY_ID = str(uuid.uuid4())
OAUTH_ENDPOINTS = ("/o/token/", "/o/revoke_token/", "/o/introspect/", "/o/authorize/")


def person_document(taint: str = "") -> dict:
    """Her data in the members the endpoints read (profile, payload, reason, ...),
    each string followed by `taint`."""
    name, word = GIVEN_NAME + taint, CODEWORD + taint
    return {
        "external_ref": name,
        "profile": {"person": {"given_name": name}, "safe_contact": {"channel": "sms", "codeword": word}},
        "payload": {"summary": name, "risk": {"level": "high", "notes": word}},
        "reason": name, "justification": word, "text": name, "url": f"https://example.org/{word}",
        "status": "received", "purpose": "referral", "categories": ["identity"],
    }


# --- the API's operations, from its published schema ---------------------------


@pytest.fixture(scope="module")
def operations(django_db_blocker) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in /api/schema/, ids filled in."""
    with django_db_blocker.unblock():
        spec = yaml.safe_load(Client().get("/api/schema/").content)
    found = [
        (method.upper(), _filled(path)) for path, item in spec["paths"].items() for method in item
        if method.upper() in METHODS
    ]
    # The contract's endpoints are all there (DESIGN.md 6.1): the test cannot pass by testing nothing.
    paths = {path.split("/")[3] for _, path in found}
    assert {"subjects", "consents", "refusals", "legal-bases", "disclosure-decisions", "referrals",
            "webhook-endpoints", "notices", "events", "agencies"} <= paths, paths
    return found


def _filled(path: str) -> str:
    # Malformed requests are refused before any object is looked up, so any id does.
    return path.replace("{name}", "subject").format_map(_AnyId())


class _AnyId(dict):
    def __missing__(self, key):
        return ANY_ID


def body_operations(operations):
    return [(method, path) for method, path in operations if method != "GET"]


# --- what a request may leave behind ------------------------------------------


@pytest.fixture
def token(make_agency, make_client, obtain_token):
    """Every scope there is, so that nothing but the malformation is refused."""
    scopes = list(django_settings.OAUTH2_PROVIDER["SCOPES"])
    application, secret = make_client(make_agency(name="MOPS Wrocław"), scopes)
    return obtain_token(application, secret)


@pytest.fixture
def oauth_client(client, make_agency, make_client, make_user):
    """A client's Basic credentials, and `client` logged in as a caseworker
    (/o/authorize/ acts for a logged-in user)."""
    application, secret = make_client(make_agency(name="PCPR Wrocław", kind="pcpr"))
    verified_login(client, make_user(make_agency(name="OPS Oława")))
    return basic_auth(application.client_id, secret)


class Outcome:
    """Every wrong answer, and everything that must stay free of her data:
    records at DEBUG on the root logger, the output of every stream handler
    that settings.LOGGING (and Django's defaults) attached, mail to ADMINS,
    and the row count of every model."""

    def __init__(self, caplog, mailoutbox):
        self.caplog, self.mailoutbox = caplog, mailoutbox
        self.wrong = []
        self.streams = _capture_configured_handlers()
        self.originals = {handler: handler.setStream(stream) for handler, stream in self.streams.items()}
        self.rows_before = _row_counts()

    def check(self, label: str, response, status: int, code: str):
        text = response.content.decode("utf-8", "replace")
        if response.status_code != status or response.get("Content-Type") != PROBLEM_CONTENT_TYPE:
            self.wrong.append(f"{label}: {response.status_code} {response.get('Content-Type')} {text[:200]}")
        elif json.loads(text)["code"] != code:
            self.wrong.append(f"{label}: code {json.loads(text)['code']}, expected {code}")
        elif any(value in text for value in PERSON):
            self.wrong.append(f"{label}: the problem echoes her data: {text[:300]}")

    def assert_refused_without_trace(self):
        assert self.wrong == [], "\n".join(self.wrong)
        assert _row_counts() == self.rows_before
        records = self.caplog.records
        assert records, "no record was captured: the capture is broken"
        logged = [_record_text(record) for record in records]
        logged += [captured.getvalue() for captured in self.streams.values()]
        logged += [message.subject + message.body for message in self.mailoutbox]
        leaks = [text for text in logged if any(value in text for value in PERSON)]
        assert leaks == [], "\n---\n".join(leaks[:5])

    def release(self):
        for handler, original in self.originals.items():
            handler.setStream(original)


@pytest.fixture
def outcome(db, caplog, settings, mailoutbox):
    caplog.set_level(logging.DEBUG)
    settings.ADMINS = [("Operations", "ops@example.org")]  # AdminEmailHandler sends, to mailoutbox
    settings.API_MAX_BODY_BYTES = BODY_LIMIT
    result = Outcome(caplog, mailoutbox)
    yield result
    result.release()


def _capture_configured_handlers() -> dict:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and type(handler).__module__ != "_pytest.logging"
    }
    assert handlers, "settings.LOGGING defines no stream handler to capture"
    return {handler: io.StringIO() for handler in handlers}


def _record_text(record: logging.LogRecord) -> str:
    # The message, the traceback as any formatter would print it, and every
    # attribute a formatter or handler could use (args, request, extra...).
    formatted = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
    return formatted + repr(vars(record))


def _row_counts() -> dict:
    counts = {model._meta.label: model.objects.count() for model in apps.get_models()}
    for model in (LedgerEntry, Subject, Referral, OutboxEvent):  # named in the issue
        assert model._meta.label in counts
    return counts


def send(client, method, path, body: str | bytes = "", content_type="application/json", **extra):
    return client.generic(method, path, body, content_type=content_type, **extra)


# --- the malformations ------------------------------------------------------------

BODY_MALFORMATIONS = {
    # name: (body, content type, status, code)
    "nul_in_a_string": (json.dumps(person_document("\x00")), "application/json", 422, UNSUPPORTED_CHARACTER),
    "lone_surrogate": (json.dumps(person_document("\ud800")), "application/json", 422, UNSUPPORTED_CHARACTER),
    "nul_in_a_member_name": (
        json.dumps({GIVEN_NAME + "\x00": CODEWORD, "profile": {CODEWORD + "\x00": GIVEN_NAME}}),
        "application/json", 422, UNSUPPORTED_CHARACTER,
    ),
    "oversized": (
        json.dumps({**person_document(), "notes": [GIVEN_NAME, CODEWORD] * (BODY_LIMIT // 20)}),
        "application/json", 413, PAYLOAD_TOO_LARGE,
    ),
    "deeply_nested": (
        "[" * 5000 + json.dumps(person_document()) + "]" * 5000, "application/json", 400, MALFORMED_REQUEST,
    ),
    "invalid_json": (json.dumps(person_document())[:-1], "application/json", 400, MALFORMED_REQUEST),
    "wrong_content_type": (
        urlencode({"given_name": GIVEN_NAME, "codeword": CODEWORD}),
        "application/x-www-form-urlencoded", 415, UNSUPPORTED_MEDIA_TYPE,
    ),
}


@pytest.mark.parametrize("malformation", list(BODY_MALFORMATIONS))
def test_a_malformed_body_to_any_operation_is_refused_and_her_data_stays_out_of_the_logs(
    client, token, operations, outcome, malformation
):
    body, content_type, status, code = BODY_MALFORMATIONS[malformation]
    for method, path in body_operations(operations):
        response = send(client, method, path, body, content_type, **bearer(token))
        outcome.check(f"{method} {path} {malformation}", response, status, code)

    outcome.assert_refused_without_trace()


QUERY_MALFORMATIONS = {
    "malformed_percent_encoding": f"given_name=%ZZ{GIVEN_NAME}&codeword={CODEWORD}%",
    "nul_in_a_parameter": f"purpose=referral%00{GIVEN_NAME}&codeword={CODEWORD}",
}


@pytest.mark.parametrize("malformation", list(QUERY_MALFORMATIONS))
def test_a_malformed_query_string_to_any_operation_is_a_400_and_stays_out_of_the_logs(
    client, token, operations, outcome, malformation
):
    query = QUERY_MALFORMATIONS[malformation]
    body = json.dumps(person_document())  # well-formed: the query alone is wrong
    for method, path in operations:
        response = send(client, method, f"{path}?{query}", body, **bearer(token))
        outcome.check(f"{method} {path} {malformation}", response, 400, MALFORMED_REQUEST)

    outcome.assert_refused_without_trace()


def test_a_method_an_operation_does_not_take_is_a_405_and_her_data_stays_out_of_the_logs(
    token, operations, outcome
):
    client = Client(enforce_csrf_checks=True)
    taken = {}
    for method, path in operations:
        taken.setdefault(path, set()).add(method)
    for path, methods in taken.items():
        for method in set(METHODS) - methods:
            response = send(client, method, path, json.dumps(person_document()), **bearer(token))
            outcome.check(f"{method} {path}", response, 405, METHOD_NOT_ALLOWED)

    outcome.assert_refused_without_trace()


def test_an_unknown_path_carrying_her_data_is_a_404_and_stays_out_of_the_logs(token, outcome):
    client = Client(enforce_csrf_checks=True)  # API clients send no CSRF token
    paths = [
        f"/api/v1/{quote(GIVEN_NAME)}/{quote(CODEWORD)}", f"/api/v1/subjects/{GIVEN_NAME}",
        f"/api/{CODEWORD}/", f"/o/{GIVEN_NAME}/",
    ]
    for path in paths:
        for method in METHODS:
            body = json.dumps(person_document())
            response = send(client, method, f"{path}?codeword={CODEWORD}", body, **bearer(token))
            outcome.check(f"{method} {path}", response, 404, NOT_FOUND)

    outcome.assert_refused_without_trace()


def test_malformed_requests_to_the_oauth_endpoints_are_refused_and_stay_out_of_the_logs(
    client, oauth_client, outcome
):
    form = {"grant_type": "client_credentials", "token": GIVEN_NAME, "client_id": CODEWORD}
    nul_form = {**form, "token": GIVEN_NAME + "\x00", "client_id": CODEWORD + "\x00"}
    for path in OAUTH_ENDPOINTS:
        response = post_form(client, path, nul_form, oauth_client)
        outcome.check(f"POST {path} nul_in_the_form", response, 400, MALFORMED_REQUEST)
        for malformation, query in QUERY_MALFORMATIONS.items():
            response = post_form(client, f"{path}?{query}", form, oauth_client)
            outcome.check(f"POST {path} {malformation}", response, 400, MALFORMED_REQUEST)
    response = post_form(client, "/o/token/", form, basic_auth(quote(GIVEN_NAME + "\x00"), CODEWORD))
    outcome.check("POST /o/token/ nul_in_basic_credentials", response, 400, MALFORMED_REQUEST)

    outcome.assert_refused_without_trace()


def post_form(client, path, form: dict, authorization: str):
    return send(client, "POST", path, urlencode(form), "application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=authorization)


@pytest.mark.urls("tests.hub.crash_urls")
def test_an_unexpected_error_is_logged_with_its_traceback_but_not_its_message(outcome, caplog):
    client = Client(raise_request_exception=False)  # answer as a server would
    for path in ("/api/v1/crash/", "/o/crash/"):
        response = client.post(path, json.dumps(person_document()), content_type="application/json")
        outcome.check(f"POST {path}", response, 500, SERVER_ERROR)

    outcome.assert_refused_without_trace()  # a 500 writes nothing either
    logged = [_record_text(record) for record in caplog.records]
    # Still worth reading: where it failed and which exceptions, just not what they said.
    assert sum("Traceback" in text and "RuntimeError" in text and "ValueError" in text for text in logged) == 2
