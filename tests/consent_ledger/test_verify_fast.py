"""verify_ledger's chunks: the roots it combines from aligned chunks equal the
RFC 9162 tree's for any log size, chunk size and checkpoint position; on
PostgreSQL an intact chunk is proven in bulk (the precise path never runs)
and only a tampered chunk is read entry by entry; worker processes verify
chunks in parallel in the main process's snapshot."""

import hashlib

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agencies.services import agency_create
from consent_ledger import triggers, verify
from consent_ledger.ledger import entry_build
from consent_ledger.merkle import MerkleTree
from consent_ledger.models import (
    Checkpoint,
    LedgerEntry,
    LedgerLeaf,
    LedgerPending,
    Subject,
)
from consent_ledger.sequencer import ledger_sequence
from tests.conftest import example_rolled_back

# The fast path is PostgreSQL's: the SQLite pass deselects these (tests/conftest.py), never skips them.
postgres_only = pytest.mark.postgres


def leaf(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest()


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.integers(0, 200), st.integers(0, 5), st.data())
def test_chunk_roots_equal_the_merkle_trees(size, chunk_height, data):
    # The walk of verify._walk_log, on hashes alone: an unaligned start (a
    # trusted checkpoint's frontier) extended leaf by leaf to the next chunk
    # boundary, then aligned chunks combined at the frontier.
    leaves = [leaf(i) for i in range(size)]
    reference = MerkleTree(leaves)
    start = data.draw(st.integers(0, size), label="start")
    sizes = data.draw(st.sets(st.integers(start + 1, size)) if start < size else st.just(set()), label="sizes")
    chunk = 1 << chunk_height
    roots = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "CHUNK_HEIGHT", chunk_height)
        tree = verify._Tree(verify._Start(start, tuple(reference.frontier(start))))
        head_end = min(size, -(-start // chunk) * chunk)
        for s in sorted(s for s in sizes if s <= head_end):
            tree.pass_leaves(leaves[tree.size : s])
            roots[s] = tree.root()
        tree.pass_leaves(leaves[tree.size : head_end])
        for lo in range(head_end, size, chunk):
            hi = min(lo + chunk, size)
            inside = [s for s in sizes if lo < s < hi]
            summary = verify._Chunk(lo, hi, hi - lo, verify._chunk_nodes(lo, leaves[lo:hi], inside))
            roots.update({s: tree.root_in(summary, s) for s in sizes if lo < s <= hi})
            tree.pass_chunk(summary)

    assert roots == {s: reference.root(s) for s in sizes}
    assert (tree.size, tree.root(), tree.frontier) == (size, reference.root(), reference.frontier())


@pytest.fixture
def owner(db):
    agency = agency_create(name="MOPS", kind="ops")
    return agency, Subject.objects.create(owner=agency, profile={}, profile_schema="subject")


def append(owner, count: int) -> list[LedgerEntry]:
    """Entries and their queue rows straight into the tables, as ledger_append writes them."""
    agency, subject = owner
    entries = LedgerEntry.objects.bulk_create([
        entry_build(kind="disclosure", subject_id=subject.pk, recorded_by_id=agency.pk, actor="client:test",
                    recorded_at=timezone.now(), body={"n": i, "purposes": ["referral"]})
        for i in range(count)
    ])
    LedgerPending.objects.bulk_create([LedgerPending(entry=entry, leaf_hash=entry.leaf_hash) for entry in entries])
    return entries


def sequenced_log(owner, batches: list[int]) -> list[LedgerEntry]:
    """Entries appended and sequenced batch by batch: a checkpoint after each batch."""
    for count in batches:
        append(owner, count)
        ledger_sequence(batch_size=count)
    return list(LedgerEntry.objects.select_related("leaf").order_by("leaf__leaf_index"))


@pytest.fixture
def precise(monkeypatch) -> list[tuple[int, int]]:
    """The ranges verify_ledger reads entry by entry (the precise path)."""
    spans, real = [], verify._precise_leaves

    def spy(lo, hi, bounds, findings):
        spans.append((lo, hi))
        return real(lo, hi, bounds, findings)

    monkeypatch.setattr(verify, "_precise_leaves", spy)
    return spans


@hypothesis_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 40), min_size=1, max_size=5), st.integers(0, 4))
def test_random_logs_verify_with_the_merkle_trees_root(owner, precise, batches, chunk_height):
    precise.clear()
    with example_rolled_back(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "CHUNK_HEIGHT", chunk_height)
        entries = sequenced_log(owner, batches)

        report = verify.verify_ledger()

        reference = MerkleTree(bytes.fromhex(e.leaf_hash) for e in entries)
        assert (report.ok, report.problems, report.tree_size) == (True, [], sum(batches))
        assert report.checkpoints_checked == len(batches)
        assert report.root_hash == reference.root().hex() == Checkpoint.objects.latest("tree_size").root_hash
        chunks = [(lo, min(lo + (1 << chunk_height), len(entries))) for lo in range(0, len(entries), 1 << chunk_height)]
        # On PostgreSQL every chunk of an intact log is proven in bulk; SQLite reads each entry.
        assert precise == ([] if connection.vendor == "postgresql" else chunks)


@postgres_only
def test_only_the_tampered_chunk_is_read_entry_by_entry(owner, monkeypatch, precise):
    monkeypatch.setattr(verify, "CHUNK_HEIGHT", 3)
    entries = sequenced_log(owner, [5, 9, 7, 4])  # 25 leaves: chunks 0-7, 8-15, 16-23 and 24
    changed = entries[13]
    with triggers.dropped(connection):
        LedgerEntry.objects.filter(pk=changed.pk).update(actor="client:other")

    report = verify.verify_ledger()

    assert precise == [(8, 16)]
    assert report.problems == [
        (f"entry {changed.id} (seq {changed.seq}, leaf index 13): its columns do not match its content (actor): "
         "the entry was changed")
    ]


@postgres_only
@pytest.mark.parametrize("tamper", ["leaf_hash", "canonical", "missing", "actor"])
def test_the_fast_path_flags_a_chunk_the_precise_path_fails(owner, tamper):
    entries = sequenced_log(owner, [6])
    changed = entries[3]
    with triggers.dropped(connection):
        if tamper == "leaf_hash":
            LedgerEntry.objects.filter(pk=changed.pk).update(leaf_hash="0" * 64)
        elif tamper == "canonical":
            LedgerEntry.objects.filter(pk=changed.pk).update(canonical=bytes(changed.canonical).replace(b'"n":3', b'"n":4'))
        elif tamper == "missing":
            LedgerLeaf.objects.filter(entry_id=changed.seq).delete()
        else:
            LedgerEntry.objects.filter(pk=changed.pk).update(actor="client:tes")
    with verify._raw_cursor() as cursor:
        read = verify._fast_leaves(cursor, 0, 6)

    assert (read.found, read.leaves) == (5 if tamper == "missing" else 6, None)


@pytest.mark.parametrize("actor", ['client:"quoted"', "client:back\\slash", "client:tab\there", "client:żółw"])
def test_an_entry_whose_actor_json_escapes_or_not_verifies(owner, actor):
    # The fast path takes the columns as they are only when no quote or
    # backslash can make raw and RFC 8785 spellings differ; other entries
    # take the precise path, and verify there.
    agency, subject = owner
    entry = entry_build(kind="disclosure", subject_id=subject.pk, recorded_by_id=agency.pk, actor=actor,
                        recorded_at=timezone.now(), body={})
    entry.save(force_insert=True)
    LedgerPending.objects.create(entry=entry, leaf_hash=entry.leaf_hash)
    ledger_sequence()

    assert verify.verify_ledger().ok


def test_a_column_spelling_a_nested_key_of_the_body_is_not_taken_for_the_actor(owner):
    # Unescaped, this actor would make the bytes' own prefix up to the body's
    # nested "body" key: the columns must not pass for the content.
    agency, subject = owner
    entry = entry_build(kind="disclosure", subject_id=subject.pk, recorded_by_id=agency.pk, actor="client:test",
                        recorded_at=timezone.now(), body={"a": "z", "body": 1})
    entry.save(force_insert=True)
    LedgerPending.objects.create(entry=entry, leaf_hash=entry.leaf_hash)
    ledger_sequence()
    forged = 'client:test","body":{"a":"z'
    assert bytes(entry.canonical).startswith(b'{"actor":"' + forged.encode() + b'","body":')
    with triggers.dropped(connection):
        LedgerEntry.objects.filter(pk=entry.pk).update(actor=forged)

    report = verify.verify_ledger()

    assert report.problems == [
        (f"entry {entry.id} (seq {entry.seq}, leaf index 0): its columns do not match its content (actor): "
         "the entry was changed")
    ]


@pytest.mark.postgres
@pytest.mark.usefixtures("ledger_transactional_db")
def test_worker_processes_verify_the_chunks_in_the_snapshot(owner, monkeypatch, precise):
    # Committed data (the workers are other sessions), several chunks, real processes.
    monkeypatch.setattr(verify, "CHUNK_HEIGHT", 2)
    entries = sequenced_log(owner, [7, 6, 9, 1])
    changed = entries[17]
    with triggers.dropped(connection):
        LedgerEntry.objects.filter(pk=changed.pk).update(leaf_hash="f" * 64)
    pools, real = [], verify._parallel_chunks

    def spy(spans, workers):
        pools.append((spans, workers))
        yield from real(spans, workers)

    monkeypatch.setattr(verify, "_parallel_chunks", spy)

    report = verify.verify_ledger(jobs=2)

    assert pools == [([(lo, min(lo + 4, 23)) for lo in range(0, 23, 4)], 2)]
    assert precise == [(16, 20)]
    assert report.tree_size == 23 and report.checkpoints_checked == 4
    assert report.problems[0] == (
        f"entry {changed.id} (seq {changed.seq}, leaf index 17): stored leaf hash {'f' * 64} but its bytes hash "
        f"to {entries[17].leaf_hash}: the entry was changed"
    )
    assert len(report.problems) == 1  # the tree is built from the bytes, so every checkpoint still holds


def test_a_small_log_or_a_daemonic_process_is_verified_in_process(monkeypatch):
    assert verify._worker_count(None, 1) == 1
    assert verify._worker_count(3, 10) == 3 and verify._worker_count(8, 2) == 2
    monkeypatch.setattr(verify.multiprocessing.current_process(), "daemon", True, raising=False)
    assert verify._worker_count(None, 100) == 1


def orphan(owner) -> LedgerEntry:
    """An entry the sequencer will never see: its queue row removed (as by a table owner)."""
    (entry,) = append(owner, 1)
    LedgerPending.objects.filter(entry=entry).delete()
    return entry


@pytest.fixture
def counted_ranges(monkeypatch) -> list:
    """The key ranges verify_ledger counts entries by (None where it counts
    them all); each count it takes is checked against the entries stored."""
    seen, real = [], verify._entries_above

    def spy(after, ranges):
        seen.append(ranges)
        count = real(after, ranges)
        entries = LedgerEntry.objects.all() if after is None else LedgerEntry.objects.filter(seq__gt=after)
        assert count == entries.count()
        return count

    monkeypatch.setattr(verify, "_entries_above", spy)
    return seen


@pytest.mark.parametrize("where", ["inside a chunk's keys", "between two chunks' keys", "after every leaf's key"])
@pytest.mark.parametrize("start", [0, 4])
def test_an_entry_neither_logged_nor_queued_is_named_wherever_its_key_falls(owner, monkeypatch, counted_ranges,
                                                                            where, start):
    # The walk reads its chunks' entries by ranges of keys and counts them:
    # an entry left out of the log must still be counted, and named, whether
    # its key is in such a range, between two, or beyond them.
    monkeypatch.setattr(verify, "CHUNK_HEIGHT", 2)
    append(owner, 4)
    ledger_sequence()  # leaves 0-3: the trusted tree of size 4, when the run starts there
    before, after = {
        "inside a chunk's keys": (2, 2), "between two chunks' keys": (0, 4), "after every leaf's key": (4, 0),
    }[where]
    append(owner, before)
    orphan(owner)
    append(owner, after)
    ledger_sequence()  # leaves 4-7
    unlogged = LedgerEntry.objects.get(leaf__isnull=True)
    trusted = Checkpoint.objects.get(tree_size=4).root_hash

    report = verify.verify_ledger(from_checkpoint=start or None, trusted_root=trusted if start else None)

    assert (report.ok, report.tree_size) == (False, 8)
    assert report.problems == [
        (f"entry {unlogged.id} (seq {unlogged.seq}): neither in the log nor queued for the sequencer: "
         "its leaf or its queue row was removed")
    ]
    # On PostgreSQL the walk's ranges were counted, not every entry.
    assert all(ranges for ranges in counted_ranges) == (connection.vendor == "postgresql")


def late(owner, count: int) -> tuple[LedgerEntry, list[LedgerEntry]]:
    """`count` entries, the first of them committing late: sequenced only
    with the next batch (put back in the queue by `late_committed`)."""
    first, *others = append(owner, count)
    LedgerPending.objects.filter(entry=first).delete()
    return first, others


def late_committed(entry: LedgerEntry) -> None:
    LedgerPending.objects.create(entry=entry, leaf_hash=entry.leaf_hash)


@pytest.mark.parametrize("spread", [False, True], ids=["overlapping-keys", "spread-keys"])
def test_entries_sequenced_out_of_key_order_are_proven_in_bulk(owner, monkeypatch, precise, counted_ranges, spread):
    # An entry that commits late is sequenced after entries with greater
    # keys: a chunk's entries are then not in key order, and their range of
    # keys holds entries of other chunks, which read overlapping ranges (their
    # counts do not add up), or is too wide to read (they are read by key).
    monkeypatch.setattr(verify, "CHUNK_HEIGHT", 1)
    first_late, _ = late(owner, 3)
    ledger_sequence()  # leaves 0, 1: keys k2, k3
    late_committed(first_late)
    append(owner, 1)
    ledger_sequence()  # leaves 2, 3: k1, k4, read as the range k1-k4
    if spread:
        second_late, _ = late(owner, 6)
        ledger_sequence()  # leaves 4-8: k6-k10
        late_committed(second_late)
        ledger_sequence()  # leaf 9: k5; chunk [8, 10) names k10 and k5

    report = verify.verify_ledger()

    assert (report.ok, report.problems, report.tree_size) == (True, [], 10 if spread else 4)
    assert LedgerLeaf.objects.get(leaf_index=2).entry_id == first_late.seq
    assert len(counted_ranges) == 1  # the count, checked by the fixture
    if connection.vendor == "postgresql":
        assert precise == []  # every chunk proven in bulk
        if spread:
            assert counted_ranges == [None]  # chunk [8, 10) was read by key
        else:
            k2_k3, k1_k4 = counted_ranges[0]
            assert k1_k4.first < k2_k3.first and k2_k3.last < k1_k4.last
