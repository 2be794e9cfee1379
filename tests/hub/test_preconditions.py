"""Safe concurrency by default (issue 16, item 4): every change of state that
takes If-Match requires it (428 Precondition Required, RFC 6585 §3), a
malformed one is a 400 (RFC 9110 §13.1.1), a stale one a 412; `*` acts
whatever the state. hub.api.preconditions.require_if_match is the one rule."""

import pytest
from django.test import RequestFactory

from hub.api.errors import PROBLEM_CONTENT_TYPE
from hub.api.preconditions import MALFORMED_IF_MATCH, PRECONDITION_REQUIRED, optional_if_match, require_if_match
from referrals.models import Referral
# The referral fixtures (ops, shelter, subject_id, referral_id) of the referral tests.
from tests.referrals.conftest import detail, ops, referral_id, shelter, subject_id, transition_url  # noqa: F401
from tests.referrals.plans_world import World as PlansWorld
from tests.referrals.plans_world import stage_url
from tests.referrals.plans_world import transition_url as action_transition_url

NO_IF_MATCH = {"HTTP_IF_MATCH": None}  # tests.conftest.Party sends `*` unless told otherwise


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code
    return body


# --- the helper ----------------------------------------------------------------------


def with_if_match(value):
    headers = {} if value is None else {"HTTP_IF_MATCH": value}
    return RequestFactory().post("/", **headers)


@pytest.mark.parametrize("value", ['"abc-1"', "*", 'W/"abc-1"', '""', ' "abc-1" ', '"a,b"'])
def test_an_entity_tag_or_a_star_is_accepted(value):
    assert require_if_match(with_if_match(value)) == value.strip()


@pytest.mark.parametrize("value", ["abc-1", '"abc-1', "abc-1\"", "'abc-1'", "W/abc", "", "**", '"a"b"'])
def test_anything_else_is_malformed(value):
    with pytest.raises(Exception) as raised:
        optional_if_match(with_if_match(value))
    assert raised.value.code == MALFORMED_IF_MATCH and raised.value.status == 400


def test_a_list_of_tags_is_refused_as_it_could_never_match():
    with pytest.raises(Exception) as raised:
        require_if_match(with_if_match('"a-1", "a-2"'))
    assert raised.value.code == MALFORMED_IF_MATCH and "one entity-tag" in raised.value.detail


def test_a_missing_header_is_required_only_where_it_must_be():
    assert optional_if_match(with_if_match(None)) is None
    with pytest.raises(Exception) as raised:
        require_if_match(with_if_match(None), what="referral")
    assert raised.value.code == PRECONDITION_REQUIRED and raised.value.status == 428
    assert "ETag of the referral" in raised.value.detail


# --- referral transitions ------------------------------------------------------------


def test_a_transition_without_if_match_is_428_and_changes_nothing(shelter, referral_id):  # noqa: F811
    before = Referral.objects.get(pk=referral_id).version

    response = shelter.post(transition_url(referral_id), {"status": "received"}, **NO_IF_MATCH)

    body = problem(response, 428, PRECONDITION_REQUIRED)
    assert "ETag" in body["detail"] and "If-Match" in body["detail"]
    assert body["errors"] == [{"header": "If-Match", "detail": body["errors"][0]["detail"]}]
    assert Referral.objects.get(pk=referral_id).version == before


def test_an_unquoted_if_match_is_400_malformed_not_412(shelter, referral_id):  # noqa: F811
    etag = shelter.get(detail(referral_id))["ETag"]

    response = shelter.post(transition_url(referral_id), {"status": "received"}, HTTP_IF_MATCH=etag.strip('"'))

    body = problem(response, 400, MALFORMED_IF_MATCH)
    assert "Malformed If-Match" in body["detail"]
    assert body["errors"][0]["header"] == "If-Match"


def test_the_etag_read_moves_the_referral_and_a_stale_one_is_412(ops, shelter, referral_id):  # noqa: F811
    etag = shelter.get(detail(referral_id))["ETag"]
    moved = shelter.post(transition_url(referral_id), {"status": "received"}, HTTP_IF_MATCH=etag)
    assert moved.status_code == 200, moved.content

    stale = shelter.post(transition_url(referral_id), {"status": "accepted"}, HTTP_IF_MATCH=etag)

    body = problem(stale, 412, "precondition_failed")
    assert body["current_etag"] == moved["ETag"]


def test_a_case_update_changes_the_referral_s_etag(shelter, referral_id):  # noqa: F811
    etag = shelter.get(detail(referral_id))["ETag"]
    added = shelter.post(f"/api/v1/referrals/{referral_id}/updates/", {"kind": "note", "payload": {"text": "Noted."}})
    assert added.status_code == 201, added.content

    assert shelter.get(detail(referral_id))["ETag"] != etag
    problem(shelter.post(transition_url(referral_id), {"status": "received"}, HTTP_IF_MATCH=etag), 412,
            "precondition_failed")


# --- plans and Blue Card steps take the same rule ------------------------------------------------


@pytest.fixture
def plans(party):
    return PlansWorld(party)


def test_a_plan_stage_and_an_action_transition_need_if_match(plans):
    plan = plans.open_plan(team=False)
    action = plans.ops.post(f"/api/v1/plans/{plan.id}/actions/", {
        "agency": str(plans.ops.agency.id), "title": "Call weekly", "due_on": "2030-01-01",
    }).json()

    stage = plans.ops.post(stage_url(plan.id), {"stage": "intensive"}, **NO_IF_MATCH)
    moved = plans.ops.post(action_transition_url(action["id"]), {"status": "done"}, **NO_IF_MATCH)

    problem(stage, 428, PRECONDITION_REQUIRED)
    problem(moved, 428, PRECONDITION_REQUIRED)
    assert plans.ops.post(action_transition_url(action["id"]), {"status": "done"},
                          HTTP_IF_MATCH=action["etag"]).status_code == 200


def test_adding_to_a_plan_takes_an_optional_if_match_but_never_a_malformed_one(plans):
    plan = plans.open_plan(team=False)
    goal = {"title": "School every day"}

    assert plans.ops.post(f"/api/v1/plans/{plan.id}/goals/", goal, **NO_IF_MATCH).status_code == 201
    problem(plans.ops.post(f"/api/v1/plans/{plan.id}/goals/", goal, HTTP_IF_MATCH="v1"), 400, MALFORMED_IF_MATCH)


def test_every_operation_that_requires_if_match_documents_428(django_db_blocker):
    import yaml
    from django.test import Client

    with django_db_blocker.unblock():
        spec = yaml.safe_load(Client().get("/api/schema/").content)
    requiring = {
        path for path, item in spec["paths"].items() for operation in item.values()
        if any(p["name"] == "If-Match" and p.get("required") for p in operation.get("parameters", []))
    }
    documented = {
        path for path, item in spec["paths"].items() for operation in item.values() if "428" in operation["responses"]
    }
    assert requiring == documented
    assert {
        "/api/v1/referrals/{referral_id}/transition", "/api/v1/plans/{plan_id}/stage",
        "/api/v1/actions/{action_id}/transition", "/api/v1/blue-cards/{procedure_id}/steps/",
        "/api/v1/blue-cards/{procedure_id}/close",
    } <= requiring
