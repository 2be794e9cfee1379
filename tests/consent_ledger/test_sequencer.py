"""The sequencer: consecutive leaf indexes without gaps, in the order entries
are seen committed, and checkpoints whose roots pymerkle recomputes, for random
log sizes and batch sizes."""

from unittest import mock

import pymerkle
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agencies.services import agency_create
from consent_ledger.checkpoint import open_note
from consent_ledger.ledger import entry_build, ledger_append
from consent_ledger.merkle import MerkleTree
from consent_ledger.models import (
    Checkpoint,
    LedgerEntry,
    LedgerLeaf,
    LedgerPending,
    MerkleNode,
    SequencerState,
    Subject,
)
from consent_ledger.sequencer import ledger_sequence, ledger_sequence_all, signing_key
from consent_ledger.tasks import ledger_sequence_task


@pytest.fixture
def owner(db):
    agency = agency_create(name="MOPS", kind="ops")
    return agency, Subject.objects.create(owner=agency, profile={}, profile_schema="subject")


def append_raw(agency, subject, count: int) -> list[LedgerEntry]:
    """Entries and their queue rows straight into the tables (the sequencer
    does not care how they came)."""
    now = timezone.now()
    entries = LedgerEntry.objects.bulk_create([
        entry_build(kind="disclosure", subject_id=subject.pk, recorded_by_id=agency.pk, actor="client:test",
                    recorded_at=now, body={"n": i})
        for i in range(count)
    ])
    LedgerPending.objects.bulk_create([LedgerPending(entry=entry, leaf_hash=entry.leaf_hash) for entry in entries])
    return entries


def append_and_sequence(agency, subject, appends: list[int], batch_size: int) -> None:
    """Append each count of entries in turn, sequencing all after each, in batches."""
    for count in appends:
        append_raw(agency, subject, count)
        while ledger_sequence(batch_size=batch_size):
            pass


def leaf_indexes() -> dict:
    return dict(LedgerLeaf.objects.values_list("entry__id", "leaf_index"))


@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 700), min_size=1, max_size=4), st.integers(1, 500))
def test_checkpoints_match_pymerkle_for_random_sizes(owner, appends, batch_size):
    with transaction.atomic():
        append_and_sequence(*owner, appends, batch_size)
        entries = list(LedgerEntry.objects.select_related("leaf").order_by("leaf__leaf_index"))
        reference = pymerkle.InmemoryTree.init_from_entries([bytes(e.canonical) for e in entries])
        tree = MerkleTree(bytes.fromhex(e.leaf_hash) for e in entries)
        key = signing_key()

        assert [e.leaf_index for e in entries] == list(range(sum(appends)))
        assert [e.seq for e in entries] == sorted(e.seq for e in entries)
        assert SequencerState.objects.get().tree_size == sum(appends)
        for checkpoint in Checkpoint.objects.all():
            opened = open_note(checkpoint.note, key.name, key.public_key, origin=settings.LEDGER_ORIGIN)
            assert opened.tree_size == checkpoint.tree_size
            assert opened.root_hash == reference.get_root(checkpoint.tree_size)
            assert [bytes.fromhex(h) for h in checkpoint.frontier] == tree.frontier(checkpoint.tree_size)
        transaction.set_rollback(True)


@override_settings(LEDGER_NODE_MIN_HEIGHT=2)
@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 80), min_size=1, max_size=4), st.integers(1, 40))
def test_every_complete_subtree_from_the_minimum_height_up_is_kept(owner, appends, batch_size):
    with transaction.atomic():
        append_and_sequence(*owner, appends, batch_size)
        hashes = LedgerEntry.objects.order_by("leaf__leaf_index").values_list("leaf_hash", flat=True)
        tree = MerkleTree(bytes.fromhex(h) for h in hashes)
        size = len(tree)
        complete = {(height, index) for height in range(2, size.bit_length()) for index in range(size >> height)}

        kept = {(n.height, n.index): bytes(n.hash) for n in MerkleNode.objects.all()}

        assert set(kept) == complete
        for (height, index), node in kept.items():
            leaves = [tree.leaf(i) for i in range(index << height, (index + 1) << height)]
            assert node == MerkleTree(leaves).root()
        transaction.set_rollback(True)


def test_entries_are_sequenced_in_order_seen_and_never_twice(owner):
    agency, subject = owner
    first = append_raw(agency, subject, 3)
    ledger_sequence_all()
    second = append_raw(agency, subject, 2)

    size = ledger_sequence_all()

    indexes = leaf_indexes()
    assert size == 5
    assert [indexes[e.id] for e in first + second] == [0, 1, 2, 3, 4]
    assert ledger_sequence() is None  # idle: nothing new, no new checkpoint
    assert list(Checkpoint.objects.order_by("tree_size").values_list("tree_size", flat=True)) == [3, 5]
    assert not LedgerPending.objects.exists()


def test_an_entry_committed_late_is_sequenced_after_the_ones_seen_before_it(owner):
    # Two appends in flight: the one with the higher seq commits first and is
    # sequenced first; the other joins the next batch (DESIGN.md 4.4: leaves in
    # the order the sequencer sees them committed).
    agency, subject = owner
    late, early = append_raw(agency, subject, 2)
    LedgerPending.objects.filter(entry=late).delete()  # not yet visible, as if uncommitted

    ledger_sequence()
    LedgerPending.objects.create(entry=late, leaf_hash=late.leaf_hash)
    ledger_sequence()

    assert leaf_indexes() == {early.id: 0, late.id: 1}


def test_the_signing_key_is_generated_once_and_kept(db):
    first, second = signing_key(), signing_key()

    assert first.public_key_b64 == second.public_key_b64


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, LEDGER_SEQUENCER_INTERVAL=0.5)
def test_with_a_worker_a_busy_log_schedules_one_sequencer_run_per_interval(
    ledger_caller, ledger_subject, django_capture_on_commit_callbacks
):
    cache.clear()
    with mock.patch.object(ledger_sequence_task, "apply_async") as scheduled:  # the broker is the boundary
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                ledger_append(kind="disclosure", subject=ledger_subject, caller=ledger_caller, body={})
        assert scheduled.call_args_list == [mock.call(countdown=0.5)]

        cache.clear()  # the interval has passed
        with django_capture_on_commit_callbacks(execute=True):
            ledger_append(kind="disclosure", subject=ledger_subject, caller=ledger_caller, body={})
        assert scheduled.call_count == 2
    assert LedgerPending.objects.count() == 4  # nothing ran eagerly
