"""The ledger and its checkpoints are append-only in the database itself
(consent_ledger/triggers.py; DESIGN.md 2, principle 4): whatever the ORM or raw
SQL asks, only the sequencer's one filling of a NULL leaf_index gets through."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from consent_ledger import triggers
from consent_ledger.ledger import ledger_append
from consent_ledger.models import Checkpoint, EntryKind, LedgerEntry
from consent_ledger.sequencer import ledger_sequence
from consent_ledger.services import subject_create

pytestmark = pytest.mark.usefixtures("triggers_restored")

ENTRY = triggers.ENTRY_TABLE
CHECKPOINT = triggers.CHECKPOINT_TABLE


@contextmanager
def refused():
    """The database refuses the statement. The savepoint keeps the test's
    transaction usable afterwards (PostgreSQL aborts a failed transaction)."""
    with pytest.raises(IntegrityError, match=triggers.MESSAGE), transaction.atomic():
        yield


def as_stored(entry: LedgerEntry) -> dict:
    return LedgerEntry.objects.filter(pk=entry.pk).values().get()


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def unsequenced(ledger_caller, ledger_subject) -> LedgerEntry:
    """An entry straight from ledger_append: nothing refers to it, so only the
    triggers (not on_delete=PROTECT) can refuse its deletion."""
    body = {"categories": ["identity"]}
    return ledger_append(kind=EntryKind.DISCLOSURE, subject=ledger_subject, caller=ledger_caller, body=body)


@pytest.fixture
def sequenced(unsequenced) -> LedgerEntry:
    ledger_sequence()
    unsequenced.refresh_from_db()
    assert unsequenced.leaf_index == 0
    return unsequenced


# Every column but leaf_index, with another value for it.
CHANGES = {
    "seq": lambda e: e.seq + 1000,
    "id": lambda e: "8d3c1f9e-0b7a-4c52-9d1e-2f6a4b8c0d13",
    "kind": lambda e: EntryKind.EMERGENCY_DISCLOSURE,
    "actor": lambda e: "user:1",
    "recorded_at": lambda e: e.recorded_at - timedelta(days=1),
    "body": lambda e: {"categories": ["health"]},
    "leaf_hash": lambda e: "00" * 32,
}


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_an_orm_update_of_any_column_is_refused(sequenced, column):
    before = as_stored(sequenced)

    with refused():
        LedgerEntry.objects.filter(pk=sequenced.pk).update(**{column: CHANGES[column](sequenced)})

    assert as_stored(sequenced) == before


def test_a_change_of_subject_or_recording_agency_is_refused(sequenced, make_agency, ledger_caller):
    other_subject = subject_create(caller=ledger_caller, external_ref="OPS/8/2025", profile={})
    other_agency = make_agency(name="PCPR Inne", kind="pcpr")
    before = as_stored(sequenced)

    with refused():
        LedgerEntry.objects.filter(pk=sequenced.pk).update(subject=other_subject)
    with refused():
        LedgerEntry.objects.filter(pk=sequenced.pk).update(recorded_by=other_agency)

    assert as_stored(sequenced) == before


def test_saving_a_changed_entry_is_refused(sequenced):
    before = as_stored(sequenced)
    sequenced.body = {"categories": ["identity", "health"]}

    with refused():
        sequenced.save()

    assert as_stored(sequenced) == before


def test_orm_deletes_are_refused(sequenced):
    with refused():
        LedgerEntry.objects.filter(pk=sequenced.pk).delete()
    with refused():
        sequenced.delete()

    assert LedgerEntry.objects.filter(pk=sequenced.pk).exists()


def test_raw_sql_update_and_delete_are_refused(sequenced):
    before = as_stored(sequenced)

    with refused():
        raw(f"UPDATE {ENTRY} SET actor = %s WHERE seq = %s", ["user:1", sequenced.seq])
    with refused():
        raw(f"DELETE FROM {ENTRY} WHERE seq = %s", [sequenced.seq])
    with refused():
        raw(f"DELETE FROM {ENTRY}")

    assert as_stored(sequenced) == before


def test_leaf_index_can_be_set_once_and_only_once(unsequenced):
    entries = LedgerEntry.objects.filter(pk=unsequenced.pk)

    assert entries.update(leaf_index=0) == 1  # as the sequencer does

    with refused():
        entries.update(leaf_index=1)
    with refused():
        entries.update(leaf_index=None)
    assert as_stored(unsequenced)["leaf_index"] == 0


def test_filling_a_null_leaf_index_with_null_is_refused(unsequenced):
    with refused():
        LedgerEntry.objects.filter(pk=unsequenced.pk).update(leaf_index=None)


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_changing_another_column_with_the_leaf_index_is_refused(unsequenced, column):
    before = as_stored(unsequenced)

    with refused():
        LedgerEntry.objects.filter(pk=unsequenced.pk).update(leaf_index=0, **{column: CHANGES[column](unsequenced)})

    assert as_stored(unsequenced) == before


def test_the_sequencer_still_sequences(unsequenced, ledger_caller, ledger_subject):
    second = ledger_append(kind=EntryKind.DISCLOSURE, subject=ledger_subject, caller=ledger_caller, body={})

    checkpoint = ledger_sequence()

    assert checkpoint.tree_size == 2
    assert list(LedgerEntry.objects.order_by("seq").values_list("pk", "leaf_index")) == [
        (unsequenced.pk, 0),
        (second.pk, 1),
    ]


def test_checkpoints_can_be_neither_updated_nor_deleted(sequenced):
    checkpoint = Checkpoint.objects.get()
    before = Checkpoint.objects.values().get()

    with refused():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(root_hash="00" * 32)
    with refused():
        checkpoint.note = checkpoint.note.replace("\n1\n", "\n2\n")
        checkpoint.save()
    with refused():
        Checkpoint.objects.all().delete()
    with refused():
        raw(f"UPDATE {CHECKPOINT} SET tree_size = 7")
    with refused():
        raw(f"DELETE FROM {CHECKPOINT}")

    assert Checkpoint.objects.values().get() == before


@pytest.mark.postgres
@pytest.mark.parametrize("table", [ENTRY, CHECKPOINT])
def test_truncate_is_refused_on_postgresql(sequenced, table):
    # Else PostgreSQL refuses before the trigger fires: the foreign keys into
    # the ledger (without CASCADE) and this transaction's deferred foreign-key
    # checks (pending trigger events).
    raw("SET CONSTRAINTS ALL IMMEDIATE")
    with refused():
        raw(f"TRUNCATE {table} CASCADE")
    raw("SET CONSTRAINTS ALL DEFERRED")

    assert LedgerEntry.objects.exists() and Checkpoint.objects.exists()
