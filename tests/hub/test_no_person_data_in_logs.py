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
PostgreSQL (where NUL used to reach jsonb).

Issue 13, item 4: the same holds when the data is well-formed. A second person
(a distinctive profile, referral payload and reason, case update, plan goal,
action and review, check-in notes, emergency justification, revocation reason)
goes through every operation of the schema as it should (201, 200), and
refused (422, 404, 409), and through the referral page's forms; every record
is formatted at once by both formatters of settings.LOGGING (plain and JSON),
through the console handler's filters, and no line may hold any of her
values. Every line carries the request id, agency id and client id."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import yaml
from django.apps import apps
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path as url_path
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework.response import Response
from rest_framework.views import APIView

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
from hub.urls import urlpatterns as hub_urlpatterns
from referrals.models import Referral
from tests.api_contract import world as contract_world
from tests.conftest import CONDITIONAL_CHANGE, basic_auth, bearer
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


# --- issue 13: her data well-formed, through every operation and the pages -----------

PERSON_PROFILE = {
    "person": {"given_name": "Eustachyna", "family_name": "Qwiatkowska-Brzeczyk", "birth_date": "1979-03-14"},
    "contact": {"phone": "+48 601 927 384", "email": "eustachyna.qx71@example.org"},
    "safe_contact": {"channel": "sms", "codeword": "jaskier-zielony-5829"},
}
PERSON_PAYLOAD = {
    "summary": "Sleeps in the car behind Makowa 17 with her twins",
    "risk": {"level": "high", "notes": "Her partner Zbyszko broke her arm in March"},
}
EXTERNAL_REF = "QX/5521/2026"
REFERRAL_REASON = "Zbyszko found her at the Lipowa shelter last night"
CASE_UPDATE = "Called her at the Lipowa safe flat, she sounded scared"
TRANSITION_REASON = "She went back to Zbyszko on Sunday"
PLAN_GOAL = "A flat of her own away from Zbyszko by June"
ACTION_TITLE = "Escort her to the Lipowa court hearing"
REVIEW_SUMMARY = "Slept at Lipowa for a week without incident"
CHECK_IN_NOTES = "Cried at the Hotel Zdrojowy reception desk twice"
JUSTIFICATION = "Zbyszko is outside the Lipowa flat with a knife"
REVOKE_REASON = "Moved in with her sister in Opole Zaodrze"
PAGE_NOTE = "Her daughter Kalinka starts at school no 64 on Monday"
BLUE_CARD_PLAN = "Kalinka stays with the grandmother in Brochow until the hearing"
HER_VALUES = (
    "Eustachyna", "Qwiatkowska-Brzeczyk", "1979-03-14", "+48 601 927 384", "eustachyna.qx71@example.org",
    "jaskier-zielony-5829", PERSON_PAYLOAD["summary"], PERSON_PAYLOAD["risk"]["notes"], EXTERNAL_REF,
    REFERRAL_REASON, CASE_UPDATE, TRANSITION_REASON, PLAN_GOAL, ACTION_TITLE, REVIEW_SUMMARY, CHECK_IN_NOTES,
    JUSTIFICATION, REVOKE_REASON, PAGE_NOTE, BLUE_CARD_PLAN,
)
# settings.LOGGING keeps these at INFO whatever LOG_LEVEL says (at DEBUG: SQL
# parameters, tokens): a policy the test keeps, not a level it may lower.
PINNED_LOGGERS = ("django.db.backends", "oauthlib", "oauth2_provider")


class LogLines(logging.Handler):
    """Every record, formatted as it is written by each formatter of
    settings.LOGGING (plain and JSON), after the console handler's filters
    (the request context, the redaction of request data)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        console = next(handler for handler in logging.getLogger().handlers if handler.name == "console")
        self.filters = list(console.filters)
        formats = django_settings.LOGGING["formatters"]
        self.formatters = {
            "plain": logging.Formatter(formats["plain"]["format"]),
            "json": import_string(formats["json"]["()"])(),
        }
        self.lines = {name: [] for name in self.formatters}

    def emit(self, record):
        for name, formatter in self.formatters.items():
            self.lines[name].append(formatter.format(record))

    def every_line(self) -> list[str]:
        return [line for lines in self.lines.values() for line in lines]

    def json_objects(self) -> list[dict]:
        return [json.loads(line) for line in self.lines["json"]]


@pytest.fixture
def log_lines():
    """LogLines on the root logger and on every logger that does not
    propagate to it (runserver's); every logger at DEBUG but PINNED_LOGGERS."""
    handler, root = LogLines(), logging.getLogger()
    names = [*logging.root.manager.loggerDict, "hub", "agencies", "consent_ledger", "referrals", "schemas", "celery"]
    loggers = [root, *(logging.getLogger(name) for name in names)]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        if not logger.name.startswith(PINNED_LOGGERS):
            logger.setLevel(logging.DEBUG)
    attached = [logger for logger in set(loggers) if logger is root or not logger.propagate]
    for logger in attached:
        logger.addHandler(handler)
    yield handler
    for logger in attached:
        logger.removeHandler(handler)
    for logger, level in levels.items():
        logger.setLevel(level)


def her_values_in(lines: list[str]) -> list[str]:
    return [line for line in lines if any(value in line for value in HER_VALUES)]


@pytest.fixture
def her_world(party, monkeypatch, log_lines):
    """The API contract's world (tests/api_contract/world.py: one object for
    each id the API takes), built through the API around her profile and her
    referral's payload; the building is logged too."""
    monkeypatch.setattr(contract_world, "PROFILE", PERSON_PROFILE)
    monkeypatch.setattr(contract_world, "PAYLOAD", PERSON_PAYLOAD)
    return contract_world.build_everything(party, "Logi")


def schema_operations(client) -> list[tuple[str, str, str]]:
    """(operationId, METHOD, path template) of every operation of /api/schema/."""
    spec = yaml.safe_load(client.get("/api/schema/").content)
    return [
        (operation["operationId"], method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method.upper() in METHODS
    ]


# Changes that end something: after every other request, the request to
# erase her record last.
LATE = (
    "referrals_transition_create", "plans_stage_create", "actions_transition_create", "blue_cards_close_create",
    "placements_transition_create", "placements_outcome_create", "consents_revoke_create",
    "refusals_withdraw_create", "legal_bases_end_create", "webhook_endpoints_destroy", "subjects_erasure_create",
)
READ_QUERIES = {
    "subjects_retrieve": {"purpose": "referral"},
    "plans_retrieve": {"purpose": "team_plan"},
    "placements_retrieve": {"purpose": "employment_placement"},
}
# Three kinds of provision share `provision_id` (as in tests/api_contract/adversarial.py).
OBJECT_OF = {"refusals_withdraw_create": {"provision_id": "refusal_id"},
             "legal_bases_end_create": {"provision_id": "basis_id"}}


def her_bodies(world) -> dict:
    """Well-formed bodies carrying her data, by operationId."""
    me, shelter, today = str(world.ops.agency.id), str(world.shelter.agency.id), timezone.localdate()
    return {
        "subjects_create": {"external_ref": EXTERNAL_REF, "profile": PERSON_PROFILE},
        "referrals_create": {
            "subject": world.ids["subject_id"], "to_agency": shelter, "service": "shelter", "urgency": "urgent",
            "purpose": "referral", "payload": PERSON_PAYLOAD, "reason": REFERRAL_REASON,
            "withhold_categories": contract_world.WITHHOLD,
        },
        "referrals_updates_create": {"kind": "note", "payload": {"text": CASE_UPDATE}},
        "referrals_transition_create": {"status": "cancelled", "reason": TRANSITION_REASON},
        "subjects_emergency_disclosures_create": {
            "recipient": shelter, "categories": ["safe_contact"], "justification": JUSTIFICATION,
        },
        "plans_goals_create": {"title": PLAN_GOAL, "indicator": PLAN_GOAL, "baseline": REVIEW_SUMMARY},
        "plans_actions_create": {"agency": me, "title": ACTION_TITLE, "due_on": today.isoformat()},
        "plans_reviews_create": {"kind": "monitoring", "summary": REVIEW_SUMMARY},
        "blue_cards_steps_create": {
            "step": "nkc", "at": timezone.now().isoformat(),
            "content": {"summary": PERSON_PAYLOAD["summary"], "plan": BLUE_CARD_PLAN},
        },
        "placements_check_ins_create": {
            "month": today.strftime("%Y-%m"), "coordinator_notes": CHECK_IN_NOTES, "who5": [3, 3, 3, 3, 3],
        },
        "consents_revoke_create": {"reason": REVOKE_REASON},
        "refusals_withdraw_create": {"reason": REVOKE_REASON},
        "legal_bases_end_create": {"reason": REVOKE_REASON},
        "subjects_erasure_create": {"reason": "subject_request"},
    }


def her_document() -> dict:
    """All of her data in the members the operations read, fitting none of
    them: what a client sends to the wrong operation, or gets wrong."""
    return {
        "external_ref": EXTERNAL_REF, "profile": PERSON_PROFILE, "payload": PERSON_PAYLOAD, "reason": REFERRAL_REASON,
        "text": CASE_UPDATE, "title": PLAN_GOAL, "summary": REVIEW_SUMMARY, "coordinator_notes": CHECK_IN_NOTES,
        "justification": JUSTIFICATION, "status": "completed", "categories": ["identity"], "purpose": "referral",
    }


def call(party, method: str, path: str, body=None, query=None):
    headers = bearer(party.token)
    if CONDITIONAL_CHANGE.search(path):
        headers["HTTP_IF_MATCH"] = "*"  # what a client that read the object sends
    if method == "GET":
        return party.client.get(path, query or {}, **headers)
    return party.client.generic(method, path, json.dumps(body), content_type="application/json", **headers)


def filled(op_id: str, template: str, ids) -> str:
    names = OBJECT_OF.get(op_id, {})
    return template.format_map(_Ids(lambda name: ids[names.get(name, name)]))


class _Ids(dict):
    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup

    def __missing__(self, key):
        return self.lookup(key)


def through_operations(world, operations) -> dict:
    """Each operation as the MOPS: on objects that are not there (404 where
    the body is valid), refused (her data where it does not fit: mostly 422)
    and answered (her data well-formed). Statuses by (operationId, kind)."""
    bodies, answers = her_bodies(world), {}
    for op_id, method, template in operations:
        query, body = READ_QUERIES.get(op_id), bodies.get(op_id, her_document())
        path = filled(op_id, template, world.ids)
        if "{" in template:
            answers[op_id, "missing"] = call(world.ops, method, filled(op_id, template, _AnyId()), body, query).status_code
        if method != "GET":
            answers[op_id, "refused"] = call(world.ops, method, path, her_document()).status_code
        answers[op_id, "answered"] = call(world.ops, method, path, body, query).status_code
    return answers


def conflicts(world) -> list[int]:
    """Requests the hub refuses as conflicting with what it holds (409), her data in each."""
    again = call(world.ops, "POST", "/api/v1/subjects/", her_bodies(world)["subjects_create"])
    referral = f"/api/v1/referrals/{world.ids['referral_id']}/transition"
    too_soon = call(world.shelter, "POST", referral, {"status": "completed", "reason": TRANSITION_REASON,
                                                       "outcome": {"success": True}})
    second_plan = call(world.ops, "POST", "/api/v1/plans/", {"subject": world.ids["subject_id"], "stage": "crisis"})
    return [again.status_code, too_soon.status_code, second_plan.status_code]


def through_the_referral_page(client, world, make_user) -> list[int]:
    """A caseworker of the MOPS reads her referral's page and posts its forms:
    a note (302), one too long (422), a refused transition, a note on a
    referral that is not there (404)."""
    verified_login(client, make_user(world.ops.agency, username="logi.kasia"))
    page = f"/app/referrals/{world.ids['referral_id']}"
    return [
        client.get(page).status_code,
        client.post(f"{page}/notes", {"text": PAGE_NOTE}).status_code,
        client.post(f"{page}/notes", {"text": PAGE_NOTE * 300}).status_code,
        client.post(f"{page}/transition", {"to": "completed", "if_match": "*", "reason": TRANSITION_REASON}).status_code,
        client.post(f"/app/referrals/{uuid.uuid4()}/notes", {"text": PAGE_NOTE}).status_code,
    ]


def test_her_data_through_every_operation_and_the_pages_stays_out_of_every_log_line(
    client, her_world, log_lines, make_user
):
    operations = schema_operations(client)
    answers = through_operations(her_world, [op for op in operations if op[0] not in LATE])
    conflicting = conflicts(her_world)
    pages = through_the_referral_page(client, her_world, make_user)
    # What ends something last, the request to erase her record at the very end.
    answers |= through_operations(her_world, sorted((op for op in operations if op[0] in LATE),
                                                    key=lambda op: LATE.index(op[0])))

    # The requests did what they were meant to: her data was taken, read and refused.
    assert not [key for key, status in answers.items() if status >= 500], answers
    created = ("subjects_create", "referrals_create", "referrals_updates_create", "plans_goals_create",
               "plans_actions_create", "plans_reviews_create", "subjects_emergency_disclosures_create")
    assert {op: answers[op, "answered"] for op in created} == dict.fromkeys(created, 201)
    read = ("subjects_retrieve", "referrals_retrieve", "referrals_updates_list", "plans_retrieve")
    assert {op: answers[op, "answered"] for op in read} == dict.fromkeys(read, 200)
    assert {404, 409, 422} <= set(answers.values())
    assert conflicting == [409, 409, 409]
    assert pages[:3] == [200, 302, 422] and pages[4] == 404
    # ...and every record of it, as each formatter writes it, is free of her data.
    assert log_lines.lines["json"], "no record was captured: the capture is broken"
    assert any('"logger": "django.request"' in line for line in log_lines.lines["json"])
    leaks = her_values_in(log_lines.every_line())
    assert leaks == [], "\n".join(leaks[:5])
    for name in PINNED_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.INFO


# --- what every line carries ---------------------------------------------------------


class LogProbeApi(APIView):
    """A test-only API view that writes a line while it answers."""

    required_scopes = ["agencies:read"]

    def get(self, request):
        logging.getLogger("hub.log_probe").info("probe answered")
        return Response({})


urlpatterns = [url_path("api/v1/log-probe", LogProbeApi.as_view(), name="log-probe"), *hub_urlpatterns]


@pytest.mark.urls(__name__)
def test_every_line_names_its_request_and_the_calling_agency_and_client(client, party, log_lines):
    mops = party("MOPS Kontekst", "ops")
    client.get("/api/v1/log-probe", HTTP_X_REQUEST_ID="log-context-read-0001", **bearer(mops.token))
    client.get(f"/api/v1/referrals/{uuid.uuid4()}", HTTP_X_REQUEST_ID="log-context-miss-0002", **bearer(mops.token))
    client.get("/api/v1/log-probe", HTTP_X_REQUEST_ID="log-context-anon-0003")
    logging.getLogger("hub.log_probe").info("outside any request")

    lines = log_lines.json_objects()
    caller = {"agency_id": str(mops.agency.id), "client_id": mops.application.client_id}
    during, after = [line for line in lines if line["logger"] == "hub.log_probe"]
    assert during == {**during, "request_id": "log-context-read-0001", **caller, "message": "probe answered"}
    # Django's summary of a refused request, written once the middleware has returned.
    missing = _summary(lines, "log-context-miss-0002")
    assert missing == {**missing, **caller, "level": "WARNING"} and missing["message"].endswith("answered 404")
    anonymous = _summary(lines, "log-context-anon-0003")
    assert (anonymous["agency_id"], anonymous["client_id"], anonymous["message"][-3:]) == ("-", "-", "401")
    assert (after["request_id"], after["agency_id"], after["client_id"]) == ("-", "-", "-")
    assert set(during) == {"time", "level", "logger", "message", "request_id", "agency_id", "client_id"}
    # The plain lines say the same.
    plain = f"[log-context-read-0001 agency={caller['agency_id']} client={caller['client_id']}] probe answered"
    assert any(line.endswith(plain) for line in log_lines.lines["plain"])


def _summary(lines: list[dict], request_id: str) -> dict:
    (line,) = [line for line in lines if line["logger"] == "django.request" and line["request_id"] == request_id]
    return line


ROOT = Path(__file__).resolve().parents[2]


def _production_log(**env) -> subprocess.CompletedProcess:
    from tests.hub.test_settings import PRODUCTION_ENV

    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "DATABASE_URL", "KEYS_DATABASE_URL", "SEALING_", "LOG_"))}
    code = "import logging; logging.getLogger('hub').warning('started %s', 'here')"
    return subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT,
                          env={**base, **PRODUCTION_ENV, **env}, capture_output=True, text=True)


def test_production_writes_one_json_object_a_line():
    result = _production_log()

    (line,) = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert line == {**line, "level": "WARNING", "logger": "hub", "message": "started here",
                    "request_id": "-", "agency_id": "-", "client_id": "-"}, result.stderr


def test_an_unknown_log_format_stops_the_hub_at_start():
    from tests.hub.test_settings import PRODUCTION_ENV, manage

    result = manage("check", env={**PRODUCTION_ENV, "LOG_FORMAT": "xml"})

    assert result.returncode != 0
    assert "LOG_FORMAT must be one of plain, json" in result.stderr
