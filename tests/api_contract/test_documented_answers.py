"""The answers integrators build on, each checked against the published
schema (issue 16, item 1): the README's referral loop and the reads and
writes around it, through schemathesis cases on the WSGI app. The random
tests (test_schemathesis.py) mostly meet refusals; these meet successes."""

import pytest
import schemathesis

from .test_schemathesis import CHECKS
from .world import CONSENTED, EVIDENCE, PAYLOAD, PROFILE, WITHHOLD, application, build

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def world(party):
    return build(party)


def call(party, method, path, *, expect, headers=None, **kwargs):
    """One request through the schema: validated, and with the status expected."""
    case = schema[path][method].Case(headers={"Authorization": f"Bearer {party.token}", **(headers or {})}, **kwargs)
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code == expect, response.text
    return response


def header(response, name: str) -> str:
    return response.headers[name.lower()][0]


def test_the_readme_referral_loop_answers_as_documented(world):
    ops, shelter = world.ops, world.shelter
    subject = call(ops, "POST", "/api/v1/subjects/", body={"external_ref": "R/1", "profile": PROFILE}, expect=201).json()
    consent = call(ops, "POST", "/api/v1/subjects/{subject_id}/consents/", path_parameters={"subject_id": subject["id"]},
                   body={"recipients": {"agencies": [str(shelter.agency.id)]}, "categories": CONSENTED,
                         "purposes": ["referral"], "form": "written", "grantor": "subject",
                         "evidence_sha256": EVIDENCE}, expect=201).json()
    assert consent["receipt"]["pii_principal_id"] == subject["id"]
    body = {"subject": subject["id"], "to_agency": str(shelter.agency.id), "service": "shelter",
            "urgency": "urgent", "purpose": "referral", "payload": PAYLOAD, "reason": "Violence at home.",
            "withhold_categories": WITHHOLD}
    sent = call(ops, "POST", "/api/v1/referrals/", body=body, headers={"Idempotency-Key": "loop-1"}, expect=201)
    again = call(ops, "POST", "/api/v1/referrals/", body=body, headers={"Idempotency-Key": "loop-1"}, expect=201)
    assert header(again, "Idempotent-Replayed") == "true" and again.json() == sent.json()
    referral = {"referral_id": sent.json()["id"]}

    read = call(shelter, "GET", "/api/v1/referrals/{referral_id}", path_parameters=referral, expect=200)
    assert read.json()["subject"]["withheld_categories"] and "contact" not in read.json()["subject"]["profile"]
    etag = header(read, "ETag")
    received = call(shelter, "POST", "/api/v1/referrals/{referral_id}/transition", path_parameters=referral,
                    headers={"If-Match": etag}, body={"status": "received"}, expect=200)
    call(shelter, "POST", "/api/v1/referrals/{referral_id}/updates/", path_parameters=referral,
         body={"kind": "note", "payload": {"text": "We have a room."}}, expect=201)
    stale = call(shelter, "POST", "/api/v1/referrals/{referral_id}/transition", path_parameters=referral,
                 headers={"If-Match": header(received, "ETag")}, body={"status": "accepted"}, expect=412)
    call(shelter, "POST", "/api/v1/referrals/{referral_id}/transition", path_parameters=referral,
         headers={"If-Match": stale.json()["current_etag"]}, body={"status": "accepted"}, expect=200)
    updates = call(ops, "GET", "/api/v1/referrals/{referral_id}/updates/", path_parameters=referral, expect=200)
    assert updates.json()["results"][0]["payload"]["text"] == "We have a room."
    state = call(ops, "GET", "/api/v1/subjects/{subject_id}/consent-state",
                 path_parameters={"subject_id": subject["id"]}, expect=200).json()
    assert [p["id"] for p in state["provisions"]] == [consent["id"]]


def test_events_webhooks_notices_and_the_ledger_answer_as_documented(world):
    ops, ids = world.ops, world.ids
    created = call(ops, "POST", "/api/v1/webhook-endpoints/",
                   body={"url": "http://127.0.0.1:9/other", "events": ["referral.requested"]}, expect=201).json()
    assert created["secret"].startswith("whsec_")
    call(ops, "GET", "/api/v1/webhook-endpoints/", expect=200)
    endpoint = {"endpoint_id": ids["endpoint_id"]}
    assert call(ops, "GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries/", path_parameters=endpoint,
                expect=200).json()["results"]
    feed = call(ops, "GET", "/api/v1/events/", query={"after": 0}, expect=200).json()
    assert {"referral.requested", "referral.update_added"} <= {e["type"] for e in feed["results"]}
    call(ops, "GET", "/api/v1/events/", query={"after": feed["cursor"] + 1000}, expect=400)
    assert call(ops, "GET", "/api/v1/notices/", expect=200).json()["results"]
    call(ops, "POST", "/api/v1/notices/{notice_id}/ack", path_parameters={"notice_id": ids["notice_id"]}, expect=200)
    call(ops, "GET", "/api/v1/ledger/checkpoint", expect=200)
    call(ops, "GET", "/api/v1/ledger/entries/{entry_id}/proof", path_parameters={"entry_id": ids["entry_id"]},
         expect=200)
    call(ops, "GET", "/api/v1/subjects/{subject_id}/disclosures/", path_parameters={"subject_id": ids["subject_id"]},
         expect=200)


def test_plans_teams_and_blue_cards_answer_as_documented(world):
    ops, ids = world.ops, world.ids
    plan = call(ops, "GET", "/api/v1/plans/{plan_id}", path_parameters={"plan_id": ids["plan_id"]}, expect=200)
    call(ops, "POST", "/api/v1/plans/{plan_id}/stage", path_parameters={"plan_id": ids["plan_id"]},
         headers={"If-Match": header(plan, "ETag")}, body={"stage": "intensive"}, expect=200)
    action = plan.json()["actions"][0]
    call(ops, "POST", "/api/v1/actions/{action_id}/transition", path_parameters={"action_id": action["id"]},
         headers={"If-Match": action["etag"]}, body={"status": "in_progress"}, expect=200)
    call(ops, "GET", "/api/v1/teams/{team_id}", path_parameters={"team_id": ids["team_id"]}, expect=200)
    procedure = call(ops, "GET", "/api/v1/blue-cards/{procedure_id}",
                     path_parameters={"procedure_id": ids["procedure_id"]}, expect=200)
    call(ops, "POST", "/api/v1/blue-cards/{procedure_id}/steps/", path_parameters={"procedure_id": ids["procedure_id"]},
         headers={"If-Match": header(procedure, "ETag")},
         body={"step": "nka_to_chair", "at": "2026-01-06T09:00:00+01:00"}, expect=201)
