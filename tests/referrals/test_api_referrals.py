"""The referral API of DESIGN.md 6 and issue 4: lists (metadata only, filters,
cursors, a fixed number of queries), creation (schema, limits, vocabularies,
idempotency), transitions (reasons, outcomes, cancelling), case updates from
both sides through the disclosure choke point, and the published schemas."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import OutboxEvent
from consent_ledger.models import EntryKind, LedgerEntry
from hub.api.errors import NOT_FOUND, PROBLEM_CONTENT_TYPE, VALIDATION_ERROR
from hub.api.idempotency import KEY_REUSED
from referrals import lifecycle, services
from referrals.models import CaseUpdate, Referral
from schemas.registry import get_registry
from schemas.vocabularies import REFERRAL_SERVICES, codes
from tests.referrals.conftest import (
    CONSENTED,
    PAYLOAD,
    PROFILE,
    REASON,
    REFERRALS,
    WITHHOLD,
    consent,
    detail,
    leaked,
    move,
    send,
    strings_in,
    transition_url,
    updates_url,
)

SUMMARY_FIELDS = {
    "id", "sender", "recipient", "subject", "service", "urgency", "purpose", "status",
    "acknowledge_by", "created_at", "updated_at",
}


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == status
    if code:
        assert body["code"] == code
    return body


def pointers(response) -> set[str]:
    return {error["pointer"] for error in response.json()["errors"]}


def nothing_created():
    return not Referral.objects.exists() and not OutboxEvent.objects.filter(object_type="referral").exists()


# --- lists ------------------------------------------------------------------------------


@pytest.fixture
def mailboxes(ops, shelter, subject_id):
    """Three referrals from the OPS to the shelter (one received) and one from
    the shelter to the OPS about a person the shelter registered."""
    sent = {}
    for name, service, urgency in [("a", "shelter", "emergency"), ("b", "psychological", "urgent"),
                                   ("c", "shelter", "routine")]:
        payload = PAYLOAD if service == "shelter" else {"summary": "Counselling after the crisis."}
        created = send(ops, shelter, subject_id, service=service, urgency=urgency, payload=payload,
                       withhold_categories=WITHHOLD)
        assert created.status_code == 201, created.content
        sent[name] = created.json()["id"]
    move(shelter, sent["a"], "received")
    own = shelter.post("/api/v1/subjects/", {"external_ref": "S/9", "profile": {"person": {"given_name": "Basia"}}})
    consent(shelter, own.json()["id"], {"agencies": [str(ops.agency.id)]}, ["identity", "case_notes"])
    back = send(shelter, ops, own.json()["id"], service="legal_aid", urgency="routine",
                payload={"summary": "Needs a lawyer for the divorce."}, reason="")
    assert back.status_code == 201, back.content
    sent["d"] = back.json()["id"]
    return sent


def ids(caller, **params) -> set[str]:
    response = caller.get(REFERRALS, **params)
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["results"]}


def test_lists_filter_by_box_status_service_and_urgency(ops, shelter, mailboxes):
    a, b, c, d = (mailboxes[k] for k in "abcd")

    assert ids(shelter, box="inbox") == {a, b, c}
    assert ids(shelter, box="outbox") == {d}
    assert ids(shelter) == {a, b, c, d}
    assert ids(ops, box="inbox") == {d}
    assert ids(ops, box="outbox") == {a, b, c}
    assert ids(shelter, status="received") == {a}
    assert ids(shelter, status="requested") == {b, c, d}
    assert ids(shelter, service="shelter") == {a, c}
    assert ids(shelter, urgency="routine") == {c, d}
    assert ids(shelter, box="inbox", urgency="routine", service="shelter", status="requested") == {c}
    assert ids(shelter, status="completed") == set()


def test_lists_filter_by_creation_time_with_strict_bounds(ops, mailboxes):
    listed = {r["id"]: r["created_at"] for r in ops.get(REFERRALS).json()["results"]}
    a, b, c, d = (mailboxes[k] for k in "abcd")  # created in this order

    assert ids(ops, created_after=listed[a]) == {b, c, d}
    assert ids(ops, created_before=listed[c]) == {a, b}
    assert ids(ops, created_after=listed[a], created_before=listed[d]) == {b, c}
    assert ids(ops, created_after="2000-01-01T00:00:00+02:00") == {a, b, c, d}
    assert ids(ops, created_before="2000-01-01T00:00:00Z") == set()


@pytest.mark.parametrize(("parameter", "value"), [
    ("box", "all"),
    ("box", ""),
    ("status", "open"),
    ("status", "in_progress"),
    ("service", "taxi"),
    ("urgency", "asap"),
    ("created_after", "yesterday"),
    ("created_after", "2026-01-01T00:00:00"),  # no zone: which midnight?
    ("created_before", "2026-02-30T00:00:00Z"),  # no such day
    ("created_after", "2026-13-01T00:00:00Z"),
])
def test_a_bad_filter_value_is_422_naming_the_parameter(ops, parameter, value):
    response = ops.get(REFERRALS, **{parameter: value})

    body = assert_problem(response, 422, VALIDATION_ERROR)
    assert [e["parameter"] for e in body["errors"]] == [parameter]


def test_cursor_pagination_walks_every_referral_once_newest_first(ops, shelter, subject_id):
    created = [send(ops, shelter, subject_id, withhold_categories=WITHHOLD).json()["id"] for _ in range(5)]

    pages, url = [], REFERRALS + "?box=outbox&page_size=2"
    while url:
        page = ops.get(url).json()
        pages.append([r["id"] for r in page["results"]])
        url = page["next"]

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == created[::-1]
    assert "count" not in page  # cursors: no COUNT(*)


def test_lists_carry_metadata_only(ops, shelter, mailboxes):
    secrets = strings_in(PROFILE) | strings_in(PAYLOAD) | {REASON, "Basia", "Needs a lawyer for the divorce."}

    for caller, box in ((shelter, "inbox"), (ops, "outbox"), (shelter, None)):
        response = caller.get(REFERRALS, **({"box": box} if box else {}))
        results = response.json()["results"]
        assert results
        for row in results:
            assert set(row) == SUMMARY_FIELDS
        assert not leaked(secrets, response.json())
    # Listing is not a disclosure.
    assert not LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).exists()


def queries_and_rows(caller, box) -> tuple[int, int]:
    """How many queries one list request runs, and how many rows it lists."""
    with CaptureQueriesContext(connection) as captured:
        response = caller.get(REFERRALS, box=box)
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


def test_a_list_runs_as_many_queries_for_30_referrals_as_for_3(
    ops, shelter, subject_id, django_assert_max_num_queries
):
    def create(count):
        for _ in range(count):
            services.referral_create(
                caller=ops.caller, subject_id=subject_id, to_agency_id=shelter.agency.id, service="shelter",
                urgency="routine", purpose="referral", payload=PAYLOAD, reason=REASON, withhold_categories=WITHHOLD,
            )

    create(3)
    few = [queries_and_rows(shelter, "inbox"), queries_and_rows(ops, "outbox")]
    create(27)
    many = [queries_and_rows(shelter, "inbox"), queries_and_rows(ops, "outbox")]

    assert [rows for _, rows in few] == [3, 3] and [rows for _, rows in many] == [30, 30]
    assert [queries for queries, _ in many] == [queries for queries, _ in few]
    # The token, its agency, the page (and one to spare): never one per row.
    with django_assert_max_num_queries(4):
        shelter.get(REFERRALS, page_size=30)


# --- creating ---------------------------------------------------------------------------


def test_a_payload_against_the_schema_is_422_with_a_pointer_per_error(ops, shelter, subject_id):
    payload = {
        "summary": "",
        "risk": {"level": "extreme", "score": 7},
        "pets": "a cat",
        "accompanying_children": {"count": 2, "ages": [4, 19]},
    }

    response = send(ops, shelter, subject_id, payload=payload, withhold_categories=WITHHOLD)

    body = assert_problem(response, 422, VALIDATION_ERROR)
    assert pointers(response) == {
        "/payload/summary", "/payload/risk/level", "/payload/risk/score", "/payload/pets",
        "/payload/accompanying_children/ages/1",
    }
    assert all(error["detail"] for error in body["errors"])
    assert "a cat" not in response.content.decode()  # details never repeat the value
    assert nothing_created()


def test_unknown_payload_members_are_refused_where_the_schema_can_say(ops, shelter, subject_id):
    """Every unknown member is named by its own pointer with the members
    allowed there: nested, and at the top of a service payload (referral-base
    extended with $ref, closed by unevaluatedProperties) alike (issue 16)."""
    payload = {**PAYLOAD, "favourite_colour": "blue", "pets": {"count": 1, "name": "Burek"}}

    response = send(ops, shelter, subject_id, payload=payload, withhold_categories=WITHHOLD)

    body = assert_problem(response, 422, VALIDATION_ERROR)
    details = {e["pointer"]: e["detail"] for e in body["errors"]}
    assert set(details) == {"/payload/favourite_colour", "/payload/pets/name"}
    assert details["/payload/pets/name"] == "is not allowed here: unknown member 'name'. Allowed: count, description"
    assert "unknown member 'favourite_colour'" in details["/payload/favourite_colour"]
    assert "Allowed: accessibility, " in details["/payload/favourite_colour"]
    assert "summary" in details["/payload/favourite_colour"].split("Allowed: ")[1].split(", ")
    assert nothing_created()


def test_a_payload_missing_its_required_member_is_named(ops, shelter, subject_id):
    response = send(ops, shelter, subject_id, payload={"risk": {"level": "low"}}, withhold_categories=WITHHOLD)

    assert_problem(response, 422)
    assert pointers(response) == {"/payload/summary"}


def raw_referral(ops, shelter, subject_id, *, needs: str, padding: int = 0):
    """A referral body as text, so that it can be nested or padded beyond what
    the test client's JSON encoder would produce."""
    body = json.dumps({
        "subject": subject_id, "to_agency": str(shelter.agency.id), "service": "shelter", "urgency": "urgent",
        "purpose": "referral", "payload": {**PAYLOAD, "needs": "@needs@"}, "withhold_categories": WITHHOLD,
    }).replace('"@needs@"', needs)
    return ops.post(REFERRALS, body + " " * padding)


def nested(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


@pytest.mark.parametrize("depth", [get_registry().max_depth + 1, 100])
def test_a_payload_nested_past_the_schema_depth_limit_is_422(ops, shelter, subject_id, referral_id, depth):
    response = raw_referral(ops, shelter, subject_id, needs=nested(depth))
    update = ops.post(updates_url(referral_id), '{"kind": "note", "payload": {"text": %s}}' % nested(depth))

    for refused in (response, update):
        assert_problem(refused, 422, VALIDATION_ERROR)
        assert pointers(refused) == {"/payload"}
    assert Referral.objects.count() == 1 and not CaseUpdate.objects.exists()


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_body_nested_past_what_json_can_parse_is_a_4xx_problem_not_500(ops, shelter, subject_id, depth):
    """A few kilobytes of brackets, far below the size limit: the parser's
    recursion must end in a problem, never in a RecursionError (500)."""
    response = raw_referral(ops, shelter, subject_id, needs=nested(depth))

    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert nothing_created()


def test_a_payload_over_the_schema_size_limit_is_422(ops, shelter, subject_id, settings):
    limit = get_registry().max_bytes
    settings.API_MAX_BODY_BYTES = 2 * limit  # let the body through, to reach the schema check
    huge = {**PAYLOAD, "summary": "s" * limit}

    response = send(ops, shelter, subject_id, payload=huge, withhold_categories=WITHHOLD)

    assert_problem(response, 422, VALIDATION_ERROR)
    assert pointers(response) == {"/payload"}
    assert nothing_created()


def test_a_body_over_api_max_body_bytes_is_413_whatever_it_holds(ops, shelter, subject_id, settings):
    """settings.API_MAX_BODY_BYTES bounds the request, not only the payload:
    the same small referral padded past the limit (JSON allows the blanks)."""
    small = raw_referral(ops, shelter, subject_id, needs='"a bed"')
    assert small.status_code == 201, small.content  # the same body unpadded is fine
    before = Referral.objects.count()

    response = raw_referral(ops, shelter, subject_id, needs='"a bed"', padding=settings.API_MAX_BODY_BYTES)

    assert_problem(response, 413)
    assert Referral.objects.count() == before


def test_unknown_codes_and_agencies_are_422_with_pointers(ops, shelter, subject_id):
    response = send(
        ops, shelter, subject_id, to_agency=str(uuid.uuid4()), service="taxi", urgency="asap", purpose="curiosity",
        withhold_categories=["health", "horoscope"],
    )

    assert_problem(response, 422, VALIDATION_ERROR)
    assert pointers(response) == {"/to_agency", "/service", "/urgency", "/purpose", "/withhold_categories/1"}
    assert nothing_created()


def test_every_service_of_the_vocabulary_can_be_referred_to(ops, shelter, subject_id):
    for service in codes(REFERRAL_SERVICES):
        payload = {"summary": "See the attached plan."} | ({"language": "uk"} if service == "interpreter" else {})
        response = send(ops, shelter, subject_id, service=service, urgency="routine", payload=payload,
                        withhold_categories=WITHHOLD)
        assert response.status_code == 201, (service, response.content)

    stored = Referral.objects.values_list("service", "payload_schema")
    assert {(s, f"https://schemas.hub.invalid/referral-{s}/1") for s in codes(REFERRAL_SERVICES)} == set(stored)


def test_a_referral_to_oneself_is_refused(ops, subject_id):
    response = send(ops, ops, subject_id, withhold_categories=WITHHOLD)

    assert_problem(response, 422, VALIDATION_ERROR)
    assert pointers(response) == {"/to_agency"}
    assert nothing_created()


def test_a_referral_to_an_inactive_agency_is_refused(ops, shelter, subject_id):
    shelter.agency.active = False
    shelter.agency.save(update_fields=["active"])

    response = send(ops, shelter, subject_id, withhold_categories=WITHHOLD)

    assert_problem(response, 422)
    assert pointers(response) == {"/to_agency"}


def test_create_with_an_idempotency_key_replays_and_refuses_a_different_body(ops, shelter, subject_id):
    key = {"HTTP_IDEMPOTENCY_KEY": "referral-2026-0001"}

    first = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, **key)
    again = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, **key)
    other = send(ops, shelter, subject_id, withhold_categories=WITHHOLD, urgency="routine", **key)

    assert first.status_code == 201, first.content
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"] == f"/api/v1/referrals/{first.json()['id']}"
    assert_problem(other, 409, KEY_REUSED)
    assert Referral.objects.count() == 1
    assert OutboxEvent.objects.filter(type="referral.requested").count() == 1


# --- transitions ---------------------------------------------------------------------------


def transition(caller, referral_id, **body):
    return caller.post(transition_url(referral_id), body)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_rejection_needs_a_reason(shelter, referral_id, reason):
    body = {"status": "rejected"} | ({"reason": reason} if reason is not None else {})

    refused = shelter.post(transition_url(referral_id), body)
    rejected = transition(shelter, referral_id, status="rejected", reason="No room for three children.")

    assert_problem(refused, 422)
    assert pointers(refused) == {"/reason"}
    assert rejected.status_code == 200, rejected.content
    seen = shelter.get(detail(referral_id)).json()
    assert seen["status"] == "rejected"
    assert seen["status_reason"] == "No room for three children."
    assert seen["rejected_at"] is not None


@pytest.mark.parametrize(("outcome", "pointer"), [
    (None, "/outcome/success"),
    ({}, "/outcome/success"),
    ({"success": "yes"}, "/outcome/success"),
    ({"success": False}, "/outcome/reason"),
    ({"success": False, "reason": "moved_abroad"}, "/outcome/reason"),
    ({"success": True, "reason": "because"}, "/outcome/reason"),
    ({"success": True, "note": "went well"}, "/outcome/note"),
    ("success", "/outcome/success"),
])
def test_completion_needs_a_valid_outcome(shelter, referral_id, outcome, pointer):
    move(shelter, referral_id, "in-progress")
    body = {"status": "completed"} | ({"outcome": outcome} if outcome is not None else {})

    refused = shelter.post(transition_url(referral_id), body)

    assert_problem(refused, 422)
    assert pointers(refused) == {pointer}
    assert shelter.get(detail(referral_id)).json()["status"] == "in-progress"


@pytest.mark.parametrize("outcome", [
    {"success": True},
    {"success": True, "reason": "other"},
    {"success": False, "reason": "client_refused_services"},
])
def test_completion_stores_the_outcome(ops, shelter, referral_id, outcome):
    move(shelter, referral_id, "in-progress")

    done = transition(shelter, referral_id, status="completed", outcome=outcome)

    assert done.status_code == 200, done.content
    seen = ops.get(detail(referral_id)).json()
    assert (seen["status"], seen["outcome"]) == ("completed", outcome)
    assert seen["completed_at"] is not None


def test_failure_cannot_be_a_success_and_needs_a_reason_code(ops, shelter, referral_id):
    move(shelter, referral_id, "accepted")

    success = transition(shelter, referral_id, status="failed", outcome={"success": True})
    no_code = transition(shelter, referral_id, status="failed", outcome={"success": False})
    failed = transition(shelter, referral_id, status="failed", outcome={"success": False, "reason": "lack_of_capacity"})

    assert_problem(success, 422)
    assert "/outcome/success" in pointers(success)
    assert pointers(no_code) == {"/outcome/reason"}
    assert failed.status_code == 200, failed.content
    seen = ops.get(detail(referral_id)).json()
    assert (seen["status"], seen["outcome"]) == ("failed", {"success": False, "reason": "lack_of_capacity"})


@pytest.mark.parametrize("outcome", [
    pytest.param({"success": True}, id="an-outcome"),
    pytest.param({}, id="an-empty-outcome"),
])
def test_a_step_that_carries_no_outcome_refuses_one(shelter, referral_id, outcome):
    refused = transition(shelter, referral_id, status="received", outcome=outcome)

    assert_problem(refused, 422)
    assert pointers(refused) == {"/outcome"}
    assert Referral.objects.get(pk=referral_id).outcome is None


@pytest.mark.parametrize("status", ["requested", "received", "accepted", "in-progress", "on-hold"])
def test_the_sender_can_cancel_any_open_referral_with_a_reason(ops, shelter, referral_id, status):
    move(shelter, referral_id, status)

    no_reason = transition(ops, referral_id, status="cancelled")
    cancelled = transition(ops, referral_id, status="cancelled", reason="She moved to her sister's.")

    assert pointers(no_reason) == {"/reason"}
    assert cancelled.status_code == 200, cancelled.content
    seen = shelter.get(detail(referral_id)).json()
    assert (seen["status"], seen["status_reason"]) == ("cancelled", "She moved to her sister's.")
    assert seen["cancelled_at"] is not None
    assert OutboxEvent.objects.filter(object_id=referral_id).last().type == "referral.cancelled"


@pytest.mark.parametrize("status", ["completed", "rejected", "failed"])
def test_a_final_referral_cannot_be_cancelled(ops, shelter, referral_id, status):
    move(shelter, referral_id, status)

    refused = transition(ops, referral_id, status="cancelled", reason="Too late.")

    body = assert_problem(refused, 409, lifecycle.ILLEGAL_TRANSITION)
    assert (body["current_status"], body["allowed"]) == (status, [])
    assert status in body["detail"]
    assert shelter.get(detail(referral_id)).json()["cancelled_at"] is None


def test_only_the_sender_cancels(shelter, referral_id):
    refused = transition(shelter, referral_id, status="cancelled", reason="We are full.")

    body = assert_problem(refused, 409, lifecycle.NOT_YOUR_STEP)
    assert (body["current_status"], body["allowed"]) == ("requested", ["received", "rejected"])


def test_an_unknown_status_is_422_from_the_request_shape(shelter, referral_id):
    refused = transition(shelter, referral_id, status="forwarded")

    assert_problem(refused, 422)
    assert pointers(refused) == {"/status"}


# --- case updates -----------------------------------------------------------------------------

APPOINTMENT = {
    "when": "2030-03-02T10:00:00Z",
    "where": {"name": "Punkt konsultacyjny", "street": "ul. Cicha 5", "city": "Wrocław"},
    "with_whom": {"role": "psychologist"},
    "notes": "Bring the children's documents.",
}


def test_case_updates_from_both_sides_are_disclosed_through_the_choke_point(ops, shelter, subject_id, referral_id):
    written = [
        (ops, "note", {"text": "She prefers calls after 18:00."}),
        (ops, "appointment", APPOINTMENT),
        (shelter, "note", {"text": "Settled in; children at school."}),
    ]
    for author, kind, payload in written:
        added = author.post(updates_url(referral_id), {"kind": kind, "payload": payload})
        assert added.status_code == 201, added.content
        assert set(added.json()) == {"id", "author", "kind", "created_at"}
    ledger = LedgerEntry.objects.count()
    last_seq = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()

    seen_by_shelter = shelter.get(updates_url(referral_id)).json()["results"]
    shelter_entries = list(LedgerEntry.objects.filter(seq__gt=last_seq).order_by("seq"))
    seen_by_ops = ops.get(updates_url(referral_id)).json()["results"]

    assert [(u["author"], u["kind"]) for u in seen_by_shelter] == [
        (str(ops.agency.id), "note"), (str(ops.agency.id), "appointment"), (str(shelter.agency.id), "note"),
    ]
    assert [u["payload"] for u in seen_by_shelter] == [
        written[0][2], {k: v for k, v in APPOINTMENT.items() if k != "where"}, written[2][2],
    ]
    assert [u["withheld_categories"] for u in seen_by_shelter] == [[], ["location"], []]
    # One disclosure for the read, covering the two updates the OPS wrote; the
    # shelter's own note is no disclosure.
    assert [(e.kind, e.recorded_by_id, e.body["recipient"], e.body["categories"], e.body["withheld_categories"],
             len(e.body["documents"])) for e in shelter_entries] == [
        (EntryKind.DISCLOSURE, shelter.agency.id, str(shelter.agency.id), ["case_notes"], ["location"], 2),
    ]
    # The OPS, whose case it is, gets its own updates back and the shelter's
    # note on the reply basis (her consent to the shelter covers case_notes):
    # that read is in the accounting too.
    assert [u["payload"] for u in seen_by_ops] == [payload for _, _, payload in written]
    assert LedgerEntry.objects.count() == ledger + 2
    accounting = ops.get(f"/api/v1/subjects/{subject_id}/disclosures/").json()["results"]
    assert [(row["recipient"], row["categories"], row["withheld_categories"]) for row in accounting] == [
        (str(ops.agency.id), ["case_notes"], []),
        (str(shelter.agency.id), ["case_notes"], ["location"]),
    ]
    events = OutboxEvent.objects.filter(type="referral.update_added").order_by("seq")
    assert [e.data["kind"] for e in events] == ["note", "appointment", "note"]
    assert not leaked(strings_in([p for _, _, p in written]), list(events.values()))


def test_a_case_update_against_its_schema_is_422_with_pointers(ops, referral_id):
    bad_note = ops.post(updates_url(referral_id), {"kind": "note", "payload": {"text": "", "mood": "grim"}})
    bad_kind = ops.post(updates_url(referral_id), {"kind": "gossip", "payload": {"text": "x"}})
    bad_when = ops.post(updates_url(referral_id), {"kind": "appointment", "payload": {"when": "tomorrow"}})

    assert_problem(bad_note, 422)
    assert pointers(bad_note) == {"/payload/text", "/payload/mood"}
    assert pointers(bad_kind) == {"/kind"}
    assert pointers(bad_when) == {"/payload/when"}
    assert not CaseUpdate.objects.exists()


def test_case_updates_are_accepted_on_a_closed_referral(ops, shelter, referral_id):
    move(shelter, referral_id, "completed")

    added = shelter.post(updates_url(referral_id), {"kind": "outcome", "payload": {"summary": "Moved to a flat."}})

    assert added.status_code == 201, added.content
    assert ops.get(detail(referral_id)).json()["status"] == "completed"


# --- schemas -------------------------------------------------------------------------------------


def test_the_schemas_are_published_without_a_token(client, db):
    listing = client.get("/api/v1/schemas/")
    shelter = client.get("/api/v1/schemas/referral-shelter")
    versioned = client.get("/api/v1/schemas/referral-shelter/1")

    assert listing.status_code == 200
    names = {entry["name"] for entry in listing.json()["results"]}
    assert {f"referral-{s}/1" for s in codes(REFERRAL_SERVICES)} <= names
    assert {"subject/1", "referral-base/1", "case-update-note/1", "case-update-appointment/1",
            "case-update-outcome/1"} <= names
    assert shelter.status_code == 200
    assert shelter.json()["$id"] == "https://schemas.hub.invalid/referral-shelter/1"
    assert versioned.json() == shelter.json()


@pytest.mark.parametrize("name", ["unknown", "referral-shelter/99"])
def test_an_unknown_schema_is_404_problem(client, db, name):
    assert_problem(client.get(f"/api/v1/schemas/{name}"), 404, NOT_FOUND)


# --- reads ---------------------------------------------------------------------------------------


def test_a_read_carries_the_etag_the_transition_honours(shelter, referral_id):
    read = shelter.get(detail(referral_id))
    moved = shelter.post(transition_url(referral_id), {"status": "received"}, HTTP_IF_MATCH=read["ETag"])
    stale = shelter.post(transition_url(referral_id), {"status": "accepted"}, HTTP_IF_MATCH=read["ETag"])

    assert read["ETag"] == f'"{referral_id}-1"'
    assert moved.status_code == 200 and moved["ETag"] == f'"{referral_id}-2"'
    body = assert_problem(stale, 412)
    assert body["current_etag"] == moved["ETag"]


def test_the_recipient_s_read_is_pruned_to_the_consent(shelter, referral_id):
    body = shelter.get(detail(referral_id)).json()

    assert set(body["payload"]) == {"summary", "risk"}
    assert body["withheld_categories"] == ["health"]
    assert set(body["subject"]["profile"]) == {"person", "safe_contact"}
    assert body["reason"] == REASON
    assert not set(body["subject"]["withheld_categories"]) & set(CONSENTED)
