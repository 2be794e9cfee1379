"""The sequencer: consecutive leaf indexes without gaps, in the order entries
are seen committed, and checkpoints whose roots pymerkle recomputes, for random
log sizes and batch sizes."""

import uuid

import pymerkle
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agencies.services import agency_create
from consent_ledger.checkpoint import open_note
from consent_ledger.ledger import entry_content, entry_leaf_hash
from consent_ledger.merkle import canonical_bytes
from consent_ledger.models import Checkpoint, LedgerEntry, SequencerState, Subject
from consent_ledger.sequencer import ledger_sequence, ledger_sequence_all, signing_key


@pytest.fixture
def owner(db):
    agency = agency_create(name="MOPS", kind="ops")
    return agency, Subject.objects.create(owner=agency, profile={}, profile_schema="subject")


def append_raw(agency, subject, count: int) -> list[LedgerEntry]:
    """Entries straight into the table (the sequencer does not care how they came)."""
    now = timezone.now()
    entries = []
    for i in range(count):
        entry = LedgerEntry(
            id=uuid.uuid4(), kind="disclosure", subject=subject, recorded_by=agency,
            actor="client:test", recorded_at=now, body={"n": i},
        )
        entry.leaf_hash = entry_leaf_hash(entry)
        entries.append(entry)
    return LedgerEntry.objects.bulk_create(entries)


@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 700), min_size=1, max_size=4), st.integers(1, 500))
def test_checkpoints_match_pymerkle_for_random_sizes(owner, appends, batch_size):
    agency, subject = owner
    with transaction.atomic():
        for count in appends:
            append_raw(agency, subject, count)
            while ledger_sequence(batch_size=batch_size):
                pass
        entries = list(LedgerEntry.objects.order_by("leaf_index"))
        reference = pymerkle.InmemoryTree.init_from_entries([canonical_bytes(entry_content(e)) for e in entries])
        key = signing_key()

        assert [e.leaf_index for e in entries] == list(range(sum(appends)))
        assert SequencerState.objects.get().tree_size == sum(appends)
        for checkpoint in Checkpoint.objects.all():
            opened = open_note(checkpoint.note, key.name, key.public_key, origin=settings.LEDGER_ORIGIN)
            assert opened.tree_size == checkpoint.tree_size
            assert opened.root_hash == reference.get_root(checkpoint.tree_size)
        transaction.set_rollback(True)


def test_entries_are_sequenced_in_order_seen_and_never_twice(owner):
    agency, subject = owner
    first = append_raw(agency, subject, 3)
    ledger_sequence_all()
    second = append_raw(agency, subject, 2)

    size = ledger_sequence_all()

    indexes = dict(LedgerEntry.objects.values_list("id", "leaf_index"))
    assert size == 5
    assert [indexes[e.id] for e in first + second] == [0, 1, 2, 3, 4]
    assert ledger_sequence() is None  # idle: nothing new, no new checkpoint
    assert list(Checkpoint.objects.order_by("tree_size").values_list("tree_size", flat=True)) == [3, 5]


def test_the_signing_key_is_generated_once_and_kept(db):
    first, second = signing_key(), signing_key()

    assert first.public_key_b64 == second.public_key_b64
