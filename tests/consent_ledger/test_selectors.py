"""The choke point's reads (consent_ledger/selectors.py), compiled once
(issue 11): the same rows the ORM selects, one query each, and a subject's
visibility decided without looking up teams no provision names."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.callers import Caller
from consent_ledger.decisions import ProvisionTerms
from consent_ledger.models import Provision
from consent_ledger.selectors import (
    decision_inputs,
    provisions_in_force,
    subject_get_for_caller,
    withheld_from,
)
from consent_ledger.services import (
    Terms,
    consent_grant,
    consent_revoke,
    refusal_record,
    withholding_record,
)
from hub.api.errors import NotFoundError

pytestmark = pytest.mark.django_db

EVIDENCE = hashlib.sha256(b"signed form").hexdigest()


def _fields(obj) -> dict:
    return {name: value for name, value in vars(obj).items() if name != "_state"}


@pytest.fixture
def shelter(make_agency):
    return make_agency(name="Schronisko", kind="shelter")


def _grant(caller, subject, agency, categories):
    return consent_grant(
        caller=caller, subject_id=subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
        terms=Terms(categories=categories, purposes=["referral"], agencies=[str(agency.id)]),
    )


def test_provisions_in_force_are_the_orms_rows_for_the_subject(ledger_caller, ledger_subject, shelter, make_agency):
    other = make_agency(name="Inny OPS")
    kept = _grant(ledger_caller, ledger_subject, shelter, ["identity"])
    revoked = _grant(ledger_caller, ledger_subject, shelter, ["risk"])
    revoked = consent_revoke(caller=ledger_caller, consent_id=revoked.id)
    refusal = refusal_record(
        caller=ledger_caller, subject_id=ledger_subject.id, form="written", grantor="subject", evidence_sha256=EVIDENCE,
        terms=Terms(categories=["health"], purposes=["referral"], agencies=[str(other.id)]),
    )
    now = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        in_force = provisions_in_force(ledger_subject.id, now)

    assert len(queries.captured_queries) == 1
    assert {p.pk for p in in_force} == {kept.pk, refusal.pk}
    orm = Provision.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now), subject_id=ledger_subject.id)
    assert {p.pk: _fields(p) for p in in_force} == {p.pk: _fields(p) for p in orm}
    assert all(isinstance(p, Provision) and p.is_active(now) for p in in_force)
    ended = revoked.ended_at
    assert revoked.pk in {p.pk for p in provisions_in_force(ledger_subject.id, ended - timedelta(microseconds=1))}
    assert revoked.pk not in {p.pk for p in provisions_in_force(ledger_subject.id, ended)}


def test_withheld_from_joins_every_withholding_on_that_agency_only(ledger_caller, ledger_subject, shelter, make_agency):
    police = make_agency(name="Policja", kind="police")
    for categories, agency in ((["health"], shelter), (["contact", "health"], shelter), (["risk"], police)):
        withholding_record(
            caller=ledger_caller, subject=ledger_subject, agency_id=agency.id, categories=categories, source="test"
        )

    with CaptureQueriesContext(connection) as queries:
        withheld = withheld_from(ledger_subject.id, shelter.id)

    assert len(queries.captured_queries) == 1
    assert withheld == {"health", "contact"}
    assert withheld_from(ledger_subject.id, police.id) == {"risk"}
    assert withheld_from(ledger_subject.id, ledger_caller.agency.id) == set()


def test_another_agency_sees_a_subject_only_with_a_basis_and_without_a_team_lookup(
    ledger_caller, ledger_subject, shelter, make_client
):
    reader = Caller(agency=shelter, application=make_client(shelter)[0])
    with pytest.raises(NotFoundError):
        subject_get_for_caller(ledger_subject.id, reader)
    _grant(ledger_caller, ledger_subject, shelter, ["identity"])

    with CaptureQueriesContext(connection) as queries:
        found = subject_get_for_caller(ledger_subject.id, reader)

    assert found.pk == ledger_subject.pk
    assert len(queries.captured_queries) == 2  # the subject, its provisions: no provision names a team
    # The owner, by an id as a string.
    assert subject_get_for_caller(str(ledger_subject.id), ledger_caller).pk == ledger_subject.pk


def test_the_choke_points_inputs_are_the_provisions_terms_and_the_withholdings_in_one_query(
    ledger_caller, ledger_subject, shelter, make_agency
):
    police = make_agency(name="Policja", kind="police")
    assert decision_inputs(ledger_subject.id, shelter.id, timezone.now()).provisions == []  # neither yet
    withholding_record(
        caller=ledger_caller, subject=ledger_subject, agency_id=shelter.id, categories=["health"], source="test"
    )
    only_withheld = decision_inputs(ledger_subject.id, shelter.id, timezone.now())
    assert only_withheld.provisions == [] and only_withheld.withheld == {"health"}
    _grant(ledger_caller, ledger_subject, shelter, ["identity", "health"])
    revoked = _grant(ledger_caller, ledger_subject, police, ["risk"])
    revoked = consent_revoke(caller=ledger_caller, consent_id=revoked.id)
    now = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        inputs = decision_inputs(ledger_subject.id, shelter.id, now)

    assert len(queries.captured_queries) == 1
    assert inputs.withheld == withheld_from(ledger_subject.id, shelter.id) == {"health"}
    assert inputs.provisions == [_terms(p) for p in provisions_in_force(ledger_subject.id, now)]
    assert len(inputs.provisions) == 1
    assert decision_inputs(ledger_subject.id, police.id, now).withheld == set()
    before = decision_inputs(ledger_subject.id, police.id, revoked.ended_at - timedelta(microseconds=1)).provisions
    assert revoked.granted_entry_id in {p.granted_entry_id for p in before}


def _terms(provision: Provision) -> ProvisionTerms:
    return ProvisionTerms(**{name: getattr(provision, name) for name in ProvisionTerms.__dataclass_fields__})
