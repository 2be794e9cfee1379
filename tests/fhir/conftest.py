"""What the FHIR export tests start from: the referral world of
tests/referrals/conftest.py (an OPS owning Anna, her consent to a shelter,
a referral from the OPS to the shelter withholding health, contact and
demographics, an outsider party to nothing), built through the API with
tokens from the real token endpoint; and helpers to read FHIR resources."""

import pytest

from consent_ledger.models import EntryKind, LedgerEntry
from referrals.fhir.common import FHIR_JSON
from tests.referrals.conftest import ops, outsider, referral_id, shelter, subject_id  # noqa: F401 (fixtures)

FHIR = "/api/v1/fhir/"


def task_url(object_id) -> str:
    return f"{FHIR}Task/{object_id}"


def bundle_url(object_id) -> str:
    return f"{FHIR}Bundle/referral/{object_id}"


def consent_url(provision_id) -> str:
    return f"{FHIR}Consent/{provision_id}"


def audit_event_url(entry_id) -> str:
    return f"{FHIR}AuditEvent/{entry_id}"


def organization_url(agency_id) -> str:
    return f"{FHIR}Organization/{agency_id}"


def care_plan_url(plan_id) -> str:
    return f"{FHIR}CarePlan/{plan_id}"


def read(party, path, model, **params):
    """GET a FHIR resource as `party`: 200, application/fhir+json, and the
    body parsed back with its fhir.resources model (which validates it)."""
    response = party.get(path, **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == FHIR_JSON
    return model.model_validate_json(response.content), response.content.decode("utf-8")


def disclosures() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(kind=EntryKind.DISCLOSURE).order_by("seq"))


def labels(resource, system) -> set[str]:
    return {c.code for c in (resource.meta.security or []) if c.system == system}


@pytest.fixture
def scoped(party):
    """party(name, kind, scopes) with only the scopes given."""

    def make(name, kind, scopes):
        return party(name, kind, scopes=list(scopes))

    return make
