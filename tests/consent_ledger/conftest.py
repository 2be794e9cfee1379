"""Ledger fixtures: a caller, a subject and a small log built through the services."""

import pytest
from django.db import connection

from agencies.callers import Caller
from consent_ledger import triggers, verify
from consent_ledger.models import LedgerEntry
from consent_ledger.sequencer import ledger_sequence
from consent_ledger.services import (
    Terms,
    consent_grant,
    consent_revoke,
    legal_basis_assert,
    refusal_record,
    subject_create,
)

# The append-only triggers of consent_ledger/triggers.py, by database vendor.
TRIGGERS = {
    "sqlite": {f"{name}_no_{op}" for name in triggers.GUARDED.values() for op in ("update", "delete")},
    "postgresql": {f"{name}_{kind}" for name in triggers.GUARDED.values() for kind in ("guard", "no_truncate")},
}
_TRIGGER_QUERIES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'hub\\_%' ESCAPE '\\'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'hub\\_%'",
}


def installed_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(_TRIGGER_QUERIES[connection.vendor])
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture(params=[verify.CHUNK_HEIGHT, 1], ids=["one-chunk", "chunks-of-2"])
def whole_and_small_chunks(request, monkeypatch):
    """verify_ledger with its chunks, and with chunks of two leaves, so that a
    small log crosses chunk boundaries and the fast path combines chunks."""
    monkeypatch.setattr(verify, "CHUNK_HEIGHT", request.param)
    return request.param


@pytest.fixture
def triggers_restored(django_db_setup, django_db_blocker):
    """After the test and its rollback, every append-only trigger is in place.

    Requested before `db` (through `pytestmark`), so it is torn down after the
    test transaction has been rolled back.
    """
    yield
    with django_db_blocker.unblock():
        assert not connection.in_atomic_block, "checked after the test transaction only"
        assert installed_triggers() == TRIGGERS[connection.vendor]


@pytest.fixture
def ledger_caller(make_agency, make_client) -> Caller:
    agency = make_agency()
    application, _ = make_client(agency)
    return Caller(agency=agency, application=application)


@pytest.fixture
def ledger_subject(ledger_caller):
    return subject_create(caller=ledger_caller, external_ref="OPS/7/2025", profile={"person": {"given_name": "Anna"}})


def terms(caller: Caller, **changes) -> Terms:
    """Identity for referral, to the caller's own agency, unless changed."""
    defaults = {"categories": ["identity"], "purposes": ["referral"], "agencies": [str(caller.agency.id)]}
    return Terms(**{**defaults, **changes})


@pytest.fixture
def ledger_log(ledger_caller, ledger_subject) -> list[LedgerEntry]:
    """Five entries appended through the services, sequenced one at a time, so
    there is a checkpoint at every tree size 1..5. The entries in leaf order:
    0 consent A, 1 consent B, 2 revocation of A (no note), 3 refusal, 4 legal basis."""
    caller, subject_id = ledger_caller, ledger_subject.id
    given = {"form": "verbal_witnessed", "grantor": "subject"}
    consent_a = consent_grant(caller=caller, subject_id=subject_id, terms=terms(caller), **given)
    ledger_sequence()
    consent_grant(caller=caller, subject_id=subject_id, terms=terms(caller, purposes=["case_coordination"]), **given)
    ledger_sequence()
    consent_revoke(caller=caller, consent_id=consent_a.id)
    ledger_sequence()
    refusal_record(caller=caller, subject_id=subject_id, terms=terms(caller, categories=["contact"]), **given)
    ledger_sequence()
    legal_basis_assert(
        caller=caller, subject_id=subject_id, basis="court_order", terms=terms(caller), reference="III RC 12/25"
    )
    ledger_sequence()
    return list(LedgerEntry.objects.select_related("leaf").order_by("leaf__leaf_index"))
