"""Every FHIR read of the referral world: another agency gets the 404 a
made-up id gets and records nothing; a token without the endpoint's scope
gets 403 insufficient_scope; errors are problem+json, never FHIR."""

import uuid

import pytest

from consent_ledger.models import LedgerEntry, Provision
from hub.api.errors import INSUFFICIENT_SCOPE, PROBLEM_CONTENT_TYPE
from schemas.vocabularies import SCOPES, codes
from tests.conftest import Party
from tests.referrals.conftest import detail

from .conftest import (
    audit_event_url,
    bundle_url,
    care_plan_url,
    consent_url,
    disclosures,
    organization_url,
    task_url,
)

# Each endpoint: its URL for the world's object, and its scope.
ENDPOINTS = {
    "Task": (lambda ids: task_url(ids["referral"]), "referrals:read"),
    "Bundle": (lambda ids: bundle_url(ids["referral"]), "referrals:read"),
    "Consent": (lambda ids: consent_url(ids["provision"]), "consents:read"),
    "AuditEvent": (lambda ids: audit_event_url(ids["entry"]), "audit:read"),
    "Organization": (lambda ids: organization_url(ids["agency"]), "agencies:read"),
    "CarePlan": (lambda ids: care_plan_url(ids["plan"]), "plans:read"),
}


@pytest.fixture
def owner(ops, client, make_client, obtain_token) -> Party:
    """The MOPS (the person's owner, the referral's sender) with a client holding every scope."""
    application, secret = make_client(ops.agency, codes(SCOPES))
    return Party(client, ops.agency, application, obtain_token(application, secret))


@pytest.fixture
def ids(owner, shelter, subject_id, referral_id) -> dict:
    assert shelter.get(detail(referral_id)).status_code == 200
    plan = owner.post("/api/v1/plans/", {"subject": subject_id, "stage": "crisis"})
    assert plan.status_code == 201, plan.content
    return {
        "referral": referral_id,
        "provision": Provision.objects.get(subject_id=subject_id, kind="consent").id,
        "entry": disclosures()[-1].id,
        "agency": shelter.agency.id,
        "plan": plan.json()["id"],
    }


def without_request_id(response) -> dict:
    return {k: v for k, v in response.json().items() if k != "request_id"}


@pytest.mark.parametrize("resource", sorted(set(ENDPOINTS) - {"Organization"}))
def test_another_agency_gets_the_404_of_a_made_up_id_and_nothing_is_recorded(party, ids, resource):
    stranger = party("MOPS Obca", "ops", scopes=codes(SCOPES))
    url, _ = ENDPOINTS[resource]
    before = LedgerEntry.objects.count()

    theirs = stranger.get(url(ids))
    made_up = stranger.get(url({name: uuid.uuid4() for name in ids}))

    assert theirs.status_code == 404 and theirs["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert without_request_id(theirs) == without_request_id(made_up)
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize("resource", sorted(ENDPOINTS))
def test_a_token_without_the_endpoints_scope_is_refused_with_403(party, ids, resource):
    url, scope = ENDPOINTS[resource]
    lacking = party("MOPS Bez Zakresu", "ops", scopes=[s for s in codes(SCOPES) if s != scope])

    response = lacking.get(url(ids))

    assert response.status_code == 403 and response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == INSUFFICIENT_SCOPE and response.json()["required_scopes"] == [scope]


@pytest.mark.parametrize("resource", sorted(ENDPOINTS))
def test_the_owner_reaches_each_object_the_others_are_refused(owner, ids, resource):
    url, _ = ENDPOINTS[resource]

    assert owner.get(url(ids)).status_code == 200
