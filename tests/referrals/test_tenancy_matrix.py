"""Issue 4's matrix (DESIGN.md principle 7): a referral exists only for its two
agencies. Any other agency, of every kind, with valid tokens holding every
scope, even one the subject consented to, gets on every referral endpoint the
same 404 problem as for a referral that does not exist; nothing changes,
nothing is disclosed or announced, and no list shows the referral."""

import uuid

import pytest

from hub.api.errors import NOT_FOUND, PROBLEM_CONTENT_TYPE
from schemas.vocabularies import AGENCY_KINDS, SCOPES, codes
from tests.conftest import bearer
from tests.referrals.conftest import (
    CONSENTED,
    REFERRALS,
    consent,
    detail,
    move,
    snapshot,
    transition_url,
    updates_url,
)

EVERY_SCOPE = codes(SCOPES)
KINDS = codes(AGENCY_KINDS)

# Every referral endpoint and method, each with a well-formed request, so that
# only tenancy can refuse it.
REQUESTS = [
    ("GET", detail, None, {}),
    # A transition needs If-Match (428 without it); a stale one is still a 404, not a 412.
    ("POST", transition_url, {"status": "received"}, {"HTTP_IF_MATCH": '"stale-1"'}),
    ("POST", transition_url, {"status": "cancelled", "reason": "Taken over."}, {"HTTP_IF_MATCH": "*"}),
    ("POST", transition_url, {"status": "completed", "outcome": {"success": True}}, {"HTTP_IF_MATCH": "*"}),
    ("GET", updates_url, None, {}),
    ("POST", updates_url, {"kind": "note", "payload": {"text": "We can help."}}, {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
]


def call(caller, method, url, body, headers):
    if method == "GET":
        return caller.client.get(url, **bearer(caller.token), **headers)
    return caller.client.post(url, body, content_type="application/json", **bearer(caller.token), **headers)


def without_request_id(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "request_id"}


def assert_not_found(caller, method, url_of, body, headers, referral_id, *, like_missing=False):
    response = call(caller, method, url_of(referral_id), body, headers)

    assert response.status_code == 404, (caller.agency.kind, method, url_of.__name__, response.content)
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == NOT_FOUND
    assert "ETag" not in response
    if like_missing:  # not even the wording tells an existing referral from a missing one
        missing = call(caller, method, url_of(uuid.uuid4()), body, {**headers, "HTTP_IDEMPOTENCY_KEY": "k-2"})
        assert without_request_id(response.json()) == without_request_id(missing.json())


def listed_ids(caller, **params) -> set[str]:
    response = caller.get(REFERRALS, **params)
    assert response.status_code == 200, response.content
    return {r["id"] for r in response.json()["results"]}


@pytest.mark.parametrize("basis", [False, True], ids=["no-basis", "consented-to"])
def test_an_agency_of_every_kind_gets_404_and_changes_nothing(party, ops, shelter, subject_id, referral_id, basis):
    strangers = [party(f"Obca {kind}", kind, scopes=EVERY_SCOPE) for kind in KINDS]
    if basis:
        # The subject consented to every kind of agency: each stranger may read
        # her profile, and still has no business with the referral.
        consent(ops, subject_id, {"agency_kinds": list(KINDS)}, CONSENTED)
        for stranger in strangers:
            assert stranger.get(f"/api/v1/subjects/{subject_id}", purpose="referral").status_code == 200
    before = snapshot(referral_id)

    for stranger in strangers:
        for method, url_of, body, headers in REQUESTS:
            like_missing = stranger is strangers[0]  # once is enough: the answer does not depend on the kind
            assert_not_found(stranger, method, url_of, body, headers, referral_id, like_missing=like_missing)

    assert snapshot(referral_id) == before  # the row, its trail, the ledger, the outbox
    for stranger in strangers:
        for box in ("inbox", "outbox", None):
            params = {"box": box} if box else {}
            assert referral_id not in listed_ids(stranger, **params), stranger.agency.kind
        assert referral_id not in listed_ids(stranger, status="requested", service="shelter", urgency="emergency")
    # ...while the two parties do see it, so the lists above could have shown it.
    assert referral_id in listed_ids(shelter, box="inbox") & listed_ids(ops, box="outbox")


@pytest.mark.parametrize("status", ["received", "on-hold", "completed", "rejected"])
def test_a_third_agency_gets_404_whatever_the_referral_s_status(outsider, shelter, referral_id, status):
    """A transition check that ran before the tenancy check would answer 409
    and name the status: an oracle for another agency's referral."""
    move(shelter, referral_id, status)
    before = snapshot(referral_id)

    for method, url_of, body, headers in REQUESTS:
        assert_not_found(outsider, method, url_of, body, headers, referral_id, like_missing=True)

    assert snapshot(referral_id) == before


def test_a_third_agency_cannot_read_the_updates_either_side_wrote(outsider, ops, shelter, referral_id):
    for author in (ops, shelter):
        added = author.post(updates_url(referral_id), {"kind": "note", "payload": {"text": "Spoke to her today."}})
        assert added.status_code == 201, added.content
    before = snapshot(referral_id)

    response = outsider.get(updates_url(referral_id))

    assert response.status_code == 404
    assert "Spoke to her" not in response.content.decode()
    assert snapshot(referral_id) == before
