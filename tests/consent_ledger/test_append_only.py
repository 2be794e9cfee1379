"""The ledger and its checkpoints are append-only in the database itself
(consent_ledger/triggers.py; DESIGN.md 2, principle 4): whatever the ORM or raw
SQL asks, only the sequencer's one filling of a NULL leaf_index gets through."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from consent_ledger import triggers
from consent_ledger.ledger import ledger_append
from consent_ledger.models import (
    Checkpoint,
    EntryKind,
    LedgerEntry,
    LedgerLeaf,
    LedgerPending,
    MerkleNode,
)
from consent_ledger.sequencer import ledger_sequence
from consent_ledger.services import subject_create

pytestmark = pytest.mark.usefixtures("triggers_restored")

ENTRY = triggers.ENTRY_TABLE
LEAF = triggers.LEAF_TABLE
NODE = triggers.NODE_TABLE
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


# Every column, with another value for it.
CHANGES = {
    "seq": lambda e: e.seq + 1000,
    "id": lambda e: "8d3c1f9e-0b7a-4c52-9d1e-2f6a4b8c0d13",
    "kind": lambda e: EntryKind.EMERGENCY_DISCLOSURE,
    "actor": lambda e: "user:1",
    "recorded_at": lambda e: e.recorded_at - timedelta(days=1),
    "canonical": lambda e: e.canonical.replace(b"identity", b"health"),
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
    sequenced.actor = "user:2"

    with refused():
        sequenced.save()

    assert as_stored(sequenced) == before


def test_orm_deletes_are_refused(sequenced):
    # Django's PROTECT (from the entry's leaf) refuses first; the trigger
    # refuses what bypasses the ORM (below, raw SQL).
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(pk=sequenced.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
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


def test_the_sequencer_inserts_leaves_and_empties_its_queue(unsequenced, ledger_caller, ledger_subject):
    second = ledger_append(kind=EntryKind.DISCLOSURE, subject=ledger_subject, caller=ledger_caller, body={})
    assert set(LedgerPending.objects.values_list("entry_id", flat=True)) == {unsequenced.pk, second.pk}

    checkpoint = ledger_sequence()

    assert checkpoint.tree_size == 2
    assert list(LedgerLeaf.objects.order_by("leaf_index").values_list("leaf_index", "entry_id")) == [
        (0, unsequenced.pk),
        (1, second.pk),
    ]
    assert not LedgerPending.objects.exists()


def test_leaf_positions_can_be_neither_moved_nor_removed(sequenced):
    leaf = LedgerLeaf.objects.get(entry=sequenced)

    with refused():
        LedgerLeaf.objects.filter(pk=leaf.pk).update(leaf_index=7)
    with refused():
        LedgerLeaf.objects.filter(pk=leaf.pk).delete()
    with refused():
        raw(f"UPDATE {LEAF} SET entry_id = entry_id + 1")
    with refused():
        raw(f"DELETE FROM {LEAF}")

    assert list(LedgerLeaf.objects.values_list("leaf_index", "entry_id")) == [(0, sequenced.pk)]


@override_settings(LEDGER_NODE_MIN_HEIGHT=1)
def test_merkle_nodes_can_be_neither_changed_nor_removed(sequenced, ledger_caller, ledger_subject):
    ledger_append(kind=EntryKind.DISCLOSURE, subject=ledger_subject, caller=ledger_caller, body={})
    ledger_sequence()
    node = MerkleNode.objects.get()
    assert (node.height, node.index) == (1, 0)

    with refused():
        MerkleNode.objects.filter(pk=node.pk).update(hash=bytes(32))
    with refused():
        raw(f"DELETE FROM {NODE}")

    assert bytes(MerkleNode.objects.get().hash) == bytes(node.hash)


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
@pytest.mark.parametrize("table", [ENTRY, LEAF, CHECKPOINT])
def test_truncate_is_refused_on_postgresql(sequenced, table):
    # Else PostgreSQL refuses before the trigger fires: the foreign keys into
    # the ledger (without CASCADE) and this transaction's deferred foreign-key
    # checks (pending trigger events).
    raw("SET CONSTRAINTS ALL IMMEDIATE")
    with refused():
        raw(f"TRUNCATE {table} CASCADE")
    raw("SET CONSTRAINTS ALL DEFERRED")

    assert LedgerEntry.objects.exists() and Checkpoint.objects.exists()
